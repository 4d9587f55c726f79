//! The HTTP writer both InfluxDB sinks share: gzip, auth, timeouts, and the retry and
//! split policy of [`crate::retry`].

use std::sync::atomic::Ordering::Relaxed;
use std::sync::Arc;
use std::time::{Duration, Instant};

use bytes::Bytes;
use reqwest::header::{CONTENT_ENCODING, CONTENT_TYPE, RETRY_AFTER};

mod wire;

use super::{ExportCx, Exporter, Gzip, Lines, Payload};
use crate::config::{redact_userinfo, Config, InfluxConfig, Secret};
use crate::error::Error;
use crate::line_protocol::Dialect;
use crate::retry::{parse_retry_after, RetryPolicy};
use crate::stats::{DropReason, EndpointCounters};
use wire::{describe, is_loopback, secret_header, server_message, warn_plain_http};

pub(super) enum Auth {
    None,
    /// `Authorization: Token …` (InfluxDB 2.x).
    Token(Secret),
    /// `Authorization: Bearer …` (InfluxDB 3).
    Bearer(Secret),
    Basic(String, Secret),
}

pub(super) struct Target {
    pub(super) name: &'static str,
    /// The destination's endpoints (one, or `urls`), taken in turn.
    pub(super) urls: Vec<reqwest::Url>,
    pub(super) dialect: Dialect,
    pub(super) auth: Auth,
    /// What a 404 means here: the database or bucket, and how to create it.
    pub(super) missing: Missing,
}

/// The database (1.x) or bucket (2.x) a write goes to, for a 404's ERROR, and the
/// 1.x `CREATE DATABASE` request when `create_database` is on.
pub(super) struct Missing {
    /// E.g. `database "luna_monitoring"`.
    pub(super) what: String,
    /// How a user creates it.
    pub(super) how: String,
    /// `POST /query?q=CREATE DATABASE ...` on each endpoint (1.x with
    /// `create_database`); the first that answers is enough.
    pub(super) create: Option<Vec<reqwest::Url>>,
}

/// `path` under each endpoint's base URL (validated with the configuration).
pub(super) fn urls(
    config: &Config,
    influx: &InfluxConfig,
    path: &str,
) -> Result<Vec<reqwest::Url>, Error> {
    let mut urls = influx.base_urls(config.use_ssl)?;
    for url in &mut urls {
        let prefix = url.path().trim_end_matches('/').to_owned();
        url.set_path(&format!("{prefix}{path}"));
    }
    Ok(urls)
}

pub(crate) struct HttpExporter {
    target: Target,
    client: reqwest::Client,
    /// `None`: bodies go uncompressed.
    gzip: Option<Box<Gzip>>,
    policy: RetryPolicy,
    /// Set once a 404 made us send `CREATE DATABASE` (at most once more after start).
    created_after_404: bool,
    /// The endpoint the next attempt goes to.
    next: usize,
    /// Per endpoint, in the order of `target.urls`.
    endpoints: std::sync::Arc<[EndpointCounters]>,
}

/// How one write attempt sequence ended.
enum Outcome {
    Written,
    /// Split and retry the halves; a single line is dropped for this reason.
    Split(DropReason, String),
    Dropped(DropReason, String),
    /// Not delivered now: to the spool (a fresh batch with a spool configured).
    Spool,
    /// Cut off by the shutdown deadline while delivering a spooled record: it stays.
    Stopped,
}

/// Where the lines being written come from.
#[derive(Clone, Copy, PartialEq)]
enum Source {
    /// A batch from memory: retried up to `max_retry_time`, or spooled at the first
    /// failure when the sink has a spool.
    Fresh,
    /// A record from the spool: retried for as long as it takes.
    Spool,
}

impl HttpExporter {
    pub(super) fn new(config: &Config, target: Target) -> Result<Self, Error> {
        let mut builder = reqwest::Client::builder()
            .timeout(Config::duration(config.request_timeout))
            .connect_timeout(Config::duration(config.request_timeout).min(Duration::from_secs(5)))
            .pool_idle_timeout(Duration::from_secs(30))
            // A redirect would turn the POST into a body-less GET whose 2xx counts the
            // batch as written: a 3xx is a failure (see `crate::retry`).
            .redirect(reqwest::redirect::Policy::none())
            .user_agent(concat!("monitoring/", env!("CARGO_PKG_VERSION")));
        if let Some(path) = &config.ca_cert {
            let pem = std::fs::read(path).map_err(|source| Error::ReadConfig {
                path: path.clone(),
                source,
            })?;
            let cert =
                reqwest::Certificate::from_pem(&pem).map_err(|source| Error::HttpClient {
                    sink: target.name,
                    source,
                })?;
            builder = builder.add_root_certificate(cert);
        }
        let client = builder.build().map_err(|source| Error::HttpClient {
            sink: target.name,
            source,
        })?;
        warn_plain_http(&target);
        let gzip_level = config
            .gzip_level
            .unwrap_or(if target.urls.iter().all(is_loopback) {
                0
            } else {
                1
            });
        let endpoints = (target.urls.iter())
            .map(|url| EndpointCounters {
                url: url.to_string(),
                requests: Default::default(),
                failures: Default::default(),
            })
            .collect();
        Ok(HttpExporter {
            target,
            client,
            gzip: (gzip_level > 0).then(|| Box::new(Gzip::new(gzip_level))),
            policy: RetryPolicy::from_config(config),
            created_after_404: false,
            next: 0,
            endpoints,
        })
    }

