// A timed function being written: its body does not parse yet. Only rustc's own error
// shows, not another one from the attribute.
use monitoring::timed_field;

#[timed_field("half_written_time")]
fn half_written() -> u32 {
    let n = 1 +;
    n
}

fn main() {}
