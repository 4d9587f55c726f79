use monitoring::timed_field;

#[timed_field]
fn save() {}

fn main() {}
