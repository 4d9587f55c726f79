use monitoring::monitored;
use http::StatusCode;

#[monitored(route = "POST:/handlers/{}/events")]
async fn handler() -> StatusCode {
    StatusCode::OK
}

fn main() {}
