//! Configuration: the `monitoring` section of a service's TOML or JSON config file.
//!
//! ```toml
//! [monitoring]
//! send_data_for_monitoring = true   # default true; false makes recording a no-op
//! storage_type = "influx"           # "influx" | "stdout" | "file"; default "influx" when
//!                                   # an [monitoring.influx] table is present, else "stdout"
//! flushing_period = 1               # seconds, default 1
//!
//! [monitoring.influx]
//! version = 2                       # 2 (/api/v2/write) or 1 (/write); default 2
//! host = "127.0.0.1"
//! port = 8086
//! organization = "luna"
//! bucket = "luna_monitoring"
//! token = "..."                     # or MONITORING_INFLUX_TOKEN
//! ```
//!
//! Every key and its default is listed on [`Config`] and [`InfluxConfig`]. Unknown keys
//! are errors, and every error names the key (`monitoring.influx.port`).
//!
//! | file | what it holds |
//! |---|---|
//! | `mod.rs` | [`Config`]: its keys, defaults, loading, environment overrides, validation |
//! | `influx.rs` | [`InfluxConfig`]: the connection, its URL and what logs may show of it |
//! | `secret.rs` | [`Secret`]: a token or password that never prints |
//! | `validate.rs` | every invariant, each error naming its key |
//! | `destinations.rs` | `influx` as one table or an array of tables |

mod destinations;
mod influx;
mod secret;
mod validate;

#[cfg(any(feature = "axum", feature = "actix"))]
pub(crate) use validate::route_parts;

pub(crate) use influx::redact_userinfo;
pub use influx::InfluxConfig;
pub use secret::Secret;

use std::path::{Path, PathBuf};
use std::time::Duration;

use serde::Deserialize;

use crate::error::Error;

/// Where points go.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum StorageType {
    /// InfluxDB, API version from `influx.version`.
    Influx,
    /// Line protocol on standard output (the embedded default).
    Stdout,
    /// Line protocol appended to the file named by `file`.
    File,
}

/// The `monitoring` section. All durations are seconds (floats allowed).
///
/// ```
/// use monitoring_runtime::{Config, StorageType};
///
/// let config = Config::from_toml_str(r#"
///     [monitoring]
///     flushing_period = 0.5
///     spool_dir = "/var/spool/luna-monitoring"
///
///     [monitoring.influx]
///     version = 1
///     host = "127.0.0.1"
///     port = 8086
///     database = "luna_monitoring"
/// "#).unwrap();
/// assert_eq!(config.effective_storage_type(), StorageType::Influx);
/// assert_eq!(config.influx[0].version, 1);
///
/// let err = Config::from_toml_str("[monitoring]\nflushing_perod = 1").unwrap_err();
/// assert!(err.to_string().contains("flushing_perod"));
/// ```
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields, default)]
#[non_exhaustive]
pub struct Config {
    /// Record and send points at all. Default `true`; `false` makes every
    /// instrumented call a near-free no-op.
    pub send_data_for_monitoring: bool,
    /// Where to send points; default `influx` when an `influx` table is given, else `stdout`.
    pub storage_type: Option<StorageType>,
    /// The `service` tag of every point. Default: for a request's points the crate
    /// name of its handler, for other points the executable's name.
    pub service: Option<String>,
    /// Seconds between flushes. Default `1`. Changeable at run time.
    pub flushing_period: f64,
    /// Use https for InfluxDB. Default `false`.
    pub use_ssl: bool,
    /// Lines per write request; a batch this big is flushed at once. Default `5000`.
    pub batch_size: usize,
    /// Points the request path can hand to the flusher between two flushes; beyond it
    /// the newest are dropped and counted. Default `65536`.
    pub queue_capacity: usize,
    /// Points each sink keeps while its database is down or slow; beyond it the oldest
    /// are dropped and counted. Default `500000`.
    pub max_buffered_points: usize,
    /// Bytes of encoded lines each sink keeps (same policy). Default `268435456` (256 MiB).
    pub max_buffered_bytes: usize,
    /// gzip level of request bodies, 0 (off) to 9. Default (unset): `1` (the fastest)
    /// for a remote server, off for a loopback one (`localhost`, `127.0.0.0/8`, `::1`),
    /// where compressing only costs CPU.
    pub gzip_level: Option<u32>,
    /// Timeout of one write request. Default `10`.
    pub request_timeout: f64,
    /// First retry delay (doubled each retry, with jitter). Default `1`.
    pub retry_initial_delay: f64,
    /// Longest delay between retries. Default `30`.
    pub retry_max_delay: f64,
    /// How long one batch is retried before it is dropped. Default `180`.
    pub max_retry_time: f64,
    /// How long `shutdown()` may take to write what is buffered; it returns within
    /// this (plus at most 60 ms), every point written or counted. Default `10`.
    pub shutdown_timeout: f64,
    /// Output file for `storage_type = "file"`.
    pub file: Option<PathBuf>,
    /// Extra PEM root certificate for https (self-signed servers).
    pub ca_cert: Option<PathBuf>,
    /// Directory of the disk buffer of the InfluxDB sink: what it cannot deliver
    /// (outage, shutdown, memory bound) is kept there and delivered later, also by the
    /// next process with the same `spool_dir`. Default: none (memory only).
    pub spool_dir: Option<PathBuf>,
    /// Bytes the spool may hold; beyond it the oldest segments are dropped and
    /// counted. Default `1073741824` (1 GiB).
    pub max_spool_bytes: u64,
    /// Seconds between the monitor's health points (one per sink in the series
    /// `monitoring`: written, dropped by reason, buffered, spooled, retries, queue
    /// depth). Default: none (off).
    pub stats_period: Option<f64>,
    /// Routes the boundary adapters leave out, as recorded (`METHOD:/template`, e.g.
    /// `GET:/health`), for `MonitoringLayer::from_config` and
    /// `actix::Monitoring::from_config`. Default: none.
    pub skip_routes: Vec<String>,
    /// Request headers whose values become tags of the request's points, header name to
    /// tag key (`{ "x-tenant-id" = "tenant" }`), bounded as `tag_from_header` says; for
    /// the adapters' `from_config`. Default: none.
    pub header_tags: std::collections::BTreeMap<String, String>,
    /// The InfluxDB destinations: one `[monitoring.influx]` table, or several
    /// `[[monitoring.influx]]` (every point goes to each, each with its own buffer, spool
    /// subdirectory and stats: a migration, or two stores). Default: none.
    #[serde(deserialize_with = "destinations::one_or_many")]
    pub influx: Vec<InfluxConfig>,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            send_data_for_monitoring: true,
            storage_type: None,
            service: None,
            flushing_period: 1.0,
            use_ssl: false,
            batch_size: 5000,
            queue_capacity: 65_536,
            max_buffered_points: 500_000,
            max_buffered_bytes: 256 << 20,
            gzip_level: None,
            request_timeout: 10.0,
            retry_initial_delay: 1.0,
            retry_max_delay: 30.0,
            max_retry_time: 180.0,
            shutdown_timeout: 10.0,
            file: None,
            ca_cert: None,
            spool_dir: None,
            max_spool_bytes: 1 << 30,
            stats_period: None,
            skip_routes: Vec::new(),
            header_tags: std::collections::BTreeMap::new(),
            influx: Vec::new(),
        }
    }
}

