//! gRPC through `MonitoringLayer`: real tonic 0.14 servers and clients over HTTP/2 on
//! loopback, into a real InfluxDB 1.6.7. Both ways of adding the layer: around
//! tonic's own server (`Server::builder().layer(..)`, serving tonic-health's own
//! service), and around tonic's routes merged into an axum router beside an HTTP route
//! (serving a health service of our own that fails on cue and streams). Every call is
//! stored once in `requests` (and once in `errors` when not OK) with its method's
//! route, the HTTP equivalent of its gRPC code, the code, the client's request id and
//! an execution time covering its stream; a method the server does not implement never
//! becomes a route; a call or stream the client gives up on is CANCELLED. (Its own test binary: it installs the global monitor, which the
//! servers' connection tasks record into.)
#![cfg(feature = "grpc")]

mod common;

use std::collections::BTreeMap;

use common::boundary::stored;
use std::pin::Pin;
use std::time::Duration;

use futures_util::{Stream, StreamExt};
use monitoring::{InfluxConfig, Monitor, MonitoringLayer};
use serde_json::Value;
use tokio::net::TcpListener;
use tokio_stream::wrappers::TcpListenerStream;
use tonic::transport::Channel;
use tonic::{Code, Request, Response, Status};
use tonic_health::pb::health_client::HealthClient;
use tonic_health::pb::health_server::{Health, HealthServer};
use tonic_health::pb::{HealthCheckRequest, HealthCheckResponse};

const CHECK: &str = "POST:/grpc.health.v1.Health/Check";
const WATCH: &str = "POST:/grpc.health.v1.Health/Watch";
const UNMATCHED: &str = "POST:<unmatched>";
/// Between two messages of a stream.
const STEP: Duration = Duration::from_millis(60);

/// A health service of our own: `check` fails on cue, `watch` streams three messages
/// `STEP` apart, then ends OK or (service "fails") with DATA_LOSS in the trailers.
struct Probe;

type Messages = Pin<Box<dyn Stream<Item = Result<HealthCheckResponse, Status>> + Send>>;

#[tonic::async_trait]
impl Health for Probe {
    async fn check(
        &self,
        request: Request<HealthCheckRequest>,
    ) -> Result<Response<HealthCheckResponse>, Status> {
        // Inside the handler: a tag of the call's points.
        monitoring::add_tag("handler_id", "3f2a");
        match request.get_ref().service.as_str() {
            "exhausted" => Err(Status::resource_exhausted("quota")),
            "slow" => {
                tokio::time::sleep(Duration::from_secs(60)).await;
                Err(Status::internal("the client was to cancel the call first"))
            }
            _ => Ok(Response::new(HealthCheckResponse { status: 1 })),
        }
    }

    type WatchStream = Messages;

    async fn watch(
        &self,
        request: Request<HealthCheckRequest>,
    ) -> Result<Response<Messages>, Status> {
        let fails = request.get_ref().service == "fails";
        let stream = futures_util::stream::unfold(0u32, move |sent| async move {
            tokio::time::sleep(STEP).await;
            match sent {
                0..=2 => {
                    // While the stream runs: a field of the call's point.
                    monitoring::add_field("messages_sent", i64::from(sent + 1));
                    Some((Ok(HealthCheckResponse { status: 1 }), sent + 1))
                }
                3 if fails => Some((Err(Status::data_loss("lost")), sent + 1)),
                _ => None,
            }
        });
        Ok(Response::new(Box::pin(stream) as Messages))
    }
}

/// tonic's own server with the layer, serving tonic-health's service.
async fn tonic_server() -> String {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let address = listener.local_addr().unwrap();
    let (_reporter, health) = tonic_health::server::health_reporter();
    tokio::spawn(
        tonic::transport::Server::builder()
            .layer(MonitoringLayer::new())
            .add_service(health)
            .serve_with_incoming(TcpListenerStream::new(listener)),
    );
    format!("http://{address}")
}

/// tonic's routes in an axum router beside an HTTP route, the layer around both.
async fn axum_server() -> String {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let address = listener.local_addr().unwrap();
    let app = tonic::service::Routes::new(HealthServer::new(Probe))
        .into_axum_router()
        .route("/rest", axum::routing::get(|| async { "rest" }))
        .layer(MonitoringLayer::new());
    tokio::spawn(async move { axum::serve(listener, app).await });
    format!("http://{address}")
}

async fn client(url: &str) -> HealthClient<Channel> {
    let channel = Channel::from_shared(url.to_owned()).unwrap();
    HealthClient::new(channel.connect().await.unwrap())
}

