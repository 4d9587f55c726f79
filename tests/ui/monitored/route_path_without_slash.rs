use monitoring::monitored;
use http::StatusCode;

#[monitored(route = "POST:extractor")]
async fn handler() -> StatusCode {
    StatusCode::OK
}

fn main() {}
