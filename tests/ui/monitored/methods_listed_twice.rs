use http::StatusCode;
use monitoring::monitored;

#[monitored(route = "GET|GET:/items")]
async fn items(method: http::Method) -> StatusCode {
    let _ = method;
    StatusCode::OK
}

fn main() {}
