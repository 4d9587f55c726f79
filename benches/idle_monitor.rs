//! The monitor of the request-path benchmarks (`layer.rs`, `grpc.rs`): records into the
//! real queue, large enough for a whole benchmark, and never flushes during one (the
//! benchmark flushes before it starts), so that what is measured is the request path.
#![allow(dead_code, unreachable_pub)]

use monitoring::Monitor;

/// The monitor, started inside the caller's runtime.
pub fn idle_monitor() -> Monitor {
    Monitor::builder()
        .without_config_sink()
        .queue_capacity(1 << 20)
        .batch_size(1 << 20)
        .max_buffered_points(1 << 20)
        .flushing_period(std::time::Duration::from_secs(3600))
        .start()
        .expect("an in-memory monitor starts")
}
