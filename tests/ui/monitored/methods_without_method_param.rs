use http::StatusCode;
use monitoring::monitored;

#[monitored(route = "GET|POST:/items")]
async fn items(id: u32) -> StatusCode {
    let _ = id;
    StatusCode::OK
}

fn main() {}
