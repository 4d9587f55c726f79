//! Work a request spawns adds to that request: `monitoring::spawn`,
//! `monitoring::spawn_blocking`, `.in_request()`. What arrives after the request
//! finished is counted and attached to no other request.

use crate::common;

use std::time::Duration;

use http::StatusCode;
use monitoring::{monitored, timed_field, FieldValue, InRequestExt, TagValue};
use tokio::sync::oneshot;

#[timed_field("save_warps_time")]
async fn save_warps() {
    tokio::time::sleep(Duration::from_millis(2)).await;
}

#[monitored(route = "POST:/spawns")]
async fn spawns() -> StatusCode {
    monitoring::add_tag("parent", "p");
    let task = monitoring::spawn(async {
        monitoring::add_tag("child", "c");
        save_warps().await;
        monitoring::add_field("child_field", 1i64);
    });
    task.await.unwrap();
    let blocking = monitoring::spawn_blocking(|| {
        monitoring::add_field("blocking_field", 7i64);
        monitoring::add_time("blocking_time", Duration::from_millis(3));
    });
    blocking.await.unwrap();
    // A future moved to another task by hand.
    let moved = async { monitoring::add_tag("moved", "m") }.in_request();
    tokio::spawn(moved).await.unwrap();
    StatusCode::OK
}

#[monitored(route = "POST:/late")]
async fn late(go: oneshot::Receiver<()>, done: oneshot::Sender<()>) -> StatusCode {
    // Still running when the request has answered.
    drop(monitoring::spawn(async move {
        go.await.unwrap();
        monitoring::add_tag("too_late", "x");
        done.send(()).unwrap();
    }));
    StatusCode::OK
}

#[monitored(route = "POST:/other")]
async fn other(hold: oneshot::Receiver<()>) -> StatusCode {
    hold.await.unwrap();
    StatusCode::OK
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn spawned_work_adds_to_its_request() {
    let (monitor, capture) = common::capture_monitor();
    monitor.scope(spawns()).await;

    // A late addition, while another request is running: it goes to neither.
    let (go, go_rx) = oneshot::channel();
    let (done_tx, done) = oneshot::channel();
    let (release, hold) = oneshot::channel();
    let running = tokio::spawn(monitor.scope(other(hold)));
    let late_before = monitor.stats().late_additions;
    monitor.scope(late(go_rx, done_tx)).await;
    go.send(()).unwrap();
    done.await.unwrap();
    release.send(()).unwrap();
    running.await.unwrap();
    let report = monitor.shutdown().await;

    let requests = capture.series("requests");
    let point = |route: &str| {
        (requests.iter())
            .find(|p| p.tag("route") == Some(&TagValue::from(route.to_owned())))
            .unwrap_or_else(|| panic!("{route}: {requests:?}"))
    };
    let spawned = point("POST:/spawns");
    for (tag, value) in [("parent", "p"), ("child", "c"), ("moved", "m")] {
        assert_eq!(
            spawned.tag(tag),
            Some(&TagValue::from(value)),
            "{spawned:?}"
        );
    }
    assert_eq!(spawned.field("child_field"), Some(&FieldValue::Int(1)));
    assert_eq!(spawned.field("blocking_field"), Some(&FieldValue::Int(7)));
    for timing in ["save_warps_time", "blocking_time"] {
        match spawned.field(timing) {
            Some(FieldValue::Float(secs)) => assert!(*secs >= 0.002, "{timing}: {secs}"),
            other => panic!("{timing}: {other:?}"),
        }
    }
    assert_eq!(report.stats.late_additions - late_before, 1, "{report:?}");
    for p in &requests {
        assert!(p.tag("too_late").is_none(), "{p:?}");
    }
}
