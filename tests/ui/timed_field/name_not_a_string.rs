use monitoring::timed_field;

#[timed_field(save_warps_time)]
fn save() {}

fn main() {}
