//! The integration suites that can share one process: one test binary, so that axum,
//! actix-web and reqwest are linked once instead of once per suite. A suite that needs
//! a process of its own stays a binary of its own in `tests/` and says why at its top:
//! the shutdown deadline timed alone (`shutdown.rs`), the global monitor (`actix.rs`,
//! `concurrency.rs`, `demo.rs`), the once-per-process warnings of `misconfiguration.rs`,
//! trybuild's environment (`ui.rs`).

#[path = "../common/mod.rs"]
mod common;

mod config;
mod encoder_roundtrip;
mod faults;
mod grpc_layer;
mod hostile_100k;
mod influx_v1;
mod layer;
mod monitored;
mod names;
mod outage;
mod sinks;
mod spool;
mod tasks;
mod victoria_v2;
