use monitoring::monitored;
use http::StatusCode;

#[monitored(route = "GET:/a", crate = "not a path")]
async fn handler() -> StatusCode {
    StatusCode::OK
}

fn main() {}
