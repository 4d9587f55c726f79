//! Configuration: good files load; each bad key gives its own clear error naming it.

use std::io::Write;

use monitoring::{Config, Error, StorageType};

fn file(ext: &str, text: &str) -> tempfile::NamedTempFile {
    let mut f = tempfile::Builder::new().suffix(ext).tempfile().unwrap();
    f.write_all(text.as_bytes()).unwrap();
    f
}

const GOOD_TOML: &str = r#"
[service]
port = 5000

[monitoring]
send_data_for_monitoring = true
storage_type = "influx"
flushing_period = 2.5
use_ssl = false
service = "luna-handlers"

[monitoring.influx]
version = 2
host = "127.0.0.1"
port = 8086
organization = "luna"
bucket = "luna_monitoring"
token = "very-secret-token"
"#;

#[test]
fn good_toml_loads_with_defaults() {
    let f = file(".toml", GOOD_TOML);
    let c = Config::load_with_env(f.path(), |_| None).unwrap();
    assert_eq!(c.flushing_period, 2.5);
    assert_eq!(c.batch_size, 5000);
    assert_eq!(c.gzip_level, None);
    assert_eq!(c.effective_storage_type(), StorageType::Influx);
    let influx = &c.influx[0];
    assert_eq!(influx.bucket, "luna_monitoring");
    assert_eq!(influx.token.expose(), "very-secret-token");
    assert!(!format!("{c:?}").contains("very-secret-token"));
}

#[test]
fn good_json_loads() {
    let f = file(
        ".json",
        r#"{"monitoring": {"storage_type": "influx", "influx": {"version": 1, "database": "luna", "username": "u", "password": "p4ss"}}}"#,
    );
    let c = Config::load_with_env(f.path(), |_| None).unwrap();
    let influx = &c.influx[0];
    assert_eq!((influx.version, influx.database.as_str()), (1, "luna"));
    assert!(!format!("{c:?}").contains("p4ss"));
}

#[test]
fn no_section_means_stdout() {
    let c = Config::from_toml_str("[other]\na = 1\n").unwrap();
    c.validate().unwrap();
    assert_eq!(c.effective_storage_type(), StorageType::Stdout);
}

fn key_of(text: &str) -> (String, String) {
    let result = Config::from_toml_str(text).and_then(|c| c.validate().map(|_| c));
    match result {
        Err(Error::Config { key, message }) => (key, message),
        other => panic!("expected a config error for {text:?}, got {other:?}"),
    }
}

#[test]
// A table of bad keys and the key each error must name.
#[allow(clippy::too_many_lines)]
fn each_bad_key_names_itself() {
    let cases: &[(&str, &str, &str)] = &[
        (
            "[monitoring]\nflushing_perod = 1\n",
            "monitoring.flushing_perod",
            "unknown field `flushing_perod`",
        ),
        (
            "[monitoring]\nflushing_period = \"soon\"\n",
            "monitoring.flushing_period",
            "invalid type",
        ),
        (
            "[monitoring]\nflushing_period = 0\n",
            "monitoring.flushing_period",
            "positive",
        ),
        (
            "[monitoring]\nflushing_period = -1\n",
            "monitoring.flushing_period",
            "positive",
        ),
        (
            "[monitoring]\nbatch_size = 0\n",
            "monitoring.batch_size",
            "at least 1",
        ),
        (
            "[monitoring]\ngzip_level = 12\n",
            "monitoring.gzip_level",
            "0 (off) to 9",
        ),
        (
            "[monitoring]\nstorage_type = \"kafka\"\n",
            "monitoring.storage_type",
            "unknown variant",
        ),
        (
            "[monitoring]\nstorage_type = \"file\"\n",
            "monitoring.file",
            "required",
        ),
        (
            "[monitoring]\nstorage_type = \"influx\"\n",
            "monitoring.influx",
            "required",
        ),
        (
            "[monitoring]\nsend_data_for_monitoring = \"yes\"\n",
            "monitoring.send_data_for_monitoring",
            "invalid type",
        ),
        (
            "[monitoring]\nmax_buffered_points = 10\n",
            "monitoring.max_buffered_points",
            "at least batch_size",
        ),
        (
            "[monitoring.influx]\nport = 70000\n",
            "monitoring.influx.port",
            "invalid value",
        ),
        (
            "[monitoring.influx]\nport = 0\nbucket=\"b\"\norganization=\"o\"\ntoken=\"t\"\n",
            "monitoring.influx.port",
            "must not be 0",
        ),
        (
            "[monitoring.influx]\nversion = 4\n",
            "monitoring.influx.version",
            "must be 1, 2 or 3",
        ),
        (
            "[monitoring.influx]\nbucket = \"b\"\ntoken = \"t\"\n",
            "monitoring.influx.organization",
            "required",
        ),
        (
            "[monitoring.influx]\norganization = \"o\"\ntoken = \"t\"\n",
            "monitoring.influx.bucket",
            "required",
        ),
        (
            "[monitoring.influx]\norganization = \"o\"\nbucket = \"b\"\n",
            "monitoring.influx.token",
            "required",
        ),
        (
            "[monitoring.influx]\nversion = 1\n",
            "monitoring.influx.database",
            "required",
        ),
        (
            "[monitoring.influx]\nhots = \"x\"\n",
            "monitoring.influx.hots",
            "unknown field `hots`",
        ),
    ];
    for (text, key, message) in cases {
        let (got_key, got_message) = key_of(text);
        assert_eq!(&got_key, key, "{text:?}: {got_message}");
        assert!(got_message.contains(message), "{text:?}: {got_message}");
        let shown = Error::Config {
            key: got_key,
            message: got_message,
        }
        .to_string();
        assert!(shown.contains(key), "{shown}");
    }
}

