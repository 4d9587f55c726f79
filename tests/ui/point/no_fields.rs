use monitoring::MonitoringPoint;

#[derive(MonitoringPoint)]
#[point(series = "licensing")]
struct Licensing {
    #[point(tag)]
    status: String,
}

fn main() {}
