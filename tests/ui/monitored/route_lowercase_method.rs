use monitoring::monitored;
use http::StatusCode;

#[monitored(route = "post:/extractor")]
async fn handler() -> StatusCode {
    StatusCode::OK
}

fn main() {}
