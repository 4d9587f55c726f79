use monitoring::MonitoringPoint;

#[derive(MonitoringPoint)]
#[point(series = "licensing")]
struct Licensing {
    time: i64,
    balance: i64,
}

fn main() {}
