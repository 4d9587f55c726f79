use monitoring::timed_field;

#[timed_field("save_time")]
struct Saver;

fn main() {}
