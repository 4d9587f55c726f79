use monitoring::monitored;
use http::StatusCode;

#[monitored(route = "GET:/a" request_id = "x")]
async fn handler() -> StatusCode {
    StatusCode::OK
}

fn main() {}
