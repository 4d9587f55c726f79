use monitoring::MonitoringPoint;

#[derive(MonitoringPoint)]
#[point(series = "licensing")]
struct Licensing {
    #[point(rename = "")]
    a: i64,
    #[point(rename = "_b")]
    b: i64,
    #[point(tag, rename = "time")]
    c: String,
}

fn main() {}
