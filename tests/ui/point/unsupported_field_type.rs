use monitoring::MonitoringPoint;

#[derive(MonitoringPoint)]
#[point(series = "licensing")]
struct Licensing {
    balance: Vec<u8>,
}

fn main() {}