#[derive(Deserialize)]
struct ServiceFile {
    monitoring: Option<Config>,
}

impl Config {
    /// Loads the `monitoring` section of a `.toml` or `.json` file (other sections are
    /// ignored), applies the environment overrides and validates it.
    pub fn load(path: impl AsRef<Path>) -> Result<Config, Error> {
        Config::load_with_env(path, |name| std::env::var(name).ok())
    }

    /// [`Config::load`] with the environment overrides read through `env` (a variable's
    /// name to its value) instead of the process environment: for tests, and for
    /// services that take their secrets from elsewhere.
    pub fn load_with_env(
        path: impl AsRef<Path>,
        env: impl Fn(&str) -> Option<String>,
    ) -> Result<Config, Error> {
        let path = path.as_ref();
        let text = std::fs::read_to_string(path).map_err(|source| Error::ReadConfig {
            path: path.to_owned(),
            source,
        })?;
        let section = if path.extension().is_some_and(|e| e == "json") {
            Config::json_section(&text)?
        } else {
            Config::toml_section(&text)?
        };
        if section.is_none() {
            tracing::warn!(
                target: "monitoring",
                path = %path.display(),
                "the config file has no `monitoring` section: points go as line protocol to \
                 standard output, mixed with the service's output (add a [monitoring] \
                 section to send them elsewhere)"
            );
        }
        let mut config = section.unwrap_or_default();
        config.apply_env_from(env);
        config.validate()?;
        Ok(config)
    }

    /// Parses the `monitoring` section of a TOML document (defaults without one).
    pub fn from_toml_str(text: &str) -> Result<Config, Error> {
        Ok(Config::toml_section(text)?.unwrap_or_default())
    }

    /// Parses the `monitoring` section of a JSON document (defaults without one).
    pub fn from_json_str(text: &str) -> Result<Config, Error> {
        Ok(Config::json_section(text)?.unwrap_or_default())
    }

    fn toml_section(text: &str) -> Result<Option<Config>, Error> {
        let de = toml::Deserializer::parse(text)
            .map_err(|e| Error::config("(the file)", e.message().to_owned()))?;
        serde_path_to_error::deserialize::<_, ServiceFile>(de)
            .map(|f| f.monitoring)
            .map_err(|e| {
                let key = e.path().to_string();
                Error::config(key, e.into_inner().message().to_owned())
            })
    }

