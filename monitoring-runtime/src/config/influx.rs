//! The `monitoring.influx` table: where the InfluxDB server is and how to reach it, and
//! what logs, errors and `Debug` may show of its URL.

use std::fmt;

use serde::Deserialize;

use super::Secret;
use crate::error::Error;

/// The `monitoring.influx` table. Its `Debug` shows no secret: the token and password
/// are redacted, and so is any `user:password@` in `url`.
#[derive(Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
#[non_exhaustive]
pub struct InfluxConfig {
    /// API version: `2` (`/api/v2/write`, token), `1` (`/write`, user/password) or `3`
    /// (InfluxDB 3's `/api/v3/write_lp`, bearer token if any). Default `2`.
    pub version: u8,
    /// `http(s)://host:port` of the server, as InfluxDB's own clients and the
    /// luna-handlers' settings take it; when set, `host`, `port` and `use_ssl` are not used.
    /// A path after the port is kept as a prefix (a server behind a proxy).
    pub url: Option<String>,
    /// Several endpoints of one destination (InfluxDB Enterprise data nodes, the
    /// `vminsert` nodes of a VictoriaMetrics cluster), each as `url` takes it: each batch
    /// goes to one of them, in turn, and to the next at once when one fails. Instead of
    /// `url`. Default: none.
    pub urls: Vec<String>,
    /// Host name or address (no scheme, no port). Default `127.0.0.1`.
    pub host: String,
    /// Port. Default `8086`.
    pub port: u16,
    /// 2.x organization (required for version 2).
    pub organization: String,
    /// 2.x bucket (required for version 2).
    pub bucket: String,
    /// 2.x token (required for version 2); env `MONITORING_INFLUX_TOKEN` overrides it.
    pub token: Secret,
    /// 1.x and 3 database (required for versions 1 and 3).
    pub database: String,
    /// 1.x retention policy; default: the database's default.
    pub retention_policy: Option<String>,
    /// 1.x user; env `MONITORING_INFLUX_USERNAME` overrides it.
    pub username: Option<String>,
    /// 1.x password; env `MONITORING_INFLUX_PASSWORD` overrides it.
    pub password: Secret,
    /// 1.x: send `CREATE DATABASE` once at start and again at the first "database not
    /// found" answer, as Telegraf does. A user without the right gets one WARN and
    /// nothing else changes. Default `true`.
    pub create_database: bool,
}

impl fmt::Debug for InfluxConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("InfluxConfig")
            .field("version", &self.version)
            .field("url", &self.url.as_deref().map(redact_userinfo))
            .field(
                "urls",
                &self
                    .urls
                    .iter()
                    .map(|u| redact_userinfo(u))
                    .collect::<Vec<_>>(),
            )
            .field("host", &self.host)
            .field("port", &self.port)
            .field("organization", &self.organization)
            .field("bucket", &self.bucket)
            .field("token", &self.token)
            .field("database", &self.database)
            .field("retention_policy", &self.retention_policy)
            .field("username", &self.username)
            .field("password", &self.password)
            .field("create_database", &self.create_database)
            .finish()
    }
}

/// `text` (a URL, maybe malformed) with whatever stands between `://` and the last
/// `@` of its authority replaced by `***`: what logs, errors and `Debug` show of it.
pub(crate) fn redact_userinfo(text: &str) -> String {
    let Some(start) = text.find("://").map(|i| i + 3) else {
        return text.to_owned();
    };
    let rest = &text[start..];
    let authority_end = rest.find(['/', '?', '#']).unwrap_or(rest.len());
    match rest[..authority_end].rfind('@') {
        Some(at) => format!("{}***{}", &text[..start], &rest[at..]),
        None => text.to_owned(),
    }
}

impl Default for InfluxConfig {
    fn default() -> Self {
        InfluxConfig {
            version: 2,
            url: None,
            urls: Vec::new(),
            host: "127.0.0.1".into(),
            port: 8086,
            organization: String::new(),
            bucket: String::new(),
            token: Secret::default(),
            database: String::new(),
            retention_policy: None,
            username: None,
            password: Secret::default(),
            create_database: true,
        }
    }
}

impl InfluxConfig {
    /// An InfluxDB 2.x connection.
    pub fn v2(
        host: impl Into<String>,
        port: u16,
        organization: impl Into<String>,
        bucket: impl Into<String>,
        token: impl Into<String>,
    ) -> Self {
        InfluxConfig {
            version: 2,
            host: host.into(),
            port,
            organization: organization.into(),
            bucket: bucket.into(),
            token: Secret::new(token),
            ..InfluxConfig::default()
        }
    }

    /// An InfluxDB 1.x connection without credentials.
    pub fn v1(host: impl Into<String>, port: u16, database: impl Into<String>) -> Self {
        InfluxConfig {
            version: 1,
            host: host.into(),
            port,
            database: database.into(),
            ..InfluxConfig::default()
        }
    }

    /// An InfluxDB 3 connection (`/api/v3/write_lp`); an empty token sends no
    /// `Authorization` header.
    pub fn v3(
        host: impl Into<String>,
        port: u16,
        database: impl Into<String>,
        token: impl Into<String>,
    ) -> Self {
        InfluxConfig {
            version: 3,
            host: host.into(),
            port,
            database: database.into(),
            token: Secret::new(token),
            ..InfluxConfig::default()
        }
    }

