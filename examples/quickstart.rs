//! The quickstart: one layer for every route, one attribute where a handler needs
//! more. It serves on 127.0.0.1, sends itself three requests, shuts down gracefully and
//! prints the points it wrote (the embedded default: line protocol on standard output;
//! the library's own log lines go to standard error).
//!
//! ```text
//! cargo run -p monitoring-examples --example quickstart
//! ```

use axum::{extract::Path, routing::get, Router};
use http::StatusCode;
use monitoring::{monitored, timed_field, Monitor, MonitoringLayer};

/// Its time goes to the `lookup_time` field of the request that calls it.
#[timed_field("lookup_time")]
async fn lookup(id: u32) -> Option<&'static str> {
    (id == 7).then_some("Ada")
}

/// The layer records every request; the attribute adds this handler's tag and timing.
#[monitored(route = "GET:/users/{id}")]
async fn user(Path(id): Path<u32>) -> (StatusCode, String) {
    monitoring::add_tag("user_kind", if id < 100 { "early" } else { "late" });
    match lookup(id).await {
        Some(name) => (StatusCode::OK, name.to_owned()),
        None => (StatusCode::NOT_FOUND, "no such user".to_owned()),
    }
}

#[tokio::main]
async fn main() {
    tracing_subscriber::fmt()
        .with_writer(std::io::stderr)
        .init();
    let monitor = Monitor::builder()
        .service("quickstart")
        .start()
        .expect("monitor");
    monitor.install_global();
    let app = Router::new()
        .route("/users/{id}", get(user))
        .layer(MonitoringLayer::new());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let base = format!("http://{}", listener.local_addr().expect("address"));
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let server = axum::serve(listener, app).with_graceful_shutdown(async {
        let _ = stopped.await;
    });
    let server = tokio::spawn(async move { server.await });
    for path in ["/users/7", "/users/8", "/nowhere"] {
        let status = reqwest::get(format!("{base}{path}"))
            .await
            .expect("GET")
            .status();
        eprintln!("GET {path}: {status}");
    }
    let _ = stop.send(());
    server.await.expect("server task").expect("server");
    // Writes everything recorded (three `requests` points, two `errors` points).
    let report = monitor.shutdown().await;
    eprintln!("monitoring shut down: complete = {}", report.complete);
}