#[test]
fn unreadable_file_is_a_clear_error() {
    let e = Config::load("/nonexistent/monitoring.toml").unwrap_err();
    assert!(
        e.to_string().contains("/nonexistent/monitoring.toml"),
        "{e}"
    );
}

/// The three environment overrides, read through an injected lookup: no test of this
/// binary touches the process environment, and a developer's exported variables
/// change nothing here.
#[test]
fn env_overrides_secrets() {
    let env = |name: &str| match name {
        "MONITORING_INFLUX_TOKEN" => Some("token-from-env".to_owned()),
        "MONITORING_INFLUX_USERNAME" => Some("user-from-env".to_owned()),
        "MONITORING_INFLUX_PASSWORD" => Some("password-from-env".to_owned()),
        _ => None,
    };
    let f = file(".toml", GOOD_TOML);
    let c = Config::load_with_env(f.path(), env).unwrap();
    let influx = &c.influx[0];
    assert_eq!(influx.token.expose(), "token-from-env");
    assert_eq!(influx.username.as_deref(), Some("user-from-env"));
    assert_eq!(influx.password.expose(), "password-from-env");
    // Without them, the file's values.
    let c = Config::load_with_env(f.path(), |_| None).unwrap();
    let influx = &c.influx[0];
    assert_eq!(influx.token.expose(), "very-secret-token");
    assert_eq!(
        (influx.username.as_deref(), influx.password.is_empty()),
        (None, true)
    );
}

#[test]
fn the_sample_configs_load() {
    for (file, version) in [
        ("examples/monitoring-v2.toml", 2),
        ("examples/monitoring-v1.toml", 1),
    ] {
        let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join(file);
        let config = Config::load(&path).unwrap_or_else(|e| panic!("{file}: {e}"));
        assert_eq!(
            config.effective_storage_type(),
            StorageType::Influx,
            "{file}"
        );
        assert_eq!(config.service.as_deref(), Some("luna-handlers"), "{file}");
        let influx = &config.influx[0];
        assert_eq!(influx.version, version, "{file}");
        assert_eq!(
            influx.url.as_deref(),
            Some("http://127.0.0.1:8086"),
            "{file}"
        );
    }
}

/// Every default of the README's configuration tables, from an empty section.
#[test]
fn every_default_is_the_documented_one() {
    let c = Config::from_toml_str("[monitoring]\n[monitoring.influx]\n").unwrap();
    assert!(c.send_data_for_monitoring);
    assert_eq!(c.storage_type, None);
    assert_eq!(c.effective_storage_type(), StorageType::Influx);
    assert_eq!(c.service, None);
    assert_eq!(c.flushing_period, 1.0);
    assert!(!c.use_ssl);
    assert_eq!(c.batch_size, 5000);
    assert_eq!(c.queue_capacity, 65_536);
    assert_eq!(c.max_buffered_points, 500_000);
    assert_eq!(c.max_buffered_bytes, 268_435_456);
    assert_eq!(c.gzip_level, None);
    assert_eq!(c.request_timeout, 10.0);
    assert_eq!(c.retry_initial_delay, 1.0);
    assert_eq!(c.retry_max_delay, 30.0);
    assert_eq!(c.max_retry_time, 180.0);
    assert_eq!(c.shutdown_timeout, 10.0);
    assert_eq!(
        (c.file.as_ref(), c.ca_cert.as_ref(), c.spool_dir.as_ref()),
        (None, None, None)
    );
    assert_eq!(c.max_spool_bytes, 1_073_741_824);
    let i = c.influx[0].clone();
    assert_eq!(i.version, 2);
    assert_eq!(i.url, None);
    assert_eq!((i.host.as_str(), i.port), ("127.0.0.1", 8086));
    assert_eq!((i.organization.as_str(), i.bucket.as_str()), ("", ""));
    assert!(i.token.is_empty() && i.password.is_empty());
    assert_eq!(
        (i.database.as_str(), i.retention_policy, i.username),
        ("", None, None)
    );
    assert!(i.create_database);
    // Without an influx table: stdout.
    let c = Config::from_toml_str("[monitoring]\n").unwrap();
    assert_eq!(c.effective_storage_type(), StorageType::Stdout);
}