    fn json_section(text: &str) -> Result<Option<Config>, Error> {
        let mut de = serde_json::Deserializer::from_str(text);
        serde_path_to_error::deserialize::<_, ServiceFile>(&mut de)
            .map(|f| f.monitoring)
            .map_err(|e| {
                let key = e.path().to_string();
                Error::config(key, e.into_inner().to_string())
            })
    }

    /// Applies `MONITORING_INFLUX_TOKEN`, `MONITORING_INFLUX_USERNAME` and
    /// `MONITORING_INFLUX_PASSWORD`, so that secrets need not live in files.
    pub fn apply_env(&mut self) {
        self.apply_env_from(|name| std::env::var(name).ok());
    }

    fn apply_env_from(&mut self, env: impl Fn(&str) -> Option<String>) {
        let token = env("MONITORING_INFLUX_TOKEN");
        let user = env("MONITORING_INFLUX_USERNAME");
        let password = env("MONITORING_INFLUX_PASSWORD");
        if token.is_none() && user.is_none() && password.is_none() {
            return;
        }
        // The first destination's (the others name their own secrets).
        if self.influx.is_empty() {
            self.influx.push(InfluxConfig::default());
        }
        let influx = &mut self.influx[0];
        if let Some(t) = token {
            influx.token = Secret::new(t);
        }
        if let Some(u) = user {
            influx.username = Some(u);
        }
        if let Some(p) = password {
            influx.password = Secret::new(p);
        }
    }

    /// The storage type in effect (see [`Config::storage_type`]).
    pub fn effective_storage_type(&self) -> StorageType {
        self.storage_type.unwrap_or(if !self.influx.is_empty() {
            StorageType::Influx
        } else {
            StorageType::Stdout
        })
    }

    pub(crate) fn duration(seconds: f64) -> Duration {
        Duration::from_secs_f64(seconds)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secrets_are_redacted() {
        let c = InfluxConfig::v2("h", 1, "o", "b", "s3cr3t-token").credentials("u", "pa55");
        let shown = format!("{c:?}");
        assert!(
            !shown.contains("s3cr3t") && !shown.contains("pa55"),
            "{shown}"
        );
    }

    #[test]
    fn urls_with_credentials_are_refused_without_echoing_them() {
        for url in [
            "http://:s3cr3t@h:8086",
            "http://user:s3cr3t@h:8086",
            "http://s3cr3t@h:8086/prefix",
            "https://u:s3cr3t@h",
            "http://u:s3 cr3t@h:8086",
        ] {
            let mut c = InfluxConfig::v1("h", 1, "db").with_url(url);
            c.create_database = false;
            let e = c.validate().unwrap_err().to_string();
            assert!(e.contains("monitoring.influx.url"), "{e}");
            assert!(!e.contains("s3cr3t") && !e.contains("s3 cr3t"), "{e}");
            let shown = format!("{c:?}");
            assert!(
                !shown.contains("s3cr3t") && !shown.contains("s3 cr3t"),
                "{shown}"
            );
        }
        assert_eq!(redact_userinfo("http://a:b@h/x@y"), "http://***@h/x@y");
        assert_eq!(redact_userinfo("http://h:1/p"), "http://h:1/p");
        assert_eq!(redact_userinfo("h@x"), "h@x");
    }

    #[test]
    fn limits_name_their_key() {
        for (toml, key) in [
            ("flushing_period = 1e-10", "flushing_period"),
            ("flushing_period = 0.0009", "flushing_period"),
            ("max_buffered_bytes = 65535", "max_buffered_bytes"),
            ("queue_capacity = 16777217", "queue_capacity"),
        ] {
            let c = Config::from_toml_str(&format!("[monitoring]\n{toml}\n")).unwrap();
            let e = c.validate().unwrap_err().to_string();
            assert!(e.contains(&format!("monitoring.{key}")), "{toml}: {e}");
        }
        let ok = "[monitoring]\nflushing_period = 0.001\nmax_buffered_bytes = 65536\nqueue_capacity = 16777216\n";
        Config::from_toml_str(ok).unwrap().validate().unwrap();
    }

    #[test]
    fn defaults_and_keys() {
        let c =
            Config::from_toml_str("[other]\nx = 1\n[monitoring]\nflushing_period = 2\n").unwrap();
        assert_eq!(c.flushing_period, 2.0);
        assert_eq!(c.effective_storage_type(), StorageType::Stdout);
        let e = Config::from_toml_str("[monitoring.influx]\nport = \"x\"\n").unwrap_err();
        assert!(e.to_string().contains("monitoring.influx.port"), "{e}");
    }
}
