use monitoring::MonitoringPoint;

#[derive(MonitoringPoint)]
#[point(series = "licensing")]
struct Licensing {
    balance: i64,
    #[point(timestamp)]
    at: i64,
    #[point(timestamp)]
    also: i64,
}

fn main() {}
