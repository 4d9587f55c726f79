//! The boundary layer's cost per request (#13), every alternative in the same process.
//!
//! `cargo bench -p monitoring-benches --bench layer`
//!
//! One axum 0.8 router with one route, called in-process (no sockets: what is measured
//! is the stack of services; see `routers/mod.rs`). Variants: the router alone; under a
//! pass-through layer (what axum adds for any layer); under `MonitoringLayer` (records
//! into the real queue; the flusher does not run during a sample, as in `overhead`'s
//! `2_monitored_on`); under tower-http's `TraceLayer` with a `Registry` subscriber
//! (spans recorded, nothing printed) and with a `fmt` layer writing to `io::sink`
//! (every request logged); under axum-prometheus' `PrometheusMetricLayer`. divan's
//! allocation profiler counts heap allocations per request, the router's included:
//! a layer's own are the difference from `1_passthrough_layer`.
//!
//! A service that already has layers pays axum's boxing once per `Router::layer` call:
//! `6_` adds `MonitoringLayer` to a stack holding the pass-through layer (compare with
//! `1_`), `7_` to a stack holding `TraceLayer` (compare with `3_`).

use std::sync::OnceLock;

use axum::Router;
use monitoring::Monitor;
use tracing_subscriber::layer::SubscriberExt;

mod idle_monitor;
mod routers;
use routers::Stack;

#[global_allocator]
static ALLOC: divan::AllocProfiler = divan::AllocProfiler::system();

/// Runs the benchmark over `service` (cloned: a `Router` is a shared handle).
fn bench(b: divan::Bencher, service: &Router) {
    let mut service = service.clone();
    b.with_inputs(routers::request)
        .bench_local_values(|request| routers::call(&mut service, request));
}

/// [`bench`] over a stack holding `MonitoringLayer`, the queue flushed first.
fn bench_monitored(b: divan::Bencher, stack: Stack) {
    let setup = setup();
    setup.runtime.block_on(setup.monitor.flush());
    bench(b, &routers::build(stack, None));
}

struct Setup {
    monitor: Monitor,
    runtime: tokio::runtime::Runtime,
    prometheus: Router,
}

/// The monitor (queue large enough for a whole benchmark, flushed before each) and
/// the Prometheus recorder (process-wide, installed once).
fn setup() -> &'static Setup {
    static SETUP: OnceLock<Setup> = OnceLock::new();
    SETUP.get_or_init(|| {
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .enable_all()
            .build()
            .unwrap();
        let monitor = runtime.block_on(async { idle_monitor::idle_monitor() });
        monitor.install_global();
        let layer = routers::prometheus_layer(&runtime);
        Setup {
            monitor,
            prometheus: routers::build(Stack::Prometheus, Some(&layer)),
            runtime,
        }
    })
}

const SAMPLES: u32 = 300;
const SIZE: u32 = 1000;

#[divan::bench(name = "0_router", sample_count = SAMPLES, sample_size = SIZE)]
fn bare(b: divan::Bencher) {
    bench(b, &routers::build(Stack::Bare, None));
}

#[divan::bench(name = "1_passthrough_layer", sample_count = SAMPLES, sample_size = SIZE)]
fn passthrough(b: divan::Bencher) {
    bench(b, &routers::build(Stack::Passthrough, None));
}

#[divan::bench(name = "2_monitoring_layer", sample_count = SAMPLES, sample_size = SIZE)]
fn monitoring_layer(b: divan::Bencher) {
    bench_monitored(b, Stack::Monitoring);
}

#[divan::bench(name = "3_trace_layer_registry", sample_count = SAMPLES, sample_size = SIZE)]
fn trace_registry(b: divan::Bencher) {
    let _subscriber = tracing::subscriber::set_default(tracing_subscriber::registry());
    bench(b, &routers::build(Stack::Trace, None));
}

#[divan::bench(name = "4_trace_layer_fmt_to_sink", sample_count = SAMPLES, sample_size = SIZE)]
fn trace_fmt(b: divan::Bencher) {
    let subscriber = tracing_subscriber::registry()
        .with(tracing_subscriber::fmt::layer().with_writer(std::io::sink));
    let _subscriber = tracing::subscriber::set_default(subscriber);
    bench(b, &routers::build(Stack::Trace, None));
}

#[divan::bench(name = "5_prometheus_layer", sample_count = SAMPLES, sample_size = SIZE)]
fn prometheus(b: divan::Bencher) {
    bench(b, &setup().prometheus);
}

#[divan::bench(name = "6_passthrough_and_monitoring", sample_count = SAMPLES, sample_size = SIZE)]
fn passthrough_and_monitoring(b: divan::Bencher) {
    bench_monitored(b, Stack::PassthroughAndMonitoring);
}

#[divan::bench(name = "7_trace_and_monitoring_registry", sample_count = SAMPLES, sample_size = SIZE)]
fn trace_and_monitoring(b: divan::Bencher) {
    let _subscriber = tracing::subscriber::set_default(tracing_subscriber::registry());
    bench_monitored(b, Stack::TraceAndMonitoring);
}

fn main() {
    setup();
    divan::main();
}
