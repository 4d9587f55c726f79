use monitoring::monitored;
use http::StatusCode;

#[monitored(route = "GET:/version?full=1")]
async fn handler() -> StatusCode {
    StatusCode::OK
}

fn main() {}
