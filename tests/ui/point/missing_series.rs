use monitoring::MonitoringPoint;

#[derive(MonitoringPoint)]
struct Licensing {
    balance: i64,
}

fn main() {}
