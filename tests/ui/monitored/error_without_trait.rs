use monitoring::monitored;
use http::StatusCode;

struct MyError;

#[monitored(route = "GET:/a")]
async fn handler() -> Result<StatusCode, MyError> {
    Err(MyError)
}

fn main() {}
