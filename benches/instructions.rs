//! Harness for instruction counts under callgrind (`scripts/callgrind.sh`): runs one
//! scenario `N` times. Instruction counts do not move with machine load, unlike
//! wall-clock times on these VMs.
//!
//! `instructions <scenario> <N>` with scenario one of `plain`, `monitored_on`,
//! `monitored_off`, `calls_plain`, `calls_timed`, `tracing`, `autometrics`, `encode_seed`, `encode_hostile`, `line_protocol_builder`, `influxdb2`,
//! `line_protocol_builder_hostile`, `influxdb2_hostile`, `encode_gzip_batch` (one line
//! of a 5,000-line batch, the batch gzipped at level 1 when full).

use std::future::Future;
use std::hint::black_box;
use std::task::{Context, Poll, Waker};

use http::StatusCode;
use monitoring::{monitored, Dialect, Encoder, Monitor, Point};

fn run<F: Future>(f: F) -> F::Output {
    let mut f = std::pin::pin!(f);
    match f.as_mut().poll(&mut Context::from_waker(Waker::noop())) {
        Poll::Ready(v) => v,
        Poll::Pending => unreachable!(),
    }
}

#[inline(never)]
async fn plain(x: u64) -> StatusCode {
    black_box(x);
    StatusCode::OK
}

#[monitored(route = "POST:/extractor")]
#[inline(never)]
async fn instrumented(x: u64) -> StatusCode {
    black_box(x);
    StatusCode::OK
}

#[inline(never)]
fn work(x: u64) -> u64 {
    black_box(x) + 1
}

#[monitoring::timed_field("save_warps_time")]
#[inline(never)]
fn timed_work(x: u64) -> u64 {
    black_box(x) + 1
}

#[monitored(route = "POST:/detector")]
#[inline(never)]
async fn calls_plain(x: u64) -> StatusCode {
    black_box(work(x));
    StatusCode::OK
}

#[monitored(route = "POST:/detector")]
#[inline(never)]
async fn calls_timed(x: u64) -> StatusCode {
    black_box(timed_work(x));
    StatusCode::OK
}

#[autometrics::autometrics]
#[inline(never)]
async fn autometered(x: u64) -> StatusCode {
    black_box(x);
    StatusCode::OK
}

#[tracing::instrument]
#[inline(never)]
async fn traced(x: u64) -> StatusCode {
    black_box(x);
    StatusCode::OK
}

#[derive(Clone, Copy)]
enum Scenario {
    Plain,
    Monitored,
    CallsPlain,
    CallsTimed,
    Tracing,
    Autometrics,
    Encode,
    EncodeHostile,
    LineProtocolBuilder,
    Influxdb2,
    LineProtocolBuilderHostile,
    Influxdb2Hostile,
    EncodeGzipBatch,
}

mod lines;

fn main() {
    let mut args = std::env::args().skip(1);
    let scenario = args.next().unwrap_or_else(|| "plain".into());
    let n: u64 = args.next().and_then(|a| a.parse().ok()).unwrap_or(1000);
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    // A fixed queue larger than any run (N <= 60,000), so set-up costs the same for
    // every N and cancels out; the flusher (same thread, never polled during the loop)
    // is not part of the count.
    assert!(n <= 60_000, "N must fit the queue");
    let monitor = runtime.block_on(async {
        Monitor::builder()
            .without_config_sink()
            .queue_capacity(65_536)
            .batch_size(65_536)
            .max_buffered_points(65_536)
            .start()
            .unwrap()
    });
    match scenario.as_str() {
        "monitored_on" | "calls_plain" | "calls_timed" => monitor.install_global(),
        "monitored_off" => Monitor::disabled().install_global(),
        "tracing" => {
            tracing::subscriber::set_global_default(tracing_subscriber::registry()).unwrap()
        }
        _ => {}
    }
    let points = match scenario.as_str() {
        "encode_hostile" => vec![lines::hostile_point()],
        "encode_gzip_batch" => lines::batch_points(),
        _ => vec![lines::seed_point()],
    };
    let scenario = match scenario.as_str() {
        "plain" => Scenario::Plain,
        "monitored_on" | "monitored_off" => Scenario::Monitored,
        "calls_plain" => Scenario::CallsPlain,
        "calls_timed" => Scenario::CallsTimed,
        "tracing" => Scenario::Tracing,
        "autometrics" => Scenario::Autometrics,
        "encode_seed" => Scenario::Encode,
        "encode_hostile" => Scenario::EncodeHostile,
        "line_protocol_builder" => Scenario::LineProtocolBuilder,
        "influxdb2" => Scenario::Influxdb2,
        "line_protocol_builder_hostile" => Scenario::LineProtocolBuilderHostile,
        "influxdb2_hostile" => Scenario::Influxdb2Hostile,
        "encode_gzip_batch" => Scenario::EncodeGzipBatch,
        other => panic!("unknown scenario {other}"),
    };
    let started = std::time::Instant::now();
    measured_loop(scenario, n, &points);
    if std::env::var_os("TIMING").is_some() {
        eprintln!(
            "{:.1} ns per call",
            started.elapsed().as_nanos() as f64 / n as f64
        );
    }
    std::mem::forget(runtime);
}

/// The only code callgrind counts (`--toggle-collect`), so that set-up, the tokio
/// runtime and the TSC clock calibration stay out of the numbers.
#[inline(never)]
fn measured_loop(scenario: Scenario, n: u64, points: &[Point]) {
    let mut enc = Encoder::new(Dialect::V2);
    let mut out = Vec::with_capacity(if points.len() > 1 { 1 << 20 } else { 4096 });
    let gzip = (points.len() > 1).then(|| monitoring::sink::Gzip::new(1));
    let point = &points[0];
    for i in 0..n {
        match scenario {
            Scenario::Plain => {
                run(plain(black_box(i)));
            }
            Scenario::Monitored => {
                run(instrumented(black_box(i)));
            }
            Scenario::CallsPlain => {
                run(calls_plain(black_box(i)));
            }
            Scenario::CallsTimed => {
                run(calls_timed(black_box(i)));
            }
            Scenario::Tracing => {
                run(traced(black_box(i)));
            }
            Scenario::Autometrics => {
                run(autometered(black_box(i)));
            }
            Scenario::Encode | Scenario::EncodeHostile => {
                out.clear();
                enc.encode(black_box(point), &mut out);
            }
            Scenario::EncodeGzipBatch => {
                // Line i of its batch; the full batch is compressed as a sink would.
                let i = (i % points.len() as u64) as usize;
                enc.encode(black_box(&points[i]), &mut out);
                if i + 1 == points.len() {
                    black_box(gzip.as_ref().map(|gzip| gzip.compress(&out)));
                    out.clear();
                }
            }
            Scenario::LineProtocolBuilder => {
                out.clear();
                lines::line_protocol_builder_seed(&mut out);
            }
            Scenario::Influxdb2 => {
                out.clear();
                lines::influxdb2_seed(&mut out);
            }
            Scenario::LineProtocolBuilderHostile => {
                out.clear();
                lines::line_protocol_builder_hostile(&mut out);
            }
            Scenario::Influxdb2Hostile => {
                out.clear();
                lines::influxdb2_hostile(&mut out);
            }
        }
        black_box(&out);
    }
}