/// `skip_routes` and `header_tags`: parsed, and each malformed entry refused with its key.
#[test]
fn boundary_controls_from_the_config() {
    let c = Config::from_toml_str(
        "[monitoring]\nskip_routes = [\"GET:/health\", \"POST:/grpc.health.v1.Health/Check\"]\n\
         [monitoring.header_tags]\n\"x-tenant-id\" = \"tenant\"\n",
    )
    .unwrap();
    c.validate().unwrap();
    assert_eq!(c.skip_routes.len(), 2);
    assert_eq!(c.header_tags["x-tenant-id"], "tenant");
    for (toml, key) in [
        (
            "skip_routes = [\"GET:/ok\", \"/health\"]",
            "monitoring.skip_routes[1]",
        ),
        (
            "skip_routes = [\"get:/health\"]",
            "monitoring.skip_routes[0]",
        ),
        (
            "[monitoring.header_tags]\n\"bad header\" = \"t\"",
            "monitoring.header_tags.bad header",
        ),
        (
            "[monitoring.header_tags]\n\"x-t\" = \"_t\"",
            "monitoring.header_tags.x-t",
        ),
    ] {
        let c = Config::from_toml_str(&format!("[monitoring]\n{toml}\n")).unwrap();
        let e = c.validate().unwrap_err().to_string();
        assert!(e.contains(key), "{toml}: {e}");
    }
}

/// `urls`: several endpoints, each checked as `url` is (its key and index named, no
/// credentials echoed); not together with `url`.
#[test]
fn several_endpoints_are_checked_one_by_one() {
    let ok = "[monitoring.influx]\nversion = 1\ndatabase = \"d\"\nurls = [\"http://a:8086\", \"https://b:8086/prefix\"]\n";
    let c = Config::from_toml_str(ok).unwrap();
    c.validate().unwrap();
    assert_eq!(c.influx[0].urls.len(), 2);
    for (toml, key) in [
        (
            "urls = [\"http://a:8086\", \"http://u:s3cret@b:8086\"]",
            "monitoring.influx.urls[1]",
        ),
        ("urls = [\"ftp://a\"]", "monitoring.influx.urls[0]"),
        (
            "url = \"http://a:8086\"\nurls = [\"http://b:8086\"]",
            "monitoring.influx.urls",
        ),
    ] {
        let text = format!("[monitoring.influx]\nversion = 1\ndatabase = \"d\"\n{toml}\n");
        let e = Config::from_toml_str(&text)
            .unwrap()
            .validate()
            .unwrap_err()
            .to_string();
        assert!(e.contains(key) && !e.contains("s3cret"), "{toml}: {e}");
    }
}

/// `[[monitoring.influx]]`: several destinations, read in order; a single table still
/// works; a mistake in the second names its index.
#[test]
fn several_destinations_load_and_errors_name_their_index() {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("examples/monitoring-two-destinations.toml");
    let config = Config::load_with_env(&path, |_| None).unwrap();
    assert_eq!(config.effective_storage_type(), StorageType::Influx);
    assert_eq!(config.influx.len(), 2);
    assert_eq!((config.influx[0].version, config.influx[1].version), (1, 2));
    assert_eq!(config.influx[1].urls.len(), 2);
    assert_eq!(config.stats_period, Some(10.0));
    let bad = "[[monitoring.influx]]\nversion = 1\ndatabase = \"a\"\n\
               [[monitoring.influx]]\nversion = 2\nbucket = \"b\"\ntoken = \"t\"\n";
    let e = Config::from_toml_str(bad)
        .unwrap()
        .validate()
        .unwrap_err()
        .to_string();
    assert!(e.contains("monitoring.influx[1].organization"), "{e}");
    let typo = "[[monitoring.influx]]\nversion = 1\ndatabse = \"a\"\n";
    let e = Config::from_toml_str(typo).unwrap_err().to_string();
    assert!(e.contains("databse"), "{e}");
}
