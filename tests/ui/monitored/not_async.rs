use monitoring::monitored;
use http::StatusCode;

#[monitored(route = "GET:/a")]
fn handler() -> StatusCode {
    StatusCode::OK
}

fn main() {}
