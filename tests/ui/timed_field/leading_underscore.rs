use monitoring::timed_field;

#[timed_field("_save_time")]
fn save() {}

fn main() {}
