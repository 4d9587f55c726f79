use monitoring::monitored;
use http::StatusCode;

#[monitored(route = "GET:/a", route = "GET:/b")]
async fn handler() -> StatusCode {
    StatusCode::OK
}

fn main() {}
