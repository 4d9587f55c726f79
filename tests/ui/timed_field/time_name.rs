use monitoring::timed_field;

#[timed_field("time")]
fn save() {}

fn main() {}
