//! The monitor handle and its builder: what instrumented code records into.
//!
//! A [`Monitor`] is cheap to clone. Recording pushes onto a bounded lock-free queue
//! ([`crate::record`]) and never blocks or awaits; the background flusher
//! (`flusher.rs`) drains it. Which monitor is current is `current.rs`'s business.

use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::{Duration, Instant};

use tokio::sync::{mpsc, oneshot};

use crate::config::{Config, InfluxConfig, StorageType};
use crate::error::Error;
use crate::flusher::{Control, Core, Flusher, Settings};
use crate::point::{Point, Text};
use crate::record::{Record, RecordQueue};
use crate::sink::{self, Plugin};
use crate::stats::{DropCounts, Stats};

/// The handle to a running monitor. Clones share the same queue and flusher.
///
/// ```
/// use monitoring_runtime::{Capture, Monitor, Point};
/// use std::time::Duration;
///
/// # #[tokio::main(flavor = "current_thread")] async fn main() {
/// let capture = Capture::new();
/// let monitor = Monitor::builder()
///     .service("luna-handlers")
///     .without_config_sink()        // no InfluxDB here: an in-memory sink
///     .capture(&capture)
///     .flushing_period(Duration::from_millis(100))
///     .start()
///     .unwrap();
/// monitor.install_global();         // what `#[monitored]` handlers record into
/// monitor.record(Point::new("licensing").with_tag("license_status", "ok"));
/// let report = monitor.shutdown().await;
/// assert!(report.complete);
/// assert_eq!(report.stats.recorded, 1);
/// assert_eq!(capture.series("licensing")[0].tag("service"), Some(&"luna-handlers".into()));
/// # }
/// ```
#[derive(Clone)]
pub struct Monitor {
    core: Arc<Core>,
}

impl std::fmt::Debug for Monitor {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Monitor")
            .field("enabled", &self.core.records.enabled)
            .field(
                "sinks",
                &self.core.sinks.iter().map(|s| s.name()).collect::<Vec<_>>(),
            )
            .finish()
    }
}

/// What `flush()` and `shutdown()` report.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct FlushReport {
    /// True when every sink wrote (or definitively dropped) everything before the deadline.
    pub complete: bool,
    /// The counters afterwards.
    pub stats: Stats,
}

impl FlushReport {
    /// Points dropped so far, over the monitor and all its sinks.
    pub fn dropped(&self) -> DropCounts {
        let mut total = self.stats.dropped;
        for s in &self.stats.sinks {
            total.merge(&s.dropped);
        }
        total
    }
}

impl Monitor {
    /// A builder with the defaults of [`Config`].
    pub fn builder() -> MonitorBuilder {
        MonitorBuilder::new(Config::default())
    }

    /// Starts a monitor from a configuration (see [`Config::load`]).
    pub fn from_config(config: Config) -> Result<Monitor, Error> {
        MonitorBuilder::new(config).start()
    }

    /// A monitor that records nothing (what `send_data_for_monitoring = false` gives).
    pub fn disabled() -> Monitor {
        Monitor {
            core: Arc::new(Core {
                records: RecordQueue::disabled(),
                sinks: Vec::new(),
                shutdown_timeout: Duration::ZERO,
                control: None,
            }),
        }
    }

    /// True when this monitor records points.
    pub fn is_enabled(&self) -> bool {
        self.core.records.enabled
    }

    /// Records a point. Never blocks: if the queue is full the point is dropped and
    /// counted ([`DropReason::QueueFull`](crate::DropReason::QueueFull)).
    pub fn record(&self, point: Point) {
        self.push_with(|| Record::Point(point));
    }

    /// Pushes the record `make` builds (see [`RecordQueue::push_with`]); always in
    /// line, for the reason given there.
    #[inline(always)]
    pub(crate) fn push_with(&self, make: impl FnOnce() -> Record) {
        self.core.records.push_with(make);
    }

    /// Writes everything recorded so far to every sink, waiting at most the configured
    /// `shutdown_timeout`.
    pub async fn flush(&self) -> FlushReport {
        self.control(|reply| Control::Flush { reply }).await
    }

    /// Stops accepting points, writes everything buffered until `shutdown_timeout` from
    /// now, closes the sinks (plugins' `close`) and reports what could not be written.
    ///
    /// It returns within `shutdown_timeout` plus at most 60 ms: a sink waiting out a
    /// backoff retries at once (then every 100 ms at most), a write in flight at the
    /// deadline is cut off and its points counted as [`DropReason::ShutdownDeadline`](crate::DropReason::ShutdownDeadline),
    /// like those still buffered, and a sink task that does not stop (a plugin that
    /// never returns) is stopped. When it returns no sink task runs and every point is
    /// written or counted. Points recorded afterwards are counted as
    /// [`DropReason::AfterShutdown`](crate::DropReason::AfterShutdown).
    pub async fn shutdown(&self) -> FlushReport {
        self.core.records.close();
        let deadline = Instant::now() + self.core.shutdown_timeout;
        self.control(|reply| Control::Shutdown { reply, deadline })
            .await
    }

