//! Cost of instrumentation per call, every baseline in the same process.
//!
//! `cargo bench --bench overhead --features axum`
//!
//! The handlers are trivial async fns completed in one poll with a no-op waker, so what
//! is measured is the wrapper: `#[monitored]` with monitoring on (records go into the
//! real lock-free queue, drained by the real flusher on another thread), `#[monitored]`
//! with monitoring off, `#[tracing::instrument]` with only a `Registry` subscriber, and
//! `#[timed_field]` inside a monitored request. divan's allocation profiler counts heap
//! allocations per call.

use std::future::Future;
use std::hint::black_box;
use std::sync::OnceLock;
use std::task::{Context, Poll, Waker};

use http::StatusCode;
use monitoring::{monitored, timed_field, Monitor};

#[global_allocator]
static ALLOC: divan::AllocProfiler = divan::AllocProfiler::system();

fn run<F: Future>(f: F) -> F::Output {
    let mut f = std::pin::pin!(f);
    match f.as_mut().poll(&mut Context::from_waker(Waker::noop())) {
        Poll::Ready(v) => v,
        Poll::Pending => unreachable!("trivial handlers complete in one poll"),
    }
}

async fn plain(x: u64) -> StatusCode {
    black_box(x);
    StatusCode::OK
}

#[monitored(route = "POST:/extractor")]
async fn instrumented(x: u64) -> StatusCode {
    black_box(x);
    StatusCode::OK
}

#[tracing::instrument]
async fn traced(x: u64) -> StatusCode {
    black_box(x);
    StatusCode::OK
}

fn work(x: u64) -> u64 {
    black_box(x) + 1
}

#[timed_field("save_warps_time")]
fn timed_work(x: u64) -> u64 {
    black_box(x) + 1
}

#[monitored(route = "POST:/detector")]
async fn calls_plain(x: u64) -> StatusCode {
    black_box(work(x));
    StatusCode::OK
}

#[monitored(route = "POST:/detector")]
async fn calls_timed(x: u64) -> StatusCode {
    black_box(timed_work(x));
    StatusCode::OK
}

struct Monitors {
    on: Monitor,
    off: Monitor,
    _runtime: tokio::runtime::Runtime,
}

fn monitors() -> &'static Monitors {
    static MONITORS: OnceLock<Monitors> = OnceLock::new();
    MONITORS.get_or_init(|| {
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .enable_all()
            .build()
            .unwrap();
        // No sink: the flusher drains the queue and builds the points, then discards
        // them, so the request path is measured against the real queue and worker.
        // The queue holds a whole benchmark's calls (300,000), so what is measured is
        // the push, not the drop path of a full queue.
        let on = runtime.block_on(async {
            Monitor::builder()
                .without_config_sink()
                .flushing_period(std::time::Duration::from_millis(10))
                .queue_capacity(1 << 20)
                .start()
                .unwrap()
        });
        // Warm the queue's memory (first-touch page faults are not the request path's
        // cost): a full cycle of records through the flusher.
        on.install_global();
        for i in 0..1_100_000 {
            run(instrumented(i));
            if i % 100_000 == 0 {
                runtime.block_on(on.flush());
            }
        }
        runtime.block_on(on.flush());
        Monitors {
            on,
            off: Monitor::disabled(),
            _runtime: runtime,
        }
    })
}

#[divan::bench(name = "0_two_clock_reads", sample_count = 300, sample_size = 1000)]
fn two_clock_reads(b: divan::Bencher) {
    b.bench(|| {
        let start = std::time::Instant::now();
        black_box(start.elapsed())
    });
}

#[divan::bench(name = "0_two_quanta_reads", sample_count = 300, sample_size = 1000)]
fn two_quanta_reads(b: divan::Bencher) {
    quanta::Instant::now();
    b.bench(|| {
        let start = quanta::Instant::now();
        black_box(quanta::Instant::now() - start)
    });
}

#[divan::bench(name = "1_plain", sample_count = 300, sample_size = 1000)]
fn call_plain(b: divan::Bencher) {
    b.bench(|| run(plain(black_box(1))));
}

#[divan::bench(name = "2_monitored_on", sample_count = 300, sample_size = 1000)]
fn call_monitored_on(b: divan::Bencher) {
    monitors().on.install_global();
    b.bench(|| run(instrumented(black_box(1))));
}

#[divan::bench(name = "3_monitored_off", sample_count = 300, sample_size = 1000)]
fn call_monitored_off(b: divan::Bencher) {
    monitors().off.install_global();
    b.bench(|| run(instrumented(black_box(1))));
}

#[divan::bench(
    name = "4_tracing_instrument_registry",
    sample_count = 300,
    sample_size = 1000
)]
fn call_traced(b: divan::Bencher) {
    b.bench(|| run(traced(black_box(1))));
}

#[divan::bench(
    name = "5_request_calling_plain_fn",
    sample_count = 300,
    sample_size = 1000
)]
fn timed_baseline(b: divan::Bencher) {
    monitors().on.install_global();
    b.bench(|| run(calls_plain(black_box(1))));
}

#[divan::bench(
    name = "6_request_calling_timed_field_fn",
    sample_count = 300,
    sample_size = 1000
)]
fn timed_field_call(b: divan::Bencher) {
    monitors().on.install_global();
    b.bench(|| run(calls_timed(black_box(1))));
}

fn main() {
    tracing::subscriber::set_global_default(tracing_subscriber::registry())
        .expect("no other subscriber");
    monitors();
    divan::main();
    let on = &monitors().on;
    let stats = monitors()._runtime.block_on(on.flush()).stats;
    eprintln!(
        "monitored_on: {} points recorded, dropped before the flusher: {:?}",
        stats.recorded, stats.dropped
    );
}
