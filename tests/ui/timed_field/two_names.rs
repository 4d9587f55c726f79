use monitoring::timed_field;

#[timed_field("a_time", "b_time")]
fn save() {}

fn main() {}
