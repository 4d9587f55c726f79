use monitoring::UsageStatistics;

#[derive(UsageStatistics)]
struct Counters(u64);

fn main() {}
