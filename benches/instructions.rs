//! Harness for instruction counts under callgrind (`scripts/callgrind.sh`): runs one
//! scenario `N` times. Instruction counts do not move with machine load, unlike
//! wall-clock times on these VMs.
//!
//! `instructions <scenario> <N>`, scenario one of `plain`, `monitored_on`,
//! `monitored_off`, `calls_plain`, `calls_timed`, `tracing`, `autometrics`,
//! `encode_seed`, `encode_hostile`, `line_protocol_builder`, `influxdb2`,
//! `line_protocol_builder_hostile`, `influxdb2_hostile`, `encode_gzip_batch` (one line
//! of a 5,000-line batch, the batch gzipped at level 1 when full), `byte_scan_seed`,
//! `byte_scan_hostile` (a straightforward hand-written encoder), `encode_hostile_shared`
//! and `byte_scan_hostile_shared` (the escape-heavy line's strings built at run time),
//! `encode_plain_shared` and `byte_scan_plain_shared` (its shape with nothing to
//! escape, strings built at run time), `encode_seed_built`
//! (the `Point` built in the loop), `influxdb2_prebuilt` (a `DataPoint` built once,
//! written each call). `TIMING=1` prints
//! the ns per call. `ROUNDS=<k> instructions <a>,<b>,... <N>` interleaves scenarios
//! (N calls each per round) with a contention probe and prints one line per round:
//! the probe's ns per step, then each scenario's ns per call (`BRACKET=1`: the slower
//! of a probe before and one after the round; `STEP=1`: each round waits for a line on
//! stdin, so that `scripts/spread.py` can interleave processes).
//!
//! Where things live (#16): `LAYOUTS=<L> ROUNDS=<R> instructions encode_seed <N>` times
//! the seed line with its names at `L` places on the heap, `LAYOUT=<k>` counts one of
//! them under callgrind; `SCAN=<D> ROUNDS=<R> instructions <scenario> <N>` times a
//! scenario at `D` stack depths.

use std::future::Future;
use std::hint::black_box;
use std::task::{Context, Poll, Waker};

use http::StatusCode;
use monitoring::line_protocol::{Dialect, Encoder};
use monitoring::{monitored, Monitor, Point};

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
    ByteScan,
    EncodeBuilt,
    Influxdb2Prebuilt,
    /// One request through an axum router under a layer stack (`routers/mod.rs`).
    Layer(Stack),
    /// One unary gRPC call through tonic's routes under a layer (`grpc_service/`).
    Grpc(GrpcStack),
}

/// The layers of the `grpc_*` scenarios.
#[derive(Clone, Copy, Debug)]
enum GrpcStack {
    Bare,
    Monitoring,
    Trace,
}

type TraceForGrpc = tower_http::trace::Trace<
    tonic::service::Routes,
    tower_http::classify::SharedClassifier<tower_http::classify::GrpcErrorsAsFailures>,
>;

mod grpc_service;
mod lines;
mod routers;
use routers::Stack;

thread_local! {
    /// The seed line as an `influxdb2` `DataPoint`, built once (`influxdb2_prebuilt`).
    static PREBUILT: influxdb2::models::DataPoint = lines::influxdb2_seed_point();
}