/// A request for `service` with the request id `id` in its metadata.
fn request(service: &str, id: &'static str) -> Request<HealthCheckRequest> {
    let mut request = Request::new(HealthCheckRequest {
        service: service.to_owned(),
    });
    request
        .metadata_mut()
        .insert("luna-request-id", id.parse().unwrap());
    request
}

/// A unary call of `path`, which the server does not implement.
async fn unimplemented(channel: Channel, path: &'static str, id: &'static str) -> Status {
    let mut grpc = tonic::client::Grpc::new(channel);
    grpc.ready().await.unwrap();
    let codec = tonic_prost::ProstCodec::<HealthCheckRequest, HealthCheckResponse>::default();
    let path = http::uri::PathAndQuery::from_static(path);
    grpc.unary(request("", id), path, codec).await.unwrap_err()
}

/// What must be stored for a call: route, HTTP status, gRPC code, least duration.
struct Expected {
    id: &'static str,
    route: &'static str,
    status: u16,
    code: Code,
    at_least: Duration,
}

fn expected(id: &'static str, route: &'static str, code: Code, at_least: Duration) -> Expected {
    let status = match code {
        Code::Ok => 200,
        Code::Cancelled => 499,
        Code::NotFound => 404,
        Code::ResourceExhausted => 429,
        Code::Unimplemented => 501,
        Code::DataLoss => 500,
        other => panic!("no case uses {other:?}"),
    };
    Expected {
        id,
        route,
        status,
        code,
        at_least,
    }
}

/// The calls against tonic's own server (tonic-health), checking what the client got.
async fn calls_to_tonic_health(url: &str) -> Vec<Expected> {
    let mut health = client(url).await;
    health.check(request("", "ok")).await.unwrap();
    let missing = health.check(request("missing", "not-found")).await;
    assert_eq!(missing.unwrap_err().code(), Code::NotFound);
    let channel = Channel::from_shared(url.to_owned())
        .unwrap()
        .connect()
        .await
        .unwrap();
    let nope = unimplemented(channel.clone(), "/grpc.health.v1.Health/Nope", "nope").await;
    assert_eq!(nope.code(), Code::Unimplemented);
    let other = unimplemented(channel, "/no.Such/Method", "no-such").await;
    assert_eq!(other.code(), Code::Unimplemented);
    // tonic-health's Watch streams until the status changes: the client drops it.
    let mut watch = health
        .watch(request("", "dropped"))
        .await
        .unwrap()
        .into_inner();
    watch.next().await.unwrap().unwrap();
    tokio::time::sleep(2 * STEP).await;
    drop(watch);
    let zero = Duration::ZERO;
    vec![
        expected("ok", CHECK, Code::Ok, zero),
        expected("not-found", CHECK, Code::NotFound, zero),
        expected("nope", UNMATCHED, Code::Unimplemented, zero),
        expected("no-such", UNMATCHED, Code::Unimplemented, zero),
        expected("dropped", WATCH, Code::Cancelled, 2 * STEP),
    ]
}

/// The calls against our own service in the axum router, and one HTTP request.
async fn calls_to_the_probe(url: &str) -> Vec<Expected> {
    let mut probe = client(url).await;
    probe.check(request("", "probe-ok")).await.unwrap();
    let exhausted = probe.check(request("exhausted", "exhausted")).await;
    assert_eq!(exhausted.unwrap_err().code(), Code::ResourceExhausted);
    for (service, id) in [("ok", "stream-ok"), ("fails", "stream-fails")] {
        let mut stream = probe
            .watch(request(service, id))
            .await
            .unwrap()
            .into_inner();
        let mut messages = 0;
        let end = loop {
            match stream.next().await {
                Some(Ok(_)) => messages += 1,
                Some(Err(status)) => break status.code(),
                None => break Code::Ok,
            }
        };
        assert_eq!(messages, 3, "{id}");
        assert_eq!(
            end,
            if service == "ok" {
                Code::Ok
            } else {
                Code::DataLoss
            }
        );
    }
    // A unary call the client gives up on before the answer: the server drops it.
    let slow = probe.check(request("slow", "cancelled"));
    assert!(tokio::time::timeout(2 * STEP, slow).await.is_err());
    let rest = reqwest::Client::new()
        .get(format!("{url}/rest"))
        .header("x-request-id", "rest")
        .send()
        .await
        .unwrap();
    assert_eq!(rest.status(), 200);
    let streamed = 4 * STEP;
    vec![
        expected("probe-ok", CHECK, Code::Ok, Duration::ZERO),
        expected("exhausted", CHECK, Code::ResourceExhausted, Duration::ZERO),
        expected("stream-ok", WATCH, Code::Ok, streamed),
        expected("stream-fails", WATCH, Code::DataLoss, streamed),
        expected("cancelled", CHECK, Code::Cancelled, 2 * STEP),
        expected("rest", "GET:/rest", Code::Ok, Duration::ZERO),
    ]
}

