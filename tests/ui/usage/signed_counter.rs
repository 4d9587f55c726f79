use monitoring::UsageStatistics;

#[derive(UsageStatistics)]
struct Counters {
    face_detector_usages: i64,
    ratio: f64,
}

fn main() {}
