use http::StatusCode;
use monitoring::monitored;

#[monitored(route = "GET:/handlers/:handler_id")]
async fn handler() -> StatusCode {
    StatusCode::OK
}

fn main() {}
