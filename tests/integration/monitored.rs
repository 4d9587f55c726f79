//! `#[monitored]`, `#[timed_field]` and the derives with the real flusher (capture sink).

use crate::common;

use std::time::Duration;

use http::StatusCode;
use monitoring::luna::{EstimatorUsages, LicenseStatus, Licensing};
use monitoring::{
    monitored, timed_field, Capture, FieldValue, Monitor, MonitoredError, MonitoringPoint, Point,
    TagValue, UsageStatistics,
};

use common::capture_monitor as monitor;

fn tag(p: &Point, k: &str) -> String {
    match p.tag(k) {
        Some(TagValue::Text(t)) => t.to_string(),
        Some(TagValue::UInt(u)) => u.to_string(),
        Some(TagValue::Int(i)) => i.to_string(),
        other => panic!("tag {k}: {other:?}"),
    }
}

fn float(p: &Point, k: &str) -> f64 {
    match p.field(k) {
        Some(FieldValue::Float(f)) => *f,
        other => panic!("field {k}: {other:?}"),
    }
}

#[derive(Debug)]
struct LunaError {
    code: u32,
    status: u16,
}

impl MonitoredError for LunaError {
    fn status_code(&self) -> u16 {
        self.status
    }
    fn error_code(&self) -> Option<TagValue> {
        Some(self.code.into())
    }
}

#[timed_field("save_warps_time")]
async fn save_warps(ms: u64) {
    tokio::time::sleep(Duration::from_millis(ms)).await;
}

#[timed_field("match_policy_time")]
fn match_policy() -> u32 {
    std::thread::sleep(Duration::from_millis(2));
    7
}

fn deep_helper(handler_id: &str) {
    monitoring::add_tag("handler_id", handler_id.to_owned());
}

#[monitored(route = "POST:/handlers/{handler_id}/events")]
async fn events(handler_id: String, fail: bool) -> Result<StatusCode, LunaError> {
    deep_helper(&handler_id);
    save_warps(5).await;
    save_warps(5).await;
    let _ = match_policy();
    if fail {
        return Err(LunaError {
            code: 11027,
            status: 400,
        });
    }
    Ok(StatusCode::CREATED)
}

#[tokio::test]
async fn requests_and_errors_points_follow_the_schema() {
    let (monitor, capture) = monitor();
    monitor
        .scope(async {
            events("h-1".into(), false).await.unwrap();
            events("h-2".into(), true).await.unwrap_err();
        })
        .await;
    assert!(monitor.flush().await.complete);
    let requests = capture.series("requests");
    let errors = capture.series("errors");
    assert_eq!((requests.len(), errors.len()), (2, 1));

    let ok = &requests[0];
    assert_eq!(tag(ok, "service"), "monitoring", "crate name by default");
    assert_eq!(tag(ok, "route"), "POST:/handlers/{handler_id}/events");
    assert_eq!(tag(ok, "status_code"), "201");
    assert_eq!(tag(ok, "handler_id"), "h-1");
    let Some(FieldValue::Str(id)) = ok.field("request_id") else {
        panic!()
    };
    let (secs, uuid) = id.split_once(',').expect("seed-style request id");
    assert!(secs.parse::<u64>().unwrap() > 1_600_000_000);
    assert_eq!(uuid.len(), 36);
    let exec = float(ok, "execution_time");
    let warps = float(ok, "save_warps_time");
    assert!(warps >= 0.010, "two timed calls accumulate: {warps}");
    assert!(exec >= warps, "{exec} >= {warps}");
    assert!(float(ok, "match_policy_time") >= 0.002);
    let now = monitoring::__private::now_ns();
    assert!(ok.timestamp_ns() <= now && ok.timestamp_ns() > now - 10_000_000_000);

    let failed = &requests[1];
    assert_eq!(tag(failed, "status_code"), "400");
    let err = &errors[0];
    assert_eq!(tag(err, "error_code"), "11027");
    assert_eq!(tag(err, "status_code"), "400");
    assert_eq!(tag(err, "handler_id"), "h-2");
    assert_eq!(err.timestamp_ns(), failed.timestamp_ns());
    assert_eq!(err.field("request_id"), failed.field("request_id"));
    assert!(err.field("execution_time").is_none());
    // Outside a request the helpers are no-ops.
    deep_helper("outside");
    assert_eq!(match_policy(), 7);
    monitor.shutdown().await;
}

struct Service {
    name: &'static str,
}