fn main() {
    let mut args = std::env::args().skip(1);
    let names = args.next().unwrap_or_else(|| "plain".into());
    let n: u64 = args.next().and_then(|a| a.parse().ok()).unwrap_or(1000);
    let rounds: u64 = std::env::var("ROUNDS")
        .ok()
        .map_or(1, |r| r.parse().expect("ROUNDS=<number>"));
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
    let scenarios: Vec<(Scenario, Vec<Point>)> =
        names.split(',').map(|name| setup(name, &monitor)).collect();
    if let Some(layouts) = std::env::var("LAYOUTS")
        .ok()
        .and_then(|v| v.parse::<u64>().ok())
    {
        return name_layouts(layouts, rounds, n);
    }
    if let Some(depths) = std::env::var("SCAN")
        .ok()
        .and_then(|v| v.parse::<usize>().ok())
    {
        return stack_scan(&scenarios[0], depths, rounds, n);
    }
    if rounds == 1 && scenarios.len() == 1 {
        let (scenario, points) = &scenarios[0];
        let mut workspace = Workspace::new();
        let started = std::time::Instant::now();
        measured_loop(*scenario, n, points, &mut workspace);
        if std::env::var_os("TIMING").is_some() {
            eprintln!(
                "{:.1} ns per call",
                started.elapsed().as_nanos() as f64 / n as f64
            );
        }
    } else {
        // `ROUNDS=<k>`: each round a throughput-bound probe, then N calls of each
        // scenario; one line per round with the probe's ns per step and each
        // scenario's ns per call, so that scenarios are compared within the same
        // moments of the machine (BENCHMARKS.md, section 0; `scripts/rounds.sh`).
        // `BRACKET=1` probes again after the round and prints the slower probe (a
        // round counts as uncontended only if the core was ours before and after it);
        // `STEP=1` waits for a line on stdin before each round, so that a driver
        // (`scripts/spread.sh`) can interleave the rounds of many processes.
        let bracket = std::env::var_os("BRACKET").is_some();
        let step = std::env::var_os("STEP").is_some();
        let mut workspaces: Vec<Workspace> = scenarios.iter().map(|_| Workspace::new()).collect();
        for _ in 0..rounds {
            if step && std::io::stdin().read_line(&mut String::new()).unwrap_or(0) == 0 {
                break;
            }
            let probe = contention_probe();
            let mut times = String::new();
            for ((scenario, points), workspace) in scenarios.iter().zip(&mut workspaces) {
                runtime.block_on(monitor.flush());
                let started = std::time::Instant::now();
                measured_loop(*scenario, n, points, workspace);
                let ns = started.elapsed().as_nanos() as f64 / n as f64;
                times.push_str(&format!(" {ns:.1}"));
            }
            let probe = if bracket {
                probe.max(contention_probe())
            } else {
                probe
            };
            println!("{probe:.2}{times}");
        }
    }
    std::mem::forget(runtime);
}

/// Installs what scenario `name` needs; its scenario and points.
fn setup(name: &str, monitor: &Monitor) -> (Scenario, Vec<Point>) {
    match name {
        "monitored_on"
        | "calls_plain"
        | "calls_timed"
        | "layer_monitoring"
        | "layer_passthrough_monitoring"
        | "layer_trace_monitoring"
        | "grpc_monitoring" => monitor.install_global(),
        "monitored_off" => Monitor::disabled().install_global(),
        _ => {}
    }
    if matches!(
        name,
        "tracing" | "layer_trace" | "layer_trace_monitoring" | "grpc_trace"
    ) {
        // Once per process (scenarios may share it in ROUNDS mode).
        let _ = tracing::subscriber::set_global_default(tracing_subscriber::registry());
    }
    let points = match name {
        "encode_hostile" | "byte_scan_hostile" => vec![lines::hostile_point()],
        "encode_hostile_shared" | "byte_scan_hostile_shared" => {
            vec![lines::hostile_shared_point()]
        }
        "encode_plain_shared" | "byte_scan_plain_shared" => vec![lines::plain_shared_point()],
        "encode_seed" if std::env::var_os("LAYOUT").is_some() => {
            let k = std::env::var("LAYOUT")
                .unwrap()
                .parse()
                .expect("LAYOUT=<number>");
            vec![lines::seed_point_relocated(k)]
        }
        "encode_gzip_batch" => lines::batch_points(),
        _ => vec![lines::seed_point()],
    };
    let scenario = match name {
        "plain" => Scenario::Plain,
        "monitored_on" | "monitored_off" => Scenario::Monitored,
        "calls_plain" => Scenario::CallsPlain,
        "calls_timed" => Scenario::CallsTimed,
        "tracing" => Scenario::Tracing,
        "autometrics" => Scenario::Autometrics,
        "encode_seed" => Scenario::Encode,
        "encode_hostile" | "encode_hostile_shared" | "encode_plain_shared" => {
            Scenario::EncodeHostile
        }
        "line_protocol_builder" => Scenario::LineProtocolBuilder,
        "influxdb2" => Scenario::Influxdb2,
        "line_protocol_builder_hostile" => Scenario::LineProtocolBuilderHostile,
        "influxdb2_hostile" => Scenario::Influxdb2Hostile,
        "encode_gzip_batch" => Scenario::EncodeGzipBatch,
        "byte_scan_seed"
        | "byte_scan_hostile"
        | "byte_scan_hostile_shared"
        | "byte_scan_plain_shared" => Scenario::ByteScan,
        "encode_seed_built" => Scenario::EncodeBuilt,
        "influxdb2_prebuilt" => Scenario::Influxdb2Prebuilt,
        "grpc_routes" => Scenario::Grpc(GrpcStack::Bare),
        "grpc_monitoring" => Scenario::Grpc(GrpcStack::Monitoring),
        "grpc_trace" => Scenario::Grpc(GrpcStack::Trace),
        "layer_router" => Scenario::Layer(Stack::Bare),
        "layer_passthrough" => Scenario::Layer(Stack::Passthrough),
        "layer_monitoring" => Scenario::Layer(Stack::Monitoring),
        "layer_trace" => Scenario::Layer(Stack::Trace),
        "layer_passthrough_monitoring" => Scenario::Layer(Stack::PassthroughAndMonitoring),
        "layer_trace_monitoring" => Scenario::Layer(Stack::TraceAndMonitoring),
        other => panic!("unknown scenario {other}"),
    };
    (scenario, points)
}

