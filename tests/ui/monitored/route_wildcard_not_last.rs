use http::StatusCode;
use monitoring::monitored;

#[monitored(route = "GET:/files/{*path}/meta")]
async fn handler() -> StatusCode {
    StatusCode::OK
}

fn main() {}
