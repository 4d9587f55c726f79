use monitoring::monitored;
use http::StatusCode;

#[monitored(route = 5)]
async fn handler() -> StatusCode {
    StatusCode::OK
}

fn main() {}
