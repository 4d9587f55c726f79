use monitoring::UsageStatistics;

#[derive(UsageStatistics)]
struct Counters {
    signed: i64,
}

fn main() {
    // The derive failed, yet this call adds no second error: a stand-in impl exists.
    Counters { signed: 1 }.record();
}
