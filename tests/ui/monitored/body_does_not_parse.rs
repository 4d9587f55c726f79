// A handler being written: its body does not parse yet. Only rustc's own error shows,
// not another one from the attribute.
use monitoring::monitored;

#[monitored(route = "GET:/half-written")]
async fn half_written() -> http::StatusCode {
    let status = ;
    status
}

fn main() {}
