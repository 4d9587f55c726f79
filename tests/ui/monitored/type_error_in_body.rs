use monitoring::monitored;
use http::StatusCode;

#[monitored(route = "GET:/a")]
async fn handler(count: u32) -> StatusCode {
    let text: String = count;
    let _ = text;
    StatusCode::OK
}

fn main() {}
