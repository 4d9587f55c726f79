use monitoring::monitored;
use http::StatusCode;

#[monitored(route = "GET:/a", path = "/a")]
async fn handler() -> StatusCode {
    StatusCode::OK
}

fn main() {}
