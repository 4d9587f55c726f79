use monitoring::monitored;
use http::StatusCode;

#[monitored(route = "GET:/a", request_id = 5u8)]
async fn handler() -> StatusCode {
    StatusCode::OK
}

fn main() {}