/// ns per step of eight independent add/xor/rotate chains: bound by how many
/// instructions the core issues per cycle, so it slows down when another hardware
/// thread shares the physical core, unlike a single dependent chain.
fn contention_probe() -> f64 {
    let started = std::time::Instant::now();
    let mut v = [1u64, 2, 3, 4, 5, 6, 7, 8];
    for i in 0..100_000u64 {
        for (k, x) in v.iter_mut().enumerate() {
            *x = (x.wrapping_add(i) ^ k as u64).rotate_left(7);
        }
        v = black_box(v);
    }
    started.elapsed().as_nanos() as f64 / 100_000.0
}

/// `LAYOUTS=<L> ROUNDS=<R> instructions encode_seed <N>`: the seed line with its names
/// at `L` different places on the heap (`lines::seed_point_relocated`), one encoder
/// each, in one process (same code placement), rounds interleaved across layouts; only
/// rounds bracketed by two uncontended probes count. Prints each layout's fastest round
/// and max / min: whether the cost depends on where the names live.
/// `LAYOUT=<k> instructions encode_seed <N>` encodes layout `k` only (for callgrind).
fn name_layouts(layouts: u64, rounds: u64, n: u64) {
    let points: Vec<Vec<Point>> = (0..layouts)
        .map(|k| vec![lines::seed_point_relocated(k)])
        .collect();
    let mut workspaces: Vec<Workspace> = points.iter().map(|_| Workspace::new()).collect();
    let floor = (0..200)
        .map(|_| contention_probe())
        .fold(f64::MAX, f64::min);
    let mut best = vec![f64::MAX; points.len()];
    for _ in 0..rounds {
        for ((points, workspace), best) in points.iter().zip(&mut workspaces).zip(&mut best) {
            let before = contention_probe();
            let started = std::time::Instant::now();
            measured_loop(Scenario::Encode, n, points, workspace);
            let ns = started.elapsed().as_nanos() as f64 / n as f64;
            if before.max(contention_probe()) <= floor * 1.05 {
                *best = best.min(ns);
            }
        }
    }
    for (k, ns) in best.iter().enumerate() {
        println!("layout {k:2}: {ns:.1} ns");
    }
    let (min, max) = best
        .iter()
        .fold((f64::MAX, 0f64), |(lo, hi), &v| (lo.min(v), hi.max(v)));
    println!(
        "{layouts} name layouts: min {min:.1} ns, max {max:.1} ns, max/min {:.3}",
        max / min
    );
}

/// `SCAN=<D> ROUNDS=<R> instructions <scenario> <N>`: the scenario's fastest
/// uncontended round at each of `D` stack depths (see [`deeper`]).
fn stack_scan(scenario: &(Scenario, Vec<Point>), depths: usize, rounds: u64, n: u64) {
    let (scenario, points) = scenario;
    let mut workspace = Workspace::new();
    let probe_floor = (0..200)
        .map(|_| contention_probe())
        .fold(f64::MAX, f64::min);
    for depth in 0..depths {
        let mut best = f64::MAX;
        let mut counted = 0;
        while counted < rounds {
            let before = contention_probe();
            let mut run = || {
                let started = std::time::Instant::now();
                measured_loop(*scenario, n, points, &mut workspace);
                started.elapsed().as_nanos() as f64 / n as f64
            };
            let ns = deeper(depth, &mut run);
            if before.max(contention_probe()) <= probe_floor * 1.05 {
                best = best.min(ns);
                counted += 1;
            }
        }
        println!("{depth} {best:.1}");
    }
}

