//! A unary gRPC call's cost under each layer (#24), every variant in the same process.
//!
//! `cargo bench -p monitoring-benches --bench grpc`
//!
//! tonic 0.14's server and client over a real HTTP/2 connection on loopback, both on
//! the benchmark's thread (a current-thread runtime, so that a thread-local `tracing`
//! subscriber sees the server's spans): one `grpc.health.v1.Health/Check` per
//! iteration, answered at once. Variants: the server alone; with `MonitoringLayer`
//! (records into the real queue; the flusher does not run during a sample); with
//! tower-http's `TraceLayer::new_for_grpc()` and a `Registry` subscriber enabling
//! tower-http's spans and events (nothing printed; h2's and hyper's own trace events
//! left off, as a production filter would). divan's allocation profiler counts heap
//! allocations per call, client's and server's: a layer's own are the difference from
//! `0_server`.
//!
//! A call costs tens of microseconds of syscalls and HTTP/2 framing, so a layer's
//! hundred nanoseconds is below this benchmark's noise: the `grpc_*` scenarios of
//! `instructions.rs` count the same call in process, instruction by instruction.

use std::sync::OnceLock;

use monitoring::{Monitor, MonitoringLayer};
use tokio::net::TcpListener;
use tokio_stream::wrappers::TcpListenerStream;
use tonic::transport::{Channel, Server};
use tonic_health::pb::health_client::HealthClient;
use tonic_health::pb::HealthCheckRequest;
use tracing_subscriber::layer::SubscriberExt;

mod grpc_service;
mod idle_monitor;

#[global_allocator]
static ALLOC: divan::AllocProfiler = divan::AllocProfiler::system();

struct Setup {
    runtime: tokio::runtime::Runtime,
    monitor: Monitor,
    bare: HealthClient<Channel>,
    monitoring: HealthClient<Channel>,
    trace: HealthClient<Channel>,
}

/// A loopback listener and its URL.
async fn listener() -> (TcpListenerStream, String) {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    (TcpListenerStream::new(listener), url)
}

/// A client connected to `url` (one HTTP/2 connection).
async fn client(url: String) -> HealthClient<Channel> {
    let channel = Channel::from_shared(url).unwrap().connect().await.unwrap();
    HealthClient::new(channel)
}

/// The three servers and their clients, on one current-thread runtime; the monitor
/// (queue large enough for a whole benchmark, flushed before each).
fn setup() -> &'static Setup {
    static SETUP: OnceLock<Setup> = OnceLock::new();
    SETUP.get_or_init(|| {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        let (monitor, bare, monitoring, trace) = runtime.block_on(async {
            let monitor = idle_monitor::idle_monitor();
            monitor.install_global();
            let routes = grpc_service::routes;
            let (incoming, bare) = listener().await;
            tokio::spawn(
                Server::builder()
                    .add_routes(routes())
                    .serve_with_incoming(incoming),
            );
            let (incoming, monitoring) = listener().await;
            tokio::spawn(
                Server::builder()
                    .layer(MonitoringLayer::new())
                    .add_routes(routes())
                    .serve_with_incoming(incoming),
            );
            let (incoming, trace) = listener().await;
            tokio::spawn(
                Server::builder()
                    .layer(tower_http::trace::TraceLayer::new_for_grpc())
                    .add_routes(routes())
                    .serve_with_incoming(incoming),
            );
            (
                monitor,
                client(bare).await,
                client(monitoring).await,
                client(trace).await,
            )
        });
        Setup {
            runtime,
            monitor,
            bare,
            monitoring,
            trace,
        }
    })
}

/// Calls `Check` through `client`, once per iteration.
fn bench(b: divan::Bencher, client: &HealthClient<Channel>) {
    let setup = setup();
    let mut client = client.clone();
    b.bench_local(|| {
        let call = client.check(HealthCheckRequest::default());
        setup.runtime.block_on(call).unwrap()
    });
}

const SAMPLES: u32 = 200;
const SIZE: u32 = 50;

#[divan::bench(name = "0_server", sample_count = SAMPLES, sample_size = SIZE)]
fn bare(b: divan::Bencher) {
    bench(b, &setup().bare);
}

#[divan::bench(name = "1_monitoring_layer", sample_count = SAMPLES, sample_size = SIZE)]
fn monitoring_layer(b: divan::Bencher) {
    let setup = setup();
    setup.runtime.block_on(setup.monitor.flush());
    bench(b, &setup.monitoring);
}

#[divan::bench(name = "2_trace_layer_for_grpc", sample_count = SAMPLES, sample_size = SIZE)]
fn trace_layer(b: divan::Bencher) {
    let tower_http =
        tracing_subscriber::filter::Targets::new().with_target("tower_http", tracing::Level::TRACE);
    let subscriber = tracing_subscriber::registry().with(tower_http);
    let _subscriber = tracing::subscriber::set_default(subscriber);
    bench(b, &setup().trace);
}

fn main() {
    setup();
    divan::main();
}
