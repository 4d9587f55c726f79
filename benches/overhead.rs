//! Cost of instrumentation per call, every baseline in the same process.
//!
//! `cargo bench -p monitoring-benches --bench overhead`
//!
//! The handlers are trivial async fns completed in one poll with a no-op waker, so what
//! is measured is the wrapper: `#[monitored]` with monitoring on (records go into the
//! real lock-free queue, drained by the real flusher on another thread), `#[monitored]`
//! with monitoring off, `#[tracing::instrument]` with only a `Registry` subscriber,
//! `#[autometrics]` (recording into its prometheus-client registry), and
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

/// `plain` with a future as large as the monitored one (about 200 bytes held across
/// an await, as `#[monitored]`'s request state is), to tell the cost of moving a larger
/// future in this harness from the cost of the monitoring-off check.
async fn plain_large_future(x: u64) -> StatusCode {
    let state = [x as u8; 192];
    let status = plain(x).await;
    black_box(&state);
    status
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

#[autometrics::autometrics]
async fn autometrics_handler(x: u64) -> StatusCode {
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
    /// Flushes only when told to: the request path alone.
    on: Monitor,
    /// A small queue (4,096 slots, about 400 KB) drained before every sample.
    on_warm: Monitor,
    /// Flushes every 10 ms, so it drains while the calls are measured.
    on_draining: Monitor,
    off: Monitor,
    runtime: tokio::runtime::Runtime,
}

impl Monitors {
    /// Installs `on` with an empty queue (the measured calls never fill it).
    fn on(&self) {
        self.runtime.block_on(self.on.flush());
        self.on.install_global();
    }
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
        // them. The queues hold a whole benchmark's calls (300,000), so what is
        // measured is the push, not the drop path of a full queue.
        //
        // `on` never flushes by itself (period of an hour, batch as large as the
        // queue): at the benchmark's rate (millions of calls a second) a draining
        // flusher is busy all the time on the other core of this 2-core VM, which a
        // service (10,000 requests/s: 1% of a core) never sees. `on_draining` shows
        // that case too.
        let (on, on_draining, on_warm) = runtime.block_on(async {
            let builder = || {
                Monitor::builder()
                    .without_config_sink()
                    .queue_capacity(1 << 20)
            };
            let on = builder()
                .flushing_period(std::time::Duration::from_secs(3600))
                .batch_size(1 << 20)
                .max_buffered_points(1 << 20)
                .start()
                .unwrap();
            let draining = builder()
                .flushing_period(std::time::Duration::from_millis(10))
                .start()
                .unwrap();
            let warm = builder()
                .queue_capacity(4096)
                .flushing_period(std::time::Duration::from_secs(3600))
                .start()
                .unwrap();
            (on, draining, warm)
        });
        // Warm the queues' memory (first-touch page faults are not the request path's
        // cost): a full cycle of records through each flusher.
        for monitor in [&on, &on_draining, &on_warm] {
            monitor.install_global();
            for i in 0..1_100_000 {
                run(instrumented(i));
                if i % 4_000 == 0 {
                    runtime.block_on(monitor.flush());
                }
            }
            runtime.block_on(monitor.flush());
        }
        Monitors {
            on,
            on_warm,
            on_draining,
            off: Monitor::disabled(),
            runtime,
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

#[divan::bench(name = "1b_plain_large_future", sample_count = 300, sample_size = 1000)]
fn call_plain_large_future(b: divan::Bencher) {
    b.bench(|| run(plain_large_future(black_box(1))));
}

#[divan::bench(name = "2_monitored_on", sample_count = 300, sample_size = 1000)]
fn call_monitored_on(b: divan::Bencher) {
    monitors().on();
    b.bench(|| run(instrumented(black_box(1))));
}

#[divan::bench(
    name = "2b_monitored_on_flusher_draining",
    sample_count = 300,
    sample_size = 1000
)]
fn call_monitored_on_draining(b: divan::Bencher) {
    monitors().on_draining.install_global();
    b.bench(|| run(instrumented(black_box(1))));
}

/// The same calls with the queue's slots in cache: a 4,096-slot queue, drained (untimed)
/// before each sample of 1,000 calls, as a flusher keeping up would. In `2_monitored_on`
/// the 300,000 calls of a run write 29 MB of slots that no one has touched for a lap of
/// a 100 MB ring; this row tells whether that costs anything (it did not measurably:
/// BENCHMARKS.md, section 1).
#[divan::bench(
    name = "2c_monitored_on_queue_in_cache",
    sample_count = 300,
    sample_size = 1000
)]
fn call_monitored_on_warm(b: divan::Bencher) {
    let monitors = monitors();
    monitors.on_warm.install_global();
    let calls = std::cell::Cell::new(0u64);
    // divan generates a sample's inputs before timing it: drain once per sample.
    b.with_inputs(|| {
        if calls.get().is_multiple_of(1000) {
            monitors.runtime.block_on(monitors.on_warm.flush());
        }
        calls.set(calls.get() + 1);
    })
    .bench_local_values(|()| run(instrumented(black_box(1))));
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

#[divan::bench(name = "4_autometrics", sample_count = 300, sample_size = 1000)]
fn call_autometrics(b: divan::Bencher) {
    b.bench(|| run(autometrics_handler(black_box(1))));
}

#[divan::bench(
    name = "5_request_calling_plain_fn",
    sample_count = 300,
    sample_size = 1000
)]
fn timed_baseline(b: divan::Bencher) {
    monitors().on();
    b.bench(|| run(calls_plain(black_box(1))));
}

#[divan::bench(
    name = "6_request_calling_timed_field_fn",
    sample_count = 300,
    sample_size = 1000
)]
fn timed_field_call(b: divan::Bencher) {
    monitors().on();
    b.bench(|| run(calls_timed(black_box(1))));
}

fn main() {
    tracing::subscriber::set_global_default(tracing_subscriber::registry())
        .expect("no other subscriber");
    monitors();
    divan::main();
    for (name, monitor) in [
        ("on", &monitors().on),
        ("on_draining", &monitors().on_draining),
        ("on_warm", &monitors().on_warm),
    ] {
        let stats = monitors().runtime.block_on(monitor.flush()).stats;
        eprintln!(
            "{name}: {} points recorded, dropped before the flusher: {:?}",
            stats.recorded, stats.dropped
        );
    }
}
