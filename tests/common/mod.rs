//! Real servers for the integration tests: InfluxDB 1.6.7 and VictoriaMetrics, each
//! started by the test that needs it on a free 127.0.0.1 port with its own data
//! directory, and killed when dropped. `scripts/test.sh` installs them.
#![allow(dead_code, unreachable_pub)]

use std::net::TcpListener;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::Value;

fn run_dir() -> PathBuf {
    let base = std::env::var_os("MONITORING_TEST_RUN_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(std::env::temp_dir);
    let dir = tempfile::Builder::new()
        .prefix("srv")
        .tempdir_in(base)
        .expect("temp dir");
    dir.keep()
}

pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .expect("bind")
        .local_addr()
        .unwrap()
        .port()
}

/// True when `binary` is on PATH.
pub fn installed(binary: &str) -> bool {
    std::env::var_os("PATH")
        .is_some_and(|p| std::env::split_paths(&p).any(|d| d.join(binary).is_file()))
}

fn require(binary: &str) {
    let found = std::env::var_os("PATH")
        .map(|p| std::env::split_paths(&p).any(|d| d.join(binary).is_file()))
        .unwrap_or(false);
    assert!(
        found,
        "`{binary}` is not installed: run ./scripts/test.sh, which installs InfluxDB 1.6.7 and VictoriaMetrics"
    );
}

async fn wait_ready(url: &str, expect: u16) {
    let client = reqwest::Client::new();
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        if let Ok(r) = client.get(url).send().await {
            if r.status().as_u16() == expect {
                return;
            }
        }
        assert!(
            Instant::now() < deadline,
            "server at {url} did not become ready"
        );
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
}

/// An InfluxDB 1.6.7 process.
pub struct Influx1 {
    child: Option<Child>,
    dir: PathBuf,
    pub port: u16,
    client: reqwest::Client,
}

impl Influx1 {
    pub async fn start() -> Influx1 {
        require("influxd");
        let dir = run_dir();
        let port = free_port();
        let rpc = free_port();
        let config = format!(
            r#"reporting-enabled = false
bind-address = "127.0.0.1:{rpc}"
[meta]
  dir = "{d}/meta"
[data]
  dir = "{d}/data"
  wal-dir = "{d}/wal"
  query-log-enabled = false
[monitor]
  store-enabled = false
[http]
  bind-address = "127.0.0.1:{port}"
  auth-enabled = false
  log-enabled = false
  max-body-size = 0
[logging]
  suppress-logo = true
  level = "warn"
"#,
            d = dir.display()
        );
        std::fs::write(dir.join("influxdb.conf"), config).unwrap();
        let mut influx = Influx1 {
            child: None,
            dir,
            port,
            client: reqwest::Client::new(),
        };
        influx.spawn().await;
        influx
    }