    async fn control(&self, message: impl FnOnce(oneshot::Sender<bool>) -> Control) -> FlushReport {
        let (tx, rx) = oneshot::channel();
        let answer = match &self.core.control {
            Some(control) if control.send(message(tx)).is_ok() => rx.await.ok(),
            _ => None,
        };
        let stats = self.stats();
        // No answer: the flusher has shut down already (or is gone); the counters
        // say whether everything is accounted for.
        let settled = stats.sinks.iter().all(crate::stats::SinkStats::is_settled);
        FlushReport {
            complete: answer.unwrap_or(settled),
            stats,
        }
    }

    /// Changes the flushing period at run time, clamped to 1 ms .. 1 year.
    pub fn set_flushing_period(&self, period: Duration) {
        if let Some(control) = &self.core.control {
            let period = period.clamp(Duration::from_millis(1), crate::retry::MAX_WAIT);
            let _ = control.send(Control::SetPeriod(period));
        }
    }

    /// A snapshot of the counters.
    pub fn stats(&self) -> Stats {
        let c = &self.core.records.counters;
        Stats {
            recorded: c.recorded.load(Ordering::Relaxed),
            late_additions: crate::record::late_additions(),
            tag_values_capped: crate::stats::tag_values_capped(),
            dropped: c.dropped.snapshot(),
            encode_issues: *c.issues.lock().unwrap_or_else(|e| e.into_inner()),
            sinks: self.core.sinks.iter().map(|s| s.stats()).collect(),
        }
    }
}

/// Builds a [`Monitor`]: the configuration's sink plus any added in code.
pub struct MonitorBuilder {
    config: Config,
    extra_sinks: Vec<sink::SinkSpec>,
    config_sink: bool,
}

impl std::fmt::Debug for MonitorBuilder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MonitorBuilder")
            .field("config", &self.config)
            .finish_non_exhaustive()
    }
}

impl MonitorBuilder {
    /// A builder starting from `config`.
    pub fn new(config: Config) -> Self {
        MonitorBuilder {
            config,
            extra_sinks: Vec::new(),
            config_sink: true,
        }
    }

    /// The configuration so far.
    pub fn config_mut(&mut self) -> &mut Config {
        &mut self.config
    }

    /// The `service` tag of every point (default: a request's handler's crate name,
    /// else the executable's name).
    pub fn service(mut self, service: impl Into<String>) -> Self {
        self.config.service = Some(service.into());
        self
    }

    /// Seconds between flushes (default 1 s).
    pub fn flushing_period(mut self, period: Duration) -> Self {
        self.config.flushing_period = period.as_secs_f64();
        self
    }

    /// Lines per write request (default 5,000).
    pub fn batch_size(mut self, lines: usize) -> Self {
        self.config.batch_size = lines;
        self
    }

    /// Capacity of the request-path queue (default 65,536 points).
    pub fn queue_capacity(mut self, points: usize) -> Self {
        self.config.queue_capacity = points;
        self
    }

    /// Points each sink buffers while its database is unavailable (default 500,000).
    pub fn max_buffered_points(mut self, points: usize) -> Self {
        self.config.max_buffered_points = points;
        self
    }

    /// gzip level 0 (off) to 9 (default: 1 for a remote server, off for a loopback one).
    pub fn gzip_level(mut self, level: u32) -> Self {
        self.config.gzip_level = Some(level);
        self
    }

    /// Retry delays: first delay, longest delay and how long one batch is retried
    /// (defaults 1 s, 30 s, 180 s).
    pub fn retry(mut self, initial: Duration, max_delay: Duration, max_time: Duration) -> Self {
        self.config.retry_initial_delay = initial.as_secs_f64();
        self.config.retry_max_delay = max_delay.as_secs_f64();
        self.config.max_retry_time = max_time.as_secs_f64();
        self
    }

    /// Records the monitor's own health every `period` (see the README's "Monitoring
    /// health"): one point per sink in the series `monitoring`. Off by default.
    pub fn stats_period(mut self, period: Duration) -> Self {
        self.config.stats_period = Some(period.as_secs_f64());
        self
    }

    /// Timeout of one write request (default 10 s).
    pub fn request_timeout(mut self, timeout: Duration) -> Self {
        self.config.request_timeout = timeout.as_secs_f64();
        self
    }

    /// How long `shutdown()` and `flush()` may take (default 10 s).
    pub fn shutdown_timeout(mut self, timeout: Duration) -> Self {
        self.config.shutdown_timeout = timeout.as_secs_f64();
        self
    }

