use monitoring::MonitoringPoint;

#[derive(MonitoringPoint)]
#[point(series = "licensing")]
struct Licensing {
    #[point(index)]
    balance: i64,
}

fn main() {}
