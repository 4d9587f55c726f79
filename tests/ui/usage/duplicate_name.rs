use monitoring::UsageStatistics;

#[derive(UsageStatistics)]
struct Counters {
    face_detector_usages: u64,
    #[usage(rename = "face_detector_usages")]
    faces: u64,
}

fn main() {}
