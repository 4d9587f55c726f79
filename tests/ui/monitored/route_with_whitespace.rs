use monitoring::monitored;
use http::StatusCode;

#[monitored(route = "POST:/extra ctor")]
async fn handler() -> StatusCode {
    StatusCode::OK
}

fn main() {}
