use monitoring::UsageStatistics;

#[derive(UsageStatistics)]
struct Counters {
    #[usage(rename = "a", scale = 2)]
    a: u64,
}

fn main() {}