    /// Ships to InfluxDB (replacing the configuration's sink).
    pub fn influx(mut self, influx: InfluxConfig) -> Self {
        self.config.storage_type = Some(StorageType::Influx);
        self.config.influx = vec![influx];
        self.config_sink = true;
        self
    }

    /// Adds another InfluxDB destination: every point goes to each (see
    /// [`Config::influx`]).
    pub fn add_influx(mut self, influx: InfluxConfig) -> Self {
        self.config.storage_type = Some(StorageType::Influx);
        self.config.influx.push(influx);
        self.config_sink = true;
        self
    }

    /// Keeps what the InfluxDB sink cannot deliver in `dir` (the disk buffer; see the
    /// README's "Disk buffer"), delivering it later, also from an earlier process.
    pub fn spool_dir(mut self, dir: impl Into<std::path::PathBuf>) -> Self {
        self.config.spool_dir = Some(dir.into());
        self
    }

    /// The spool's bound in bytes (default 1 GiB); beyond it the oldest points go.
    pub fn max_spool_bytes(mut self, bytes: u64) -> Self {
        self.config.max_spool_bytes = bytes;
        self
    }

    /// Uses https for InfluxDB, trusting also the PEM certificate at `ca_cert`.
    pub fn tls(mut self, ca_cert: Option<std::path::PathBuf>) -> Self {
        self.config.use_ssl = true;
        self.config.ca_cert = ca_cert;
        self
    }

    /// Writes line protocol to standard output (replacing the configuration's sink).
    pub fn stdout(mut self) -> Self {
        self.config.storage_type = Some(StorageType::Stdout);
        self.config_sink = true;
        self
    }

    /// Appends line protocol to `path` (replacing the configuration's sink).
    pub fn file(mut self, path: impl Into<std::path::PathBuf>) -> Self {
        self.config.storage_type = Some(StorageType::File);
        self.config.file = Some(path.into());
        self.config_sink = true;
        self
    }

    /// Drops the configuration's sink: only sinks added in code receive points.
    pub fn without_config_sink(mut self) -> Self {
        self.config_sink = false;
        self
    }

    /// Adds an in-memory capture sink (for tests).
    pub fn capture(mut self, capture: &sink::Capture) -> Self {
        self.extra_sinks
            .push(sink::SinkSpec::Capture(capture.clone()));
        self
    }

    /// Adds a plugin sink with its own queue.
    pub fn plugin<P: Plugin>(mut self, plugin: P) -> Self {
        self.extra_sinks.push(sink::SinkSpec::plugin(plugin));
        self
    }

    /// Validates the configuration and starts the flusher on the current tokio runtime.
    pub fn start(self) -> Result<Monitor, Error> {
        let config = self.config;
        config.validate()?;
        if !config.send_data_for_monitoring {
            return Ok(Monitor::disabled());
        }
        let runtime = tokio::runtime::Handle::try_current().map_err(|_| Error::NoRuntime)?;
        // Calibrates the TSC clock now rather than in the first request.
        let _ = crate::clock::raw();
        let mut specs = Vec::new();
        if self.config_sink {
            specs.extend(sink::SinkSpec::from_config(&config)?);
        }
        specs.extend(self.extra_sinks);
        let sinks: Vec<String> = specs.iter().map(sink::SinkSpec::describe).collect();
        tracing::info!(
            target: "monitoring",
            sinks = %sinks.join("; "),
            "monitoring started"
        );
        let limits = sink::Limits {
            max_points: config.max_buffered_points,
            max_bytes: config.max_buffered_bytes,
        };
        // Locked for the monitor's life; given to the sinks that can spool.
        let spool = match &config.spool_dir {
            Some(dir) => Some(sink::SpoolDir::open(dir, config.max_spool_bytes)?),
            None => None,
        };
        let mut queues = Vec::new();
        let mut tasks = Vec::new();
        for spec in specs {
            let (queue, task) = spec.start(&runtime, limits, spool.as_ref())?;
            queues.push(queue);
            tasks.push(task);
        }
        let (control_tx, control_rx) = mpsc::unbounded_channel();
        let core = Arc::new(Core {
            records: RecordQueue::new(config.queue_capacity, config.batch_size),
            sinks: queues,
            shutdown_timeout: Config::duration(config.shutdown_timeout),
            control: Some(control_tx),
        });
        let settings = Settings {
            period: Config::duration(config.flushing_period),
            batch_size: config.batch_size,
            service: config.service.clone().map(Text::from),
            stats_period: config.stats_period.map(Config::duration),
        };
        runtime.spawn(Flusher::new(core.clone(), tasks, control_rx, settings).run());
        Ok(Monitor { core })
    }
}
