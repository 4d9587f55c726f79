use monitoring::timed_field;

#[timed_field("execution_time")]
fn save() {}

fn main() {}