    async fn spawn(&mut self) {
        let child = Command::new("influxd")
            .arg("run")
            .arg("-config")
            .arg(self.dir.join("influxdb.conf"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("start influxd");
        self.child = Some(child);
        wait_ready(&format!("{}/ping", self.url()), 204).await;
    }

    pub fn url(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    /// Kills the process (as a crash would): nothing listens on the port until `restart`.
    pub fn kill(&mut self) {
        if let Some(mut c) = self.child.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }

    /// Sends `signal` (`STOP`, `CONT`) to the process: a stopped server accepts
    /// connections (the kernel does) but answers nothing, as a hung one would.
    pub fn signal(&self, signal: &str) {
        let pid = self.child.as_ref().expect("running").id();
        let status = Command::new("kill")
            .arg(format!("-{signal}"))
            .arg(pid.to_string())
            .status()
            .expect("kill");
        assert!(status.success(), "kill -{signal} {pid}");
    }

    /// Starts the server again on the same port and data directory.
    pub async fn restart(&mut self) {
        self.kill();
        self.spawn().await;
    }

    pub async fn query(&self, db: &str, q: &str) -> Value {
        let r = self
            .client
            .post(format!("{}/query", self.url()))
            .query(&[("db", db), ("epoch", "ns"), ("q", q)])
            .send()
            .await
            .expect("query");
        let status = r.status();
        let body: Value = serde_json::from_str(&r.text().await.expect("body")).expect("json");
        assert!(status.is_success(), "query {q}: {status} {body}");
        // InfluxDB answers 200 with the statement's error inside: a wrong query must
        // never read as "nothing stored".
        for result in body["results"].as_array().into_iter().flatten() {
            assert!(result.get("error").is_none(), "query {q}: {result}");
        }
        body
    }

    pub async fn create_db(&self, db: &str) {
        self.query(db, &format!("CREATE DATABASE \"{db}\"")).await;
    }

    /// Rows of `SELECT * FROM <series>`, as column-name → value maps.
    pub async fn select(&self, db: &str, q: &str) -> Vec<serde_json::Map<String, Value>> {
        let body = self.query(db, q).await;
        let mut rows = Vec::new();
        for series in body["results"][0]["series"]
            .as_array()
            .into_iter()
            .flatten()
        {
            let columns: Vec<String> = series["columns"]
                .as_array()
                .unwrap()
                .iter()
                .map(|c| c.as_str().unwrap().to_owned())
                .collect();
            for values in series["values"].as_array().unwrap() {
                let mut row = serde_json::Map::new();
                for (c, v) in columns.iter().zip(values.as_array().unwrap()) {
                    row.insert(c.clone(), v.clone());
                }
                rows.push(row);
            }
        }
        rows
    }

    pub async fn count(&self, db: &str, series: &str, field: &str) -> u64 {
        let body = self
            .query(db, &format!("SELECT COUNT(\"{field}\") FROM \"{series}\""))
            .await;
        body["results"][0]["series"][0]["values"][0][1]
            .as_u64()
            .unwrap_or(0)
    }
}

impl Drop for Influx1 {
    fn drop(&mut self) {
        self.kill();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// A VictoriaMetrics process.
pub struct Victoria {
    child: Child,
    dir: PathBuf,
    pub port: u16,
    client: reqwest::Client,
}

impl Victoria {
    pub async fn start() -> Victoria {
        require("victoria-metrics");
        let dir = run_dir();
        let port = free_port();
        let child = Command::new("victoria-metrics")
            .arg(format!("-httpListenAddr=127.0.0.1:{port}"))
            .arg(format!("-storageDataPath={}/data", dir.display()))
            .arg("-retentionPeriod=100y")
            .arg("-search.latencyOffset=0s")
            .arg("-search.disableCache")
            .arg("-loggerLevel=ERROR")
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("start victoria-metrics");
        let vm = Victoria {
            child,
            dir,
            port,
            client: reqwest::Client::new(),
        };
        wait_ready(&format!("{}/health", vm.url()), 200).await;
        vm
    }

    pub fn url(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    /// Every stored series matching `selector`, after forcing a flush.
    pub async fn export(&self, selector: &str) -> Vec<Value> {
        self.client
            .get(format!("{}/internal/force_flush", self.url()))
            .send()
            .await
            .unwrap();
        let text = self
            .client
            .get(format!("{}/api/v1/export", self.url()))
            .query(&[("match[]", selector)])
            .send()
            .await
            .unwrap()
            .text()
            .await
            .unwrap();
        text.lines()
            .filter(|l| !l.trim().is_empty())
            .map(|l| serde_json::from_str(l).unwrap())
            .collect()
    }

    /// `vm_rows_invalid_total` from `/metrics`: lines it refused.
    pub async fn invalid_rows(&self) -> u64 {
        let text = self
            .client
            .get(format!("{}/metrics", self.url()))
            .send()
            .await
            .unwrap()
            .text()
            .await
            .unwrap();
        text.lines()
            .filter(|l| l.starts_with("vm_rows_invalid_total"))
            .filter_map(|l| l.rsplit(' ').next()?.parse::<u64>().ok())
            .sum()
    }
}

impl Drop for Victoria {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}
/// Waits until `done` holds, polling every 10 ms; panics with `what` after `limit`.
pub async fn wait_until(what: &str, limit: Duration, mut done: impl FnMut() -> bool) {
    let started = Instant::now();
    while !done() {
        assert!(started.elapsed() < limit, "timed out waiting for {what}");
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

/// The shutdown report tells the truth: `complete` only when every sink is settled
/// (`received + recovered = written + dropped + spooled`, nothing buffered).
pub fn assert_truthful(report: &monitoring::FlushReport) {
    if report.complete {
        for sink in &report.stats.sinks {
            assert!(sink.is_settled(), "complete, yet {sink:?}");
        }
    }
}

/// A monitor writing only to an in-memory capture, flushing every 20 ms.
pub fn capture_monitor() -> (monitoring::Monitor, monitoring::Capture) {
    let capture = monitoring::Capture::new();
    let monitor = monitoring::Monitor::builder()
        .without_config_sink()
        .capture(&capture)
        .flushing_period(Duration::from_millis(20))
        .start()
        .unwrap();
    (monitor, capture)
}

/// A LUNA-style failure: answered 400, error code 11027.
#[derive(Debug)]
pub struct LunaError;

impl monitoring::MonitoredError for LunaError {
    fn status_code(&self) -> u16 {
        400
    }
    fn error_code(&self) -> Option<monitoring::TagValue> {
        Some(11027u32.into())
    }
}

impl axum::response::IntoResponse for LunaError {
    fn into_response(self) -> axum::response::Response {
        (http::StatusCode::BAD_REQUEST, "bad image").into_response()
    }
}

pub mod boundary;
pub mod fault_server;
pub mod hostile;
pub mod logs;
