use monitoring::monitored;
use http::StatusCode;

#[monitored(route = "FETCH:/extractor")]
async fn handler() -> StatusCode {
    StatusCode::OK
}

fn main() {}