async fn check_stored(influx: &common::Influx1, calls: &[Expected]) {
    let requests = stored(influx, "grpc", "requests").await;
    let errors = stored(influx, "grpc", "errors").await;
    assert_eq!(requests.len(), calls.len(), "{requests:#?}");
    for call in calls {
        let row = &requests[call.id];
        assert_eq!(row["route"], call.route, "{}", call.id);
        assert_eq!(row["status_code"], call.status.to_string(), "{}", call.id);
        assert_eq!(row["service"], "luna-grpc", "{}", call.id);
        let took = row["execution_time"].as_f64().unwrap();
        let least = call.at_least.as_secs_f64();
        assert!(
            took > 0.0 && took >= least && took < 60.0,
            "{}: {took}",
            call.id
        );
        if call.code == Code::Ok {
            assert!(!errors.contains_key(call.id), "{}", call.id);
        } else {
            let error = &errors[call.id];
            assert_eq!(
                error["error_code"],
                (call.code as i32).to_string(),
                "{}",
                call.id
            );
            assert_eq!(error["route"], call.route, "{}", call.id);
        }
    }
    let failed = calls.iter().filter(|c| c.code != Code::Ok).count();
    assert_eq!(errors.len(), failed, "{errors:#?}");
    // Added inside the handler, and while the stream ran.
    assert_eq!(requests["probe-ok"]["handler_id"], "3f2a");
    assert_eq!(requests["stream-ok"]["messages_sent"], 3);
    assert_eq!(requests["stream-fails"]["messages_sent"], 3);
    // The paths the servers do not implement never became routes.
    let routes = influx
        .query("grpc", "SHOW TAG VALUES FROM requests WITH KEY = route")
        .await
        .to_string();
    assert!(
        !routes.contains("Nope") && !routes.contains("no.Such"),
        "{routes}"
    );
}

/// The dashboard's "Top error codes by route" panel over the gRPC calls: one row per
/// route and code, with the number of calls.
async fn dashboard_panel(influx: &common::Influx1) {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/dashboards/influxql.json");
    let dashboard: Value = serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
    let panel = dashboard["panels"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["title"] == "Top error codes by route")
        .unwrap();
    let query = panel["targets"][0]["query"]
        .as_str()
        .unwrap()
        .replace("$timeFilter", "time > now() - 1h");
    let body = influx.query("grpc", &query).await;
    let mut rows = BTreeMap::new();
    for series in body["results"][0]["series"].as_array().unwrap() {
        let tags = &series["tags"];
        let key = format!("{} {}", tags["route"].as_str().unwrap(), tags["error_code"]);
        rows.insert(key, series["values"][0][1].as_i64().unwrap());
    }
    let expected: BTreeMap<String, i64> = [
        (format!("{CHECK} \"5\""), 1),
        (format!("{CHECK} \"8\""), 1),
        (format!("{UNMATCHED} \"12\""), 2),
        (format!("{CHECK} \"1\""), 1),
        (format!("{WATCH} \"1\""), 1),
        (format!("{WATCH} \"15\""), 1),
    ]
    .into_iter()
    .collect();
    assert_eq!(rows, expected);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn grpc_calls_are_stored_with_their_method_code_and_whole_duration() {
    let influx = common::Influx1::start().await;
    influx.create_db("grpc").await;
    let monitor = Monitor::builder()
        .influx(InfluxConfig::v1("127.0.0.1", influx.port, "grpc"))
        .service("luna-grpc")
        .start()
        .unwrap();
    monitor.install_global();
    let (tonic_url, axum_url) = (tonic_server().await, axum_server().await);

    let mut calls = calls_to_tonic_health(&tonic_url).await;
    calls.extend(calls_to_the_probe(&axum_url).await);
    // The dropped stream is recorded when the server sees the client's reset: wait for
    // every point (`requests`, and `errors` for each failed call) to reach the flusher.
    let failed = calls.iter().filter(|c| c.code != Code::Ok).count();
    let n = (calls.len() + failed) as u64;
    common::wait_until("every call recorded", Duration::from_secs(20), || {
        monitor.stats().recorded >= n
    })
    .await;
    let report = monitor.shutdown().await;
    assert!(report.complete, "{report:?}");
    assert_eq!(report.dropped().total(), 0, "{report:?}");

    check_stored(&influx, &calls).await;
    dashboard_panel(&influx).await;
}
