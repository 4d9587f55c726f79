//! The runtime's one error type.

use std::path::PathBuf;

/// Errors of the monitoring runtime. None of them ever carries a token or password.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// A configuration file could not be read.
    #[error("cannot read monitoring config file `{path}`")]
    ReadConfig {
        /// The file.
        path: PathBuf,
        /// Why.
        #[source]
        source: std::io::Error,
    },
    /// A configuration value is missing, malformed or out of range.
    #[error("invalid monitoring config: `{key}`: {message}")]
    Config {
        /// The dotted path of the offending key, e.g. `monitoring.influx.port`.
        key: String,
        /// What is wrong with it.
        message: String,
    },
    /// The monitor was started outside a tokio runtime.
    #[error("the monitor must be started inside a tokio runtime")]
    NoRuntime,
    /// The HTTP client could not be built (e.g. an unreadable CA certificate).
    #[error("cannot build the HTTP client for `{sink}`")]
    HttpClient {
        /// The sink.
        sink: &'static str,
        /// Why.
        #[source]
        source: reqwest::Error,
    },
    /// An output file could not be opened.
    #[error("cannot open monitoring output `{path}`")]
    Output {
        /// The file.
        path: PathBuf,
        /// Why.
        #[source]
        source: std::io::Error,
    },
    /// The spool directory could not be created, locked, read or written.
    #[error("cannot use the monitoring spool `{path}`")]
    Spool {
        /// The directory.
        path: PathBuf,
        /// Why.
        #[source]
        source: std::io::Error,
    },
    /// Another monitor (in this or another process) holds the spool directory.
    #[error("the monitoring spool `{path}` is in use by another monitor (its LOCK file is locked); give each monitor its own spool_dir")]
    SpoolLocked {
        /// The directory.
        path: PathBuf,
    },
}

impl Error {
    /// The error of the `i`-th of several tables named `table`: its key gets the index
    /// (`monitoring.influx.url` -> `monitoring.influx[1].url`).
    pub(crate) fn indexed(self, table: &str, i: usize) -> Self {
        match self {
            Error::Config { key, message } if key.starts_with(table) => Error::Config {
                key: format!("{table}[{i}]{}", &key[table.len()..]),
                message,
            },
            other => other,
        }
    }

    pub(crate) fn config(key: impl Into<String>, message: impl Into<String>) -> Self {
        Error::Config {
            key: key.into(),
            message: message.into(),
        }
    }
}