    /// Sets 1.x credentials.
    pub fn credentials(mut self, username: impl Into<String>, password: impl Into<String>) -> Self {
        self.username = Some(username.into());
        self.password = Secret::new(password);
        self
    }

    /// Sets several endpoints of the destination (see [`InfluxConfig::urls`]).
    pub fn with_urls<I>(mut self, urls: I) -> Self
    where
        I: IntoIterator,
        I::Item: Into<String>,
    {
        self.urls = urls.into_iter().map(Into::into).collect();
        self
    }

    /// Sets the server's `http(s)://host:port` (see [`InfluxConfig::url`]).
    pub fn with_url(mut self, url: impl Into<String>) -> Self {
        self.url = Some(url.into());
        self
    }

    /// Whether a 1.x sink sends `CREATE DATABASE` (see [`InfluxConfig::create_database`]).
    pub fn with_create_database(mut self, create: bool) -> Self {
        self.create_database = create;
        self
    }

    /// Sets the 1.x retention policy.
    pub fn retention_policy(mut self, rp: impl Into<String>) -> Self {
        self.retention_policy = Some(rp.into());
        self
    }
}

impl InfluxConfig {
    pub(super) fn validate(&self) -> Result<(), Error> {
        let required = |key: &str, v: &str| {
            if v.trim().is_empty() {
                Err(Error::config(
                    format!("monitoring.influx.{key}"),
                    format!("is required for InfluxDB version {}", self.version),
                ))
            } else {
                Ok(())
            }
        };
        if !self.urls.is_empty() && self.url.is_some() {
            return Err(Error::config(
                "monitoring.influx.urls",
                "give either `url` or `urls`, not both",
            ));
        }
        match &self.url {
            _ if !self.urls.is_empty() => {
                self.base_urls(false)?;
            }
            Some(url) => {
                self.base_url(false)?;
                required("url", url)?;
            }
            None => {
                required("host", &self.host)?;
                if self.port == 0 {
                    return Err(Error::config("monitoring.influx.port", "must not be 0"));
                }
                self.base_url(false)?;
            }
        }
        match self.version {
            2 => {
                required("organization", &self.organization)?;
                required("bucket", &self.bucket)?;
                required("token", self.token.expose())
            }
            1 | 3 => required("database", &self.database),
            v => Err(Error::config(
                "monitoring.influx.version",
                format!("must be 1, 2 or 3, got {v}"),
            )),
        }
    }
}

impl InfluxConfig {
    /// The server's base URL (no trailing `/`): `url`, else `host`, `port` and
    /// `use_ssl`. An error names the key that does not make a URL.
    pub(crate) fn base_url(&self, use_ssl: bool) -> Result<reqwest::Url, Error> {
        if let Some(text) = &self.url {
            return parse_url("monitoring.influx.url", text);
        }
        self.host_url(use_ssl)
    }

    /// The destination's endpoints: `urls`, else the one [`InfluxConfig::base_url`].
    pub(crate) fn base_urls(&self, use_ssl: bool) -> Result<Vec<reqwest::Url>, Error> {
        if self.urls.is_empty() {
            return Ok(vec![self.base_url(use_ssl)?]);
        }
        (self.urls.iter().enumerate())
            .map(|(i, text)| parse_url(&format!("monitoring.influx.urls[{i}]"), text))
            .collect()
    }
}

/// `text` as an endpoint URL; an error names `key` and shows no credentials.
fn parse_url(key: &str, text: &str) -> Result<reqwest::Url, Error> {
    let shown = redact_userinfo(text);
    let bad = |why: &str| {
        Error::config(
            key,
            format!("must be http(s)://host[:port][/prefix], got `{shown}`: {why}"),
        )
    };
    if shown != *text {
        return Err(bad(
            "no credentials in the URL (they go in username/password or token)",
        ));
    }
    let url = reqwest::Url::parse(text.trim()).map_err(|e| bad(&e.to_string()))?;
    if !matches!(url.scheme(), "http" | "https") {
        return Err(bad("the scheme must be http or https"));
    }
    if url.host_str().is_none_or(str::is_empty) {
        return Err(bad("no host"));
    }
    let userinfo = !url.username().is_empty() || url.password().is_some();
    if url.query().is_some() || url.fragment().is_some() || userinfo {
        return Err(bad(
            "no query, fragment or credentials (credentials go in username/password or token)",
        ));
    }
    Ok(url)
}

impl InfluxConfig {
    /// `host`, `port` and `use_ssl` as a URL.
    fn host_url(&self, use_ssl: bool) -> Result<reqwest::Url, Error> {
        let host = self.host.trim();
        let bad = |why: &str| {
            Error::config(
                "monitoring.influx.host",
                format!("must be a host name or address, got `{host}`: {why}"),
            )
        };
        if host.contains("://") || host.contains('/') {
            return Err(bad("no scheme or path; use `url` for http(s)://host:port"));
        }
        let host = if host.contains(':') && !host.starts_with('[') {
            format!("[{host}]")
        } else {
            host.to_owned()
        };
        let scheme = if use_ssl { "https" } else { "http" };
        let url = reqwest::Url::parse(&format!("{scheme}://{host}:{}", self.port))
            .map_err(|e| bad(&e.to_string()))?;
        if url.port_or_known_default() != Some(self.port) {
            return Err(bad("no port; the port goes in `port`"));
        }
        Ok(url)
    }
}
