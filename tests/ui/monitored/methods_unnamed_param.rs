use http::StatusCode;
use monitoring::monitored;

#[monitored(route = "GET|POST:/items")]
async fn items(_: http::Method) -> StatusCode {
    StatusCode::OK
}

fn main() {}
