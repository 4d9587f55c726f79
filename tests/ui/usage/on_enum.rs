use monitoring::UsageStatistics;

#[derive(UsageStatistics)]
enum Counters {
    A,
}

fn main() {}
