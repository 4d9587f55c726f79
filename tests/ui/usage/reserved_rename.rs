use monitoring::UsageStatistics;

#[derive(UsageStatistics)]
struct Counters {
    #[usage(rename = "_faces")]
    faces: u64,
    #[usage(rename = "time")]
    eyes: u64,
}

fn main() {}
