use monitoring::timed_field;

#[timed_field("save_time", unit = "ms")]
fn save() {}

fn main() {}
