use monitoring::monitored;

#[monitored(route = "GET:/a")]
struct Handler;

fn main() {}
