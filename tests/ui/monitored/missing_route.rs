use monitoring::monitored;
use http::StatusCode;

#[monitored]
async fn handler() -> StatusCode {
    StatusCode::OK
}

fn main() {}
