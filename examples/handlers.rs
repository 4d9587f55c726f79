//! The example service (`monitoring_examples`, shaped like luna-handlers), served.
//!
//! ```text
//! cargo run -p monitoring-examples --example handlers -- --demo     # embedded default
//! cargo run -p monitoring-examples --example handlers -- --config examples/monitoring-v2.toml
//! ```
//!
//! `--demo` starts the service on 127.0.0.1, sends it a mix of requests over real HTTP
//! (some failing), shuts down gracefully (everything flushed), writes the points as line
//! protocol to `--out` (default `monitoring-demo.lp`) and prints a per-route summary.
//! With `--config FILE` the points go where its `monitoring` section says (InfluxDB).
//! Without `--demo` it serves until SIGINT/SIGTERM, then flushes and exits.

use std::net::SocketAddr;
use std::path::PathBuf;

use monitoring::Config;
use monitoring_examples::{app, check_license, demo, start_monitor, summary};

async fn serve(config: Option<Config>, addr: SocketAddr) {
    let (monitor, _capture) = start_monitor(config, None);
    check_license();
    let listener = tokio::net::TcpListener::bind(addr).await.expect("bind");
    eprintln!("serving on http://{}", listener.local_addr().unwrap());
    axum::serve(listener, app())
        .with_graceful_shutdown(async {
            let mut term =
                tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())
                    .expect("signal");
            tokio::select! {
                _ = tokio::signal::ctrl_c() => {}
                _ = term.recv() => {}
            }
        })
        .await
        .expect("serve");
    let report = monitor.shutdown().await;
    eprintln!(
        "monitoring flushed: complete = {}, dropped = {:?}",
        report.complete,
        report.dropped()
    );
}

#[tokio::main]
async fn main() {
    // The library's own logs (start line, warnings, errors) on stderr; line protocol,
    // when it goes to stdout, stays alone there.
    tracing_subscriber::fmt()
        .with_writer(std::io::stderr)
        .with_max_level(tracing_subscriber::filter::LevelFilter::INFO)
        .init();
    let mut args = std::env::args().skip(1);
    let mut config = None;
    let mut demo_mode = false;
    let mut out = PathBuf::from("monitoring-demo.lp");
    let mut addr: SocketAddr = "127.0.0.1:5000".parse().unwrap();
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "--demo" => demo_mode = true,
            "--config" => {
                let path = args.next().expect("--config FILE");
                config = Some(Config::load(&path).unwrap_or_else(|e| {
                    eprintln!("error: {e}");
                    std::process::exit(2)
                }));
            }
            "--out" => out = PathBuf::from(args.next().expect("--out FILE")),
            "--listen" => {
                addr = args
                    .next()
                    .expect("--listen ADDR")
                    .parse()
                    .expect("address")
            }
            other => {
                eprintln!("unknown argument {other}; see the header of examples/handlers.rs");
                std::process::exit(2)
            }
        }
    }
    if !demo_mode {
        serve(config, addr).await;
        return;
    }
    let file = config.is_none().then(|| {
        let _ = std::fs::remove_file(&out);
        out.clone()
    });
    let (sent, capture, report) = demo(config, file.clone(), 50).await;
    let total: u64 = sent.requests.values().sum();
    let failed: u64 = sent.failed.values().sum();
    println!(
        "sent {total} requests ({failed} failing) over HTTP; monitoring flushed: complete = {}",
        report.complete
    );
    print!("{}", summary(&capture));
    if let Some(file) = file {
        println!(
            "{} points written as line protocol to {}",
            capture.len(),
            file.display()
        );
    }
    if report.dropped().total() > 0 {
        println!("dropped: {:?}", report.dropped());
    }
}
