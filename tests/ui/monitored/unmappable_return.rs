use monitoring::monitored;

#[monitored(route = "GET:/a")]
async fn handler() -> u64 {
    42
}

fn main() {}
