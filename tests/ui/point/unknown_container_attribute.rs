use monitoring::MonitoringPoint;

#[derive(MonitoringPoint)]
#[point(series = "licensing", bucket = "b")]
struct Licensing {
    balance: i64,
}

fn main() {}