impl Service {
    #[monitored(route = "GET:/version", request_id = format!("{}-id", self.name))]
    async fn version(&self) -> (StatusCode, String) {
        (StatusCode::OK, self.name.to_owned())
    }
}

#[monitored(route = "GET:/generic")]
async fn generic<T: Into<u16> + Send>(code: T) -> StatusCode {
    StatusCode::from_u16(code.into()).unwrap()
}

#[monitored(route = "GET:/impl")]
async fn impl_trait() -> impl monitoring::ResponseStatus {
    StatusCode::ACCEPTED
}

#[monitored(route = "GET:/result-impl")]
async fn result_impl(fail: bool) -> Result<impl monitoring::ResponseStatus, LunaError> {
    let value: u32 = "5".parse().map_err(|_| LunaError {
        code: 1,
        status: 500,
    })?;
    if fail {
        return Err(LunaError {
            code: 2,
            status: 503,
        });
    }
    Ok((StatusCode::OK, value))
}

trait Handler {
    fn handle<'a>(
        &'a self,
        n: u32,
    ) -> std::pin::Pin<Box<dyn std::future::Future<Output = StatusCode> + Send + 'a>>;
}

/// Written the way `#[async_trait]` expands an `async fn` in a trait impl.
impl Handler for Service {
    #[monitored(route = "PUT:/async-trait")]
    fn handle<'a>(
        &'a self,
        n: u32,
    ) -> std::pin::Pin<Box<dyn std::future::Future<Output = StatusCode> + Send + 'a>> {
        Box::pin(async move {
            let __self = self;
            let _ = __self.name;
            if n == 0 {
                StatusCode::NOT_FOUND
            } else {
                StatusCode::OK
            }
        })
    }
}

#[tokio::test]
async fn methods_generics_impl_trait_and_async_trait_shapes() {
    let (monitor, capture) = monitor();
    let svc = Service { name: "svc" };
    monitor
        .scope(async {
            svc.version().await;
            generic(204u16).await;
            let _ = impl_trait().await;
            let _ = result_impl(false).await;
            let _ = result_impl(true).await;
            svc.handle(0).await;
        })
        .await;
    monitor.shutdown().await;
    let requests = capture.series("requests");
    let seen: Vec<(String, String)> = requests
        .iter()
        .map(|p| (tag(p, "route"), tag(p, "status_code")))
        .collect();
    assert_eq!(
        seen,
        [
            ("GET:/version", "200"),
            ("GET:/generic", "204"),
            ("GET:/impl", "202"),
            ("GET:/result-impl", "200"),
            ("GET:/result-impl", "503"),
            ("PUT:/async-trait", "404"),
        ]
        .map(|(a, b)| (a.to_owned(), b.to_owned()))
    );
    assert_eq!(
        requests[0].field("request_id"),
        Some(&FieldValue::Str("svc-id".to_owned().into()))
    );
    assert_eq!(capture.series("errors").len(), 2);
}

static SLOW_STARTED: std::sync::atomic::AtomicBool = std::sync::atomic::AtomicBool::new(false);

#[monitored(route = "POST:/slow")]
async fn slow() -> StatusCode {
    monitoring::add_tag("stage", "before-sleep");
    SLOW_STARTED.store(true, std::sync::atomic::Ordering::SeqCst);
    tokio::time::sleep(Duration::from_secs(30)).await;
    StatusCode::OK
}

