use monitoring::MonitoringPoint;

#[derive(MonitoringPoint)]
#[point(series = "_licensing")]
struct Licensing {
    balance: i64,
}

fn main() {}
