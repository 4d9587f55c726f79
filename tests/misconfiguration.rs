//! Misconfiguration is loud: no monitor installed, where the sinks write, a host that
//! is a URL, a config file without a `monitoring` section. (Its own test binary: the
//! no-monitor warning is once per process, and no test here installs or scopes one.)

mod common;

use common::logs::Logs;
use http::StatusCode;
use monitoring::{monitored, Config, Error, InfluxConfig, Monitor, Point};

#[monitored(route = "GET:/unmonitored")]
async fn handler() -> StatusCode {
    StatusCode::OK
}

#[tokio::test]
async fn monitored_code_without_a_monitor_warns_once() {
    let (logs, _guard) = Logs::capture();
    // Started but never installed: a common mistake.
    let monitor = Monitor::builder().without_config_sink().start().unwrap();
    handler().await;
    handler().await;
    monitoring::record(Point::new("m").with_field("f", 1i64));
    let warnings: Vec<String> = logs
        .all()
        .into_iter()
        .filter(|l| l.contains("no monitor installed"))
        .collect();
    assert_eq!(warnings.len(), 1, "{:?}", logs.all());
    assert!(warnings[0].starts_with("WARN "), "{warnings:?}");
    assert!(warnings[0].contains("install_global"), "{warnings:?}");
    assert_eq!(monitor.shutdown().await.stats.recorded, 0);
}

#[tokio::test]
async fn start_logs_each_sink_and_where_it_writes_never_a_secret() {
    let (logs, _guard) = Logs::capture();
    let dir = tempfile::tempdir().unwrap();
    let v2 = Monitor::builder()
        .influx(InfluxConfig::v2(
            "127.0.0.1",
            9,
            "org",
            "bucket",
            "s3cr3t-token",
        ))
        .start()
        .unwrap();
    let v1 = Monitor::builder()
        .influx(InfluxConfig::v1("localhost", 8086, "db").credentials("user", "pa55word"))
        .start()
        .unwrap();
    let file = Monitor::builder()
        .file(dir.path().join("points.lp"))
        .start()
        .unwrap();
    for m in [v2, v1, file] {
        m.shutdown().await;
    }
    let started: Vec<String> = logs
        .all()
        .into_iter()
        .filter(|l| l.contains("monitoring started"))
        .collect();
    assert_eq!(started.len(), 3, "{started:?}");
    assert!(started.iter().all(|l| l.starts_with("INFO ")));
    assert!(started[0].contains(
        "influx_v2 at http://127.0.0.1:9/api/v2/write?org=org&bucket=bucket&precision=ns"
    ));
    assert!(started[1].contains("influx_v1 at http://localhost:8086/write?db=db&precision=n"));
    assert!(started[2].contains(&format!(
        "file at {}",
        dir.path().join("points.lp").display()
    )));
    for line in logs.all() {
        assert!(!line.contains("s3cr3t") && !line.contains("pa55"), "{line}");
    }
}

fn key_of(result: Result<Config, Error>) -> String {
    match result.and_then(|c| c.validate().map(|()| c)) {
        Err(Error::Config { key, .. }) => key,
        other => panic!("expected a config error, got {other:?}"),
    }
}

#[test]
fn a_host_or_url_that_does_not_make_a_url_names_its_key() {
    let influx = |extra: &str| {
        Config::from_toml_str(&format!(
            "[monitoring.influx]\nversion = 1\ndatabase = \"d\"\n{extra}"
        ))
    };
    for host in [
        "http://127.0.0.1",
        "127.0.0.1/influx",
        "127.0.0.1:8086",
        "bad host",
    ] {
        assert_eq!(
            key_of(influx(&format!("host = \"{host}\""))),
            "monitoring.influx.host",
            "{host}"
        );
    }
    for url in [
        "127.0.0.1:8086",
        "ftp://127.0.0.1:8086",
        "http://",
        "http://user:pass@127.0.0.1:8086",
        "http://127.0.0.1:8086/?db=x",
    ] {
        assert_eq!(
            key_of(influx(&format!("url = \"{url}\""))),
            "monitoring.influx.url",
            "{url}"
        );
    }
    // What is checked at start is what the config validation checks.
    let err = Monitor::builder()
        .influx(InfluxConfig::v1("http://127.0.0.1", 8086, "d"))
        .start()
        .unwrap_err();
    assert!(err.to_string().contains("monitoring.influx.host"), "{err}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_url_key_reaches_a_real_influxdb() {
    let influx = common::Influx1::start().await;
    influx.create_db("by_url").await;
    let config = Config::from_toml_str(&format!(
        "[monitoring.influx]\nversion = 1\nurl = \"http://127.0.0.1:{}\"\ndatabase = \"by_url\"\n",
        influx.port
    ))
    .unwrap();
    config.validate().unwrap();
    let monitor = Monitor::from_config(config).unwrap();
    monitor.record(Point::at("m", 1_000).with_field("f", 1i64));
    let report = monitor.shutdown().await;
    assert!(report.complete, "{report:?}");
    assert_eq!(influx.count("by_url", "m", "f").await, 1);
}

#[test]
fn a_config_file_without_a_monitoring_section_says_where_points_go() {
    let (logs, _guard) = Logs::capture();
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("service.toml");
    std::fs::write(&path, "[other]\nx = 1\n").unwrap();
    let config = Config::load(&path).unwrap();
    assert_eq!(
        config.effective_storage_type(),
        monitoring::StorageType::Stdout
    );
    assert_eq!(logs.count("no `monitoring` section"), 1, "{:?}", logs.all());
    // With a section, nothing is said.
    std::fs::write(&path, "[monitoring]\nflushing_period = 2\n").unwrap();
    Config::load(&path).unwrap();
    assert_eq!(logs.count("no `monitoring` section"), 1);
}
