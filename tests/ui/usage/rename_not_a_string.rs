use monitoring::UsageStatistics;

#[derive(UsageStatistics)]
struct Counters {
    #[usage(rename = faces)]
    faces: u64,
}

fn main() {}