    /// The endpoints' counters, for the sink's stats.
    pub(super) fn endpoints(&self) -> std::sync::Arc<[EndpointCounters]> {
        self.endpoints.clone()
    }

    /// Sends `CREATE DATABASE` (1.x with `create_database`): true when the server
    /// accepted it. A refusal is one WARN; nothing else changes.
    async fn create_database(&self) -> bool {
        let Some(urls) = &self.target.missing.create else {
            return false;
        };
        // On every endpoint: independent servers each need it, and a cluster takes the
        // statement again harmlessly. True when one of them created it.
        let mut created = false;
        for url in urls {
            created |= self.create_database_at(url).await;
        }
        created
    }

    async fn create_database_at(&self, url: &reqwest::Url) -> bool {
        let mut req = self.client.post(url.clone());
        if let Auth::Basic(user, password) = &self.target.auth {
            req = req.basic_auth(user, Some(password.expose()));
        }
        let what = &self.target.missing.what;
        match req.send().await {
            Ok(response) if response.status().is_success() => {
                tracing::info!(target: "monitoring", sink = self.target.name, "created {what} if it was missing (create_database = true)");
                true
            }
            Ok(response) => {
                let status = response.status();
                let message = server_message(response).await;
                tracing::warn!(target: "monitoring", sink = self.target.name, "could not create {what} (create_database = true): the server answered {status}: {message}; create it by hand ({}) or set create_database = false", self.target.missing.how);
                false
            }
            Err(e) => {
                tracing::warn!(target: "monitoring", sink = self.target.name, error = describe(&e), "could not create {what} (create_database = true); it is tried again on the first 404");
                false
            }
        }
    }