#[tokio::test]
async fn a_dropped_handler_records_499_with_the_time_until_the_drop() {
    let (monitor, capture) = monitor();
    let task = tokio::spawn(monitor.scope(slow()));
    // Started (its clock runs from its first poll), then 50 ms more before the drop.
    while !SLOW_STARTED.load(std::sync::atomic::Ordering::SeqCst) {
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    tokio::time::sleep(Duration::from_millis(50)).await;
    task.abort();
    assert!(task.await.unwrap_err().is_cancelled());
    monitor.flush().await;
    let requests = capture.series("requests");
    assert_eq!(requests.len(), 1);
    assert_eq!(tag(&requests[0], "status_code"), "499");
    assert_eq!(tag(&requests[0], "stage"), "before-sleep");
    let t = float(&requests[0], "execution_time");
    assert!((0.05..30.0).contains(&t), "{t}");
    assert_eq!(capture.series("errors").len(), 1);
    // The request context does not leak into later work on this thread.
    assert!(!monitoring::in_request());
    monitor.shutdown().await;
}

#[monitored(route = "POST:/panics")]
async fn panics() -> StatusCode {
    monitoring::add_tag("stage", "before-panic");
    tokio::task::yield_now().await;
    panic!("handler bug");
}

#[tokio::test]
async fn a_panicking_handler_records_500_and_keeps_unwinding() {
    let (monitor, capture) = monitor();
    let err = tokio::spawn(monitor.scope(panics())).await.unwrap_err();
    assert!(err.is_panic(), "the panic reaches the caller");
    // The same worker thread serves the next request with a clean context.
    monitor.scope(generic(200u16)).await;
    monitor.flush().await;
    let requests = capture.series("requests");
    assert_eq!(requests.len(), 2);
    assert_eq!(tag(&requests[0], "status_code"), "500");
    assert_eq!(tag(&requests[0], "stage"), "before-panic");
    assert!(
        requests[1].tag("stage").is_none(),
        "no leak into the next request"
    );
    assert!(!monitoring::in_request());
    monitor.shutdown().await;
}

#[derive(Default, UsageStatistics)]
struct Counters {
    face_detector_usages: u32,
    #[usage(rename = "mask_estimator_usages")]
    masks: u64,
    #[usage(skip)]
    #[allow(dead_code)]
    note: &'static str,
    eye_estimator_usages: usize,
}

#[monitored(route = "POST:/detector")]
async fn detector(faces: u32) -> StatusCode {
    Counters {
        face_detector_usages: faces,
        masks: 1,
        ..Default::default()
    }
    .record();
    Counters {
        face_detector_usages: faces,
        ..Default::default()
    }
    .record();
    StatusCode::OK
}

#[tokio::test]
async fn usage_counters_are_emitted_with_their_request() {
    let (monitor, capture) = monitor();
    monitor
        .scope(async {
            detector(2).await;
            EstimatorUsages {
                liveness_estimator_usages: 3,
                ..Default::default()
            }
            .record();
            EstimatorUsages::default().record();
        })
        .await;
    monitor.shutdown().await;
    let usages = capture.series("usages_statistic");
    assert_eq!(usages.len(), 2, "an all-zero struct records nothing");
    let with_request = &usages[0];
    assert_eq!(
        with_request.field("face_detector_usages"),
        Some(&FieldValue::Int(4))
    );
    assert_eq!(
        with_request.field("mask_estimator_usages"),
        Some(&FieldValue::Int(1))
    );
    assert_eq!(
        with_request.field("eye_estimator_usages"),
        None,
        "zero counters omitted"
    );
    assert_eq!(tag(with_request, "service"), "monitoring");
    let request = &capture.series("requests")[0];
    assert_eq!(with_request.timestamp_ns(), request.timestamp_ns());
    assert_eq!(
        usages[1].field("liveness_estimator_usages"),
        Some(&FieldValue::Int(3))
    );
    assert_eq!(usages[1].fields().len(), 1);
}

#[derive(MonitoringPoint)]
#[point(series = "custom")]
struct Custom {
    #[point(tag)]
    region: &'static str,
    #[point(rename = "latency_seconds")]
    latency: f64,
    maybe: Option<i64>,
    #[point(timestamp)]
    at: i64,
    #[point(skip)]
    #[allow(dead_code)]
    ignored: Vec<u8>,
}

#[tokio::test]
async fn custom_series_and_licensing() {
    let capture = Capture::new();
    let monitor = Monitor::builder()
        .without_config_sink()
        .capture(&capture)
        .service("luna-handlers")
        .start()
        .unwrap();
    monitor
        .scope(async {
            Custom {
                region: "eu",
                latency: 0.5,
                maybe: None,
                at: 42,
                ignored: vec![],
            }
            .record();
            Licensing {
                license_status: LicenseStatus::Warning,
                liveness_balance: 10,
                warnings: Some("balance low".into()),
                errors: None,
            }
            .record();
        })
        .await;
    monitor.shutdown().await;
    assert_eq!(
        capture.lines().lines().next().unwrap(),
        "custom,region=eu,service=luna-handlers latency_seconds=0.5 42"
    );
    let lic = &capture.series(Licensing::SERIES)[0];
    assert_eq!(tag(lic, "license_status"), "warning");
    assert_eq!(tag(lic, "service"), "luna-handlers");
    assert_eq!(lic.field("liveness_balance"), Some(&FieldValue::Int(10)));
    assert!(lic.field("errors").is_none());
}

#[tokio::test]
async fn a_disabled_monitor_records_nothing_and_handlers_still_work() {
    let mut config = monitoring::Config::default();
    config.send_data_for_monitoring = false;
    let monitor = Monitor::from_config(config).unwrap();
    assert!(!monitor.is_enabled());
    let out = monitor.scope(events("x".into(), false)).await;
    assert_eq!(out.unwrap(), StatusCode::CREATED);
    assert_eq!(monitor.stats().recorded, 0);
}

#[tokio::test]
async fn points_recorded_after_shutdown_are_counted() {
    let (monitor, _capture) = monitor();
    monitor.shutdown().await;
    monitor.scope(generic(200u16)).await;
    monitor.record(Point::new("late").with_field("x", 1i64));
    let stats = monitor.stats();
    assert_eq!(stats.dropped.get(monitoring::DropReason::AfterShutdown), 2);
    assert_eq!(stats.recorded, 2);
}

#[cfg(feature = "axum")]
#[tokio::test]
async fn under_the_layer_a_monitored_handler_records_one_point_with_the_header_id() {
    use tower::ServiceExt;

    #[monitored(route = "GET:/with-layer")]
    async fn handler() -> StatusCode {
        StatusCode::OK
    }
    let (monitor, capture) = monitor();
    let app = axum::Router::new()
        .route("/with-layer", axum::routing::get(handler))
        .layer(monitoring::MonitoringLayer::new());
    for header in ["LUNA-Request-Id", "X-Request-Id"] {
        let request = http::Request::get("/with-layer")
            .header(header, format!("{header}-value"))
            .body(axum::body::Body::empty())
            .unwrap();
        let response = monitor.scope(app.clone().oneshot(request)).await.unwrap();
        assert_eq!(response.status(), StatusCode::OK);
    }
    monitor.shutdown().await;
    let ids: Vec<_> = capture
        .series("requests")
        .iter()
        .map(|p| p.field("request_id").cloned())
        .collect();
    assert_eq!(
        ids,
        [
            Some(FieldValue::Str("LUNA-Request-Id-value".to_owned().into())),
            Some(FieldValue::Str("X-Request-Id-value".to_owned().into())),
        ]
    );
}

#[monitored(route = "POST:/blocks")]
async fn blocks() -> StatusCode {
    monitoring::time_section("load_face_samples_time", async {
        tokio::time::sleep(Duration::from_millis(3)).await;
    })
    .await;
    {
        let _timer = monitoring::FieldTimer::start("save_samples_time");
        std::thread::sleep(Duration::from_millis(2));
    }
    monitoring::add_field("faces", 3i64);
    StatusCode::OK
}

#[tokio::test]
async fn block_forms_time_code_that_is_not_a_function() {
    let (monitor, capture) = monitor();
    monitor.scope(blocks()).await;
    monitor.shutdown().await;
    let p = &capture.series("requests")[0];
    assert!(float(p, "load_face_samples_time") >= 0.003);
    assert!(float(p, "save_samples_time") >= 0.002);
    assert_eq!(p.field("faces"), Some(&FieldValue::Int(3)));
}

fn spin(d: Duration) {
    let start = std::time::Instant::now();
    while start.elapsed() < d {
        std::hint::spin_loop();
    }
}

#[timed_field("t_one")]
fn one() {
    spin(Duration::from_millis(1));
}
#[timed_field("t_two")]
fn two() {
    spin(Duration::from_millis(1));
}
#[timed_field("t_three")]
fn three() {
    spin(Duration::from_millis(1));
}
#[timed_field("t_four")]
fn four() {
    spin(Duration::from_millis(1));
}
/// A second function timing into an existing field name shares its total.
#[timed_field("t_one")]
fn one_again() {
    spin(Duration::from_millis(2));
}

#[monitored(route = "POST:/many_timings")]
async fn many_timings() -> StatusCode {
    // Four distinct fields: one more than a request carries inline, so the last goes
    // through the request's extras; "t_two" is also timed by name (`FieldTimer`).
    for _ in 0..2 {
        one();
        two();
        three();
        four();
    }
    one_again();
    {
        let _t = monitoring::FieldTimer::start("t_two");
        spin(Duration::from_millis(3));
    }
    {
        let _t = monitoring::FieldTimer::start("t_five");
        spin(Duration::from_millis(1));
    }
    StatusCode::NOT_FOUND
}

#[tokio::test]
async fn timings_beyond_the_inline_slots_and_by_name_accumulate_per_field() {
    let (monitor, capture) = monitor();
    monitor.scope(many_timings()).await;
    monitor.shutdown().await;
    let requests = capture.series("requests");
    let errors = capture.series("errors");
    assert_eq!((requests.len(), errors.len()), (1, 1));
    for p in [&requests[0], &errors[0]] {
        let total = float(&requests[0], "execution_time");
        // Lower bounds from the spins; together never more than the whole request.
        let expected = [
            ("t_one", 0.004),
            ("t_two", 0.005),
            ("t_three", 0.002),
            ("t_four", 0.002),
            ("t_five", 0.001),
        ];
        let mut sum = 0.0;
        for (name, at_least) in expected {
            let v = float(p, name);
            assert!(v >= at_least, "{name} = {v}, expected >= {at_least}");
            sum += v;
        }
        assert!(sum <= total, "fields {sum} > execution_time {total}");
        let names: Vec<&str> = p.fields().iter().map(|(k, _)| k.as_str()).collect();
        for (name, _) in expected {
            assert_eq!(
                names.iter().filter(|n| **n == name).count(),
                1,
                "{name} once: {names:?}"
            );
        }
    }
}

#[monitored(route = "GET:/inner")]
async fn inner_request() -> StatusCode {
    monitoring::add_tag("inner_tag", "b");
    tokio::task::yield_now().await;
    match_policy();
    StatusCode::OK
}

#[timed_field("outer_work_time")]
fn outer_work() -> u32 {
    std::hint::black_box(7)
}

#[monitored(route = "GET:/outer")]
async fn outer_request(add_before: bool) -> StatusCode {
    if add_before {
        monitoring::add_tag("outer_tag", "a");
        // The outer request's timings are in the thread's slot when the inner one starts.
        outer_work();
    }
    tokio::task::yield_now().await;
    inner_request().await;
    monitoring::add_field("after_inner", 1i64);
    if add_before {
        // A later poll that times again adds to what the first one timed.
        outer_work();
    }
    StatusCode::OK
}

#[monitored(route = "GET:/timed_twice")]
async fn timed_twice() -> StatusCode {
    outer_work();
    tokio::task::yield_now().await;
    // Its timings from the first poll (and nothing else) go back into the thread's slot.
    outer_work();
    StatusCode::OK
}

#[tokio::test]
async fn timings_follow_their_request_across_polls() {
    let (monitor, capture) = monitor();
    monitor.scope(timed_twice()).await;
    monitor.scope(inner_request()).await;
    monitor.shutdown().await;
    let requests = capture.series("requests");
    let by_route = |r: &str| requests.iter().find(|p| tag(p, "route") == r).unwrap();
    assert!(by_route("GET:/timed_twice")
        .field("outer_work_time")
        .is_some());
    let inner = by_route("GET:/inner");
    assert!(inner.field("match_policy_time").is_some());
    assert!(inner.field("outer_work_time").is_none(), "{inner:?}");
}

#[tokio::test]
async fn nested_requests_keep_their_own_tags_fields_and_timings() {
    for add_before in [true, false] {
        let (monitor, capture) = monitor();
        monitor.scope(outer_request(add_before)).await;
        // A request after them on the same thread starts with nothing of theirs.
        monitor.scope(inner_request()).await;
        monitor.shutdown().await;
        let requests = capture.series("requests");
        let by_route = |r: &str| {
            requests
                .iter()
                .find(|p| tag(p, "route") == r)
                .unwrap_or_else(|| panic!("{r}: {requests:?}"))
        };
        let (inner, outer) = (by_route("GET:/inner"), by_route("GET:/outer"));
        assert_eq!(tag(inner, "inner_tag"), "b");
        assert!(inner.tag("outer_tag").is_none() && inner.field("after_inner").is_none());
        assert!(inner.field("match_policy_time").is_some());
        assert_eq!(outer.tag("outer_tag").is_some(), add_before);
        assert!(outer.tag("inner_tag").is_none() && outer.field("match_policy_time").is_none());
        assert_eq!(outer.field("outer_work_time").is_some(), add_before);
        let inners = requests.iter().filter(|p| tag(p, "route") == "GET:/inner");
        assert_eq!(inners.clone().count(), 2);
        for inner in inners {
            assert!(inner.field("outer_work_time").is_none() && inner.tag("outer_tag").is_none());
        }
        assert_eq!(outer.field("after_inner"), Some(&FieldValue::Int(1)));
    }
}