/// Runs `f` `depth` stack frames (80 bytes each) deeper (`SCAN=<D>`: the seed line's cost
/// at each of `D` stack depths, every one of 256 offsets within a page reachable, to
/// tell whether where the stack sits changes the cost).
#[inline(never)]
fn deeper(depth: usize, f: &mut dyn FnMut() -> f64) -> f64 {
    let pad = [0u8; 16];
    black_box(&pad);
    if depth == 0 {
        f()
    } else {
        black_box(deeper(depth - 1, f))
    }
}

/// What the encoding scenarios reuse from call to call (as the flusher does).
struct Workspace {
    enc: Encoder,
    out: Vec<u8>,
    gzip: monitoring::__private::Gzip,
    /// The router of a `Layer` scenario, built at its first call.
    router: Option<axum::Router>,
    /// The services of the `Grpc` scenarios, built at their first call.
    grpc: Option<tonic::service::Routes>,
    grpc_monitoring: Option<monitoring::MonitoringService<tonic::service::Routes>>,
    grpc_trace: Option<TraceForGrpc>,
}

impl Workspace {
    fn new() -> Workspace {
        Workspace {
            enc: Encoder::new(Dialect::V2),
            out: Vec::with_capacity(1 << 20),
            gzip: monitoring::__private::Gzip::new(1),
            router: None,
            grpc: None,
            grpc_monitoring: None,
            grpc_trace: None,
        }
    }
}

/// The only code callgrind counts (`--toggle-collect`), so that set-up, the tokio
/// runtime and the TSC clock calibration stay out of the numbers.
#[inline(never)]
fn measured_loop(scenario: Scenario, n: u64, points: &[Point], w: &mut Workspace) {
    let Workspace {
        enc,
        out,
        gzip,
        router,
        grpc,
        grpc_monitoring,
        grpc_trace,
    } = w;
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
                enc.encode(black_box(point), out);
            }
            Scenario::EncodeGzipBatch => {
                // Line i of its batch; the full batch is compressed as a sink would.
                let i = (i % points.len() as u64) as usize;
                enc.encode(black_box(&points[i]), out);
                if i + 1 == points.len() {
                    black_box(gzip.compress(out));
                    out.clear();
                }
            }
            Scenario::LineProtocolBuilder => {
                out.clear();
                lines::line_protocol_builder_seed(out);
            }
            Scenario::Influxdb2 => {
                out.clear();
                lines::influxdb2_seed(out);
            }
            Scenario::LineProtocolBuilderHostile => {
                out.clear();
                lines::line_protocol_builder_hostile(out);
            }
            Scenario::Influxdb2Hostile => {
                out.clear();
                lines::influxdb2_hostile(out);
            }
            Scenario::Layer(stack) => {
                let router = router.get_or_insert_with(|| routers::build(stack, None));
                black_box(routers::call(router, routers::request()));
            }
            Scenario::Grpc(GrpcStack::Bare) => {
                let service = grpc.get_or_insert_with(grpc_service::routes);
                black_box(grpc_service::call(service));
            }
            Scenario::Grpc(GrpcStack::Monitoring) => {
                let service = grpc_monitoring.get_or_insert_with(|| {
                    tower::Layer::layer(&monitoring::MonitoringLayer::new(), grpc_service::routes())
                });
                black_box(grpc_service::call(service));
            }
            Scenario::Grpc(GrpcStack::Trace) => {
                let service = grpc_trace.get_or_insert_with(|| {
                    tower::Layer::layer(
                        &tower_http::trace::TraceLayer::new_for_grpc(),
                        grpc_service::routes(),
                    )
                });
                black_box(grpc_service::call(service));
            }
            Scenario::EncodeBuilt => {
                out.clear();
                enc.encode(&black_box(lines::seed_point()), out);
            }
            Scenario::Influxdb2Prebuilt => {
                use influxdb2::models::WriteDataPoint;
                out.clear();
                PREBUILT.with(|p| p.write_data_point_to(&mut *out).unwrap());
            }
            Scenario::ByteScan => {
                out.clear();
                lines::byte_scan_line(black_box(point), out);
            }
        }
        black_box(&out);
    }
}
