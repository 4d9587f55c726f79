use monitoring::MonitoringPoint;

#[derive(MonitoringPoint)]
struct Check {
    #[point(tag)]
    status: String,
}

fn main() {
    // The derive failed (no series, no field), yet these calls add no further error.
    let point = Check { status: "ok".into() }.to_point();
    Check { status: "ok".into() }.record();
    let _ = (point, Check::SERIES);
}
