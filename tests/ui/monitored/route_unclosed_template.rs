use monitoring::monitored;
use http::StatusCode;

#[monitored(route = "POST:/handlers/{handler_id/events")]
async fn handler() -> StatusCode {
    StatusCode::OK
}

fn main() {}