    pub(super) fn name(&self) -> &'static str {
        self.target.name
    }

    /// The sink and its URL, for the start-up log line: credentials travel in
    /// headers, never in the URL.
    pub(super) fn describe(&self) -> String {
        let urls: Vec<String> = self.target.urls.iter().map(ToString::to_string).collect();
        format!("{} at {}", self.target.name, urls.join(", "))
    }

    pub(super) fn dialect(&self) -> Dialect {
        self.target.dialect
    }

    fn body(&self, raw: &[u8]) -> Bytes {
        match &self.gzip {
            Some(gzip) => Bytes::from(gzip.compress(raw)),
            None => Bytes::copy_from_slice(raw),
        }
    }

    fn request(&self, endpoint: usize, body: Bytes) -> reqwest::RequestBuilder {
        let mut req = self
            .client
            .post(self.target.urls[endpoint].clone())
            .header(CONTENT_TYPE, "text/plain; charset=utf-8")
            .body(body);
        if self.gzip.is_some() {
            req = req.header(CONTENT_ENCODING, "gzip");
        }
        match &self.target.auth {
            Auth::None => req,
            Auth::Token(token) => req.header(
                reqwest::header::AUTHORIZATION,
                secret_header("Token", token),
            ),
            Auth::Bearer(token) => req.header(
                reqwest::header::AUTHORIZATION,
                secret_header("Bearer", token),
            ),
            Auth::Basic(user, password) => req.basic_auth(user, Some(password.expose())),
        }
    }

    async fn write(
        &mut self,
        lines: &Lines,
        (a, b): (usize, usize),
        source: Source,
        cx: &mut ExportCx<'_>,
    ) -> Outcome {
        let body = self.body(lines.slice(a, b));
        let started = Instant::now();
        let mut attempt = 0u32;
        // Endpoints that failed this batch since the last backoff.
        let mut failed = 0;
        // What the shutdown deadline does to these lines.
        let can_spool = cx.can_spool();
        let cut_off = |why: String| match source {
            Source::Spool => Outcome::Stopped,
            Source::Fresh if can_spool => Outcome::Spool,
            Source::Fresh => Outcome::Dropped(DropReason::ShutdownDeadline, why),
        };
        loop {
            cx.request_sent();
            let endpoint = self.next % self.endpoints.len();
            // Endpoints take turns, batch by batch, attempt by attempt.
            self.next = endpoint.wrapping_add(1);
            self.endpoints[endpoint].requests.fetch_add(1, Relaxed);
            // The whole attempt, answer included, ends at the shutdown deadline, also
            // when shutdown begins while it runs.
            let attempt_sent = self.attempt(endpoint, body.clone());
            let Some(answer) = cx.before_deadline(attempt_sent).await else {
                return cut_off("shutdown deadline passed during a write".into());
            };
            if let Answer::Retry(..) = answer {
                self.endpoints[endpoint].failures.fetch_add(1, Relaxed);
                failed += 1;
                if failed < self.endpoints.len() {
                    // Another endpoint may be up: the same batch goes there at once.
                    continue;
                }
                failed = 0;
            }
            let (wait, error) = match answer {
                Answer::Done(Outcome::Dropped(DropReason::NotFound, error))
                    if self.target.missing.create.is_some() && !self.created_after_404 =>
                {
                    // The database went away (or was never created): create it once
                    // more and retry at once.
                    self.created_after_404 = true;
                    if !self.create_database().await {
                        return Outcome::Dropped(DropReason::NotFound, error);
                    }
                    continue;
                }
                Answer::Done(outcome) => return outcome,
                Answer::Retry(wait, error) => (self.policy.wait(wait, attempt), error),
            };
            cx.retrying(&error);
            if source == Source::Spool && cx.deadline().is_some() {
                // Shutting down with the database away: the record is safe on disk,
                // and the next monitor on this spool delivers it.
                return Outcome::Stopped;
            }
            if source == Source::Fresh {
                if can_spool {
                    return Outcome::Spool;
                }
                if started.elapsed().saturating_add(wait) > self.policy.max_time {
                    return Outcome::Dropped(
                        DropReason::RetryExhausted,
                        format!("gave up after {:?}: {error}", started.elapsed()),
                    );
                }
            }
            if !cx.sleep(wait).await {
                return cut_off(format!("shutdown deadline passed while retrying: {error}"));
            }
            attempt = attempt.saturating_add(1);
        }
    }

    /// Writes `lines`, splitting what the server refuses as too large or malformed;
    /// false when some of them were cut off by the shutdown deadline or spooled.
    async fn deliver(&mut self, lines: &Arc<Lines>, source: Source, cx: &mut ExportCx<'_>) -> bool {
        let mut pending = vec![(0, lines.len())];
        while let Some((a, b)) = pending.pop() {
            match self.write(lines, (a, b), source, cx).await {
                Outcome::Written => cx.written(b - a),
                Outcome::Split(reason, error) => {
                    if b - a > 1 {
                        let mid = a + (b - a) / 2;
                        pending.push((mid, b));
                        pending.push((a, mid));
                    } else {
                        cx.dropped(reason, 1, &error);
                    }
                }
                Outcome::Dropped(reason, error) => cx.dropped(reason, b - a, &error),
                Outcome::Spool => {
                    // These lines, then the rest of the batch in order.
                    pending.push((a, b));
                    pending.reverse();
                    cx.spool(lines, &pending);
                    return false;
                }
                Outcome::Stopped => return false,
            }
        }
        true
    }

    /// One write request to `endpoint` and what its answer means.
    async fn attempt(&self, endpoint: usize, body: Bytes) -> Answer {
        let response = match self.request(endpoint, body).send().await {
            Ok(response) => response,
            Err(e) => return Answer::Retry(None, describe(&e)),
        };
        let status = response.status();
        if status.is_success() {
            return Answer::Done(Outcome::Written);
        }
        let retry_after = response
            .headers()
            .get(RETRY_AFTER)
            .and_then(|v| v.to_str().ok())
            .and_then(parse_retry_after);
        if status.is_redirection() {
            let location = response
                .headers()
                .get(reqwest::header::LOCATION)
                .and_then(|v| v.to_str().ok())
                .map(|l| redact_userinfo(&l[..l.len().min(300)]))
                .unwrap_or_default();
            let error = format!(
                "{} answered {status} to {location} (redirects are not followed: point \
                 `url` at the server itself)",
                self.target.name
            );
            return Answer::Retry(None, error);
        }
        let message = server_message(response).await;
        let error = format!("{} answered {status}: {message}", self.target.name);
        Answer::Done(match status.as_u16() {
            404 => {
                let Missing { what, how, .. } = &self.target.missing;
                Outcome::Dropped(
                    DropReason::NotFound,
                    format!("{error} ({what} does not exist: {how})"),
                )
            }
            400 => Outcome::Split(DropReason::Rejected, error),
            413 => Outcome::Split(DropReason::TooLarge, error),
            401 | 403 => Outcome::Dropped(
                DropReason::Unauthorized,
                format!("{error} (check the token or credentials)"),
            ),
            429 | 503 => return Answer::Retry(retry_after, error),
            500..=599 => return Answer::Retry(None, error),
            _ => Outcome::Dropped(DropReason::Rejected, error),
        })
    }
}

/// What one attempt's answer calls for.
enum Answer {
    Done(Outcome),
    /// Try again after the given wait (`Retry-After`), else after the backoff.
    Retry(Option<Duration>, String),
}

impl Exporter for HttpExporter {
    async fn initialize(&mut self) {
        self.create_database().await;
    }

    async fn export(&mut self, payload: Payload, cx: &mut ExportCx<'_>) {
        if let Payload::Lines(lines) = payload {
            self.deliver(&lines, Source::Fresh, cx).await;
        }
    }

    async fn replay(&mut self, lines: Arc<Lines>, cx: &mut ExportCx<'_>) -> bool {
        self.deliver(&lines, Source::Spool, cx).await
    }
}
