//! The monitor handle: what the request path records into, and the global default.
//!
//! A [`Monitor`] is cheap to clone. Recording pushes onto a bounded lock-free queue and
//! never blocks or awaits; the background worker (`worker.rs`) drains it.

use std::cell::RefCell;
use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicU8, Ordering};
use std::sync::{Arc, RwLock};
use std::task::{Context, Poll};
use std::time::Duration;

use crossbeam_queue::ArrayQueue;
use tokio::sync::{mpsc, oneshot, Notify};

use crate::config::{Config, InfluxConfig, StorageType};
use crate::context::SlotGuard;
use crate::error::Error;
use crate::point::{Point, Text};
use crate::request::RequestRecord;
use crate::sink::{self, Plugin, SinkQueue};
use crate::stats::{DropCounts, DropReason, MonitorCounters, Stats};
use crate::worker::{Control, Worker};

/// What travels from the request path to the flusher.
#[derive(Debug)]
pub(crate) enum Record {
    Request(RequestRecord),
    Point(Point),
}

impl Record {
    pub(crate) fn point_count(&self) -> u64 {
        match self {
            Record::Request(r) => r.point_count(),
            Record::Point(_) => 1,
        }
    }
}

impl Shared {
    #[cold]
    pub(crate) fn count_drop(&self, reason: DropReason, points: u64) {
        if self.count_drop_unlogged(reason, points) {
            tracing::warn!(
                target: "monitoring",
                reason = reason.as_str(),
                "monitoring points dropped before reaching the flusher (counted in stats; logged once)"
            );
        }
    }

    /// Counts points dropped before reaching the flusher, for a caller that logs them
    /// itself; true the first time `reason` is seen.
    pub(crate) fn count_drop_unlogged(&self, reason: DropReason, points: u64) -> bool {
        let c = &self.counters;
        c.recorded.fetch_add(points, Ordering::Relaxed);
        c.dropped.add(reason, points)
    }
}

pub(crate) struct Shared {
    pub(crate) enabled: bool,
    pub(crate) queue: ArrayQueue<Record>,
    pub(crate) wake_threshold: usize,
    pub(crate) wake_check_mask: u32,
    /// Wakes the flusher; on its own cache line, since the flusher writes it each time
    /// it waits.
    pub(crate) wake: Padded<Notify>,
    pub(crate) closed: AtomicBool,
    pub(crate) counters: MonitorCounters,
    pub(crate) control: Option<mpsc::UnboundedSender<Control>>,
    pub(crate) sinks: Vec<Arc<SinkQueue>>,
    pub(crate) shutdown_timeout: Duration,
}

/// A value alone on its cache line(s).
#[derive(Debug, Default)]
#[repr(align(64))]
pub(crate) struct Padded<T>(pub(crate) T);

impl<T> std::ops::Deref for Padded<T> {
    type Target = T;
    fn deref(&self) -> &T {
        &self.0
    }
}

/// The handle to a running monitor. Clones share the same queue and flusher.
#[derive(Clone)]
pub struct Monitor {
    pub(crate) shared: Arc<Shared>,
}

impl std::fmt::Debug for Monitor {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Monitor")
            .field("enabled", &self.shared.enabled)
            .field(
                "sinks",
                &self
                    .shared
                    .sinks
                    .iter()
                    .map(|s| s.name())
                    .collect::<Vec<_>>(),
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
            shared: Arc::new(Shared {
                enabled: false,
                queue: ArrayQueue::new(1),
                wake_threshold: usize::MAX,
                wake_check_mask: 0,
                wake: Padded(Notify::new()),
                closed: AtomicBool::new(true),
                counters: MonitorCounters::default(),
                control: None,
                sinks: Vec::new(),
                shutdown_timeout: Duration::ZERO,
            }),
        }
    }

    /// True when this monitor records points.
    pub fn is_enabled(&self) -> bool {
        self.shared.enabled
    }

    /// Records a point. Never blocks: if the queue is full the point is dropped and
    /// counted ([`DropReason::QueueFull`]).
    pub fn record(&self, point: Point) {
        self.push(Record::Point(point));
    }

    #[inline]
    pub(crate) fn push(&self, record: Record) {
        self.push_with(|| record);
    }

    /// Pushes the record `make` builds, built right where it goes into the queue (a
    /// record is ~90 bytes: every move on the way would be a copy).
    #[inline]
    pub(crate) fn push_with(&self, make: impl FnOnce() -> Record) {
        let shared = &*self.shared;
        if !shared.enabled {
            return;
        }
        if shared.closed.load(Ordering::Relaxed) {
            shared.count_drop(DropReason::AfterShutdown, make().point_count());
            return;
        }
        match shared.queue.push(make()) {
            Ok(()) => {
                // Looking at the queue's length costs more than the push itself, so
                // each thread looks every few pushes (up to 64, fewer for small
                // batches); the periodic flush covers the rest.
                let n = PUSHES.with(|c| {
                    let n = c.get().wrapping_add(1);
                    c.set(n);
                    n
                });
                if n & shared.wake_check_mask == 0 && shared.queue.len() >= shared.wake_threshold {
                    shared.wake.notify_one();
                }
            }
            Err(record) => {
                shared.count_drop(DropReason::QueueFull, record.point_count());
                shared.wake.notify_one();
            }
        }
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
    /// deadline is cut off and its points counted as [`DropReason::ShutdownDeadline`],
    /// like those still buffered, and a sink task that does not stop (a plugin that
    /// never returns) is stopped. When it returns no sink task runs and every point is
    /// written or counted. Points recorded afterwards are counted as
    /// [`DropReason::AfterShutdown`].
    pub async fn shutdown(&self) -> FlushReport {
        self.shared.closed.store(true, Ordering::Relaxed);
        let deadline = std::time::Instant::now() + self.shared.shutdown_timeout;
        self.control(|reply| Control::Shutdown { reply, deadline })
            .await
    }

    async fn control(&self, message: impl FnOnce(oneshot::Sender<bool>) -> Control) -> FlushReport {
        let (tx, rx) = oneshot::channel();
        let complete = match &self.shared.control {
            Some(control) if control.send(message(tx)).is_ok() => rx.await.unwrap_or(true),
            _ => true,
        };
        FlushReport {
            complete,
            stats: self.stats(),
        }
    }

    /// Changes the flushing period at run time.
    pub fn set_flushing_period(&self, period: Duration) {
        if let Some(control) = &self.shared.control {
            let _ = control.send(Control::SetPeriod(period.max(Duration::from_millis(1))));
        }
    }

    /// A snapshot of the counters.
    pub fn stats(&self) -> Stats {
        let c = &self.shared.counters;
        Stats {
            recorded: c.recorded.load(Ordering::Relaxed),
            dropped: c.dropped.snapshot(),
            encode_issues: *c.issues.lock().unwrap_or_else(|e| e.into_inner()),
            sinks: self.shared.sinks.iter().map(|s| s.stats()).collect(),
        }
    }

    /// Makes this monitor the process-wide default that `#[monitored]` handlers record
    /// into (replacing any previous one).
    pub fn install_global(&self) {
        *GLOBAL.write().unwrap_or_else(|e| e.into_inner()) = Some(self.clone());
        SWITCHES.generation.fetch_add(1, Ordering::Release);
        if self.shared.enabled {
            SWITCHES.flags.fetch_or(GLOBAL_ON, Ordering::Release);
        } else {
            // Off on purpose (`send_data_for_monitoring = false`): nothing to warn about.
            SWITCHES.flags.fetch_and(!GLOBAL_ON, Ordering::Release);
            SWITCHES.flags.fetch_or(QUIET, Ordering::Relaxed);
        }
    }

    /// Removes the process-wide default monitor.
    pub fn uninstall_global() {
        *GLOBAL.write().unwrap_or_else(|e| e.into_inner()) = None;
        SWITCHES.generation.fetch_add(1, Ordering::Release);
        SWITCHES.flags.fetch_and(!GLOBAL_ON, Ordering::Release);
    }

    /// Runs `future` with this monitor as the current one (overriding the global
    /// default) on whatever thread polls it. Useful in tests and for services hosting
    /// several monitors.
    pub fn scope<F: Future>(&self, future: F) -> Scoped<F> {
        // Written once: the request path keeps reading an unchanging cache line.
        if SWITCHES.flags.load(Ordering::Relaxed) & SCOPES == 0 {
            SWITCHES.flags.fetch_or(SCOPES, Ordering::Relaxed);
        }
        Scoped {
            inner: future,
            monitor: Some(self.clone()),
        }
    }
}

static GLOBAL: RwLock<Option<Monitor>> = RwLock::new(None);

/// What the request path reads on every call, alone on its cache line: written only
/// when the global monitor changes or the first scope is made, so reading it never
/// misses because of unrelated writes nearby.
#[repr(align(64))]
struct Switches {
    /// [`GLOBAL_ON`] and [`SCOPES`]: the request path's first (and, with monitoring
    /// off, only) check is one relaxed load of this byte.
    flags: AtomicU8,
    /// Bumped whenever the global changes, so threads refresh their cached copy.
    generation: AtomicU64,
}

/// The global monitor records.
const GLOBAL_ON: u8 = 1;
/// Some `Monitor::scope` exists; until then the scoped slot is never consulted.
const SCOPES: u8 = 2;
/// The tower layer hands request ids down; until then no request looks for one.
const LAYER: u8 = 4;
/// Instrumented code ran with nothing recording and that was logged (or a disabled
/// monitor was installed on purpose): no further warning.
const QUIET: u8 = 8;

static SWITCHES: Switches = Switches {
    flags: AtomicU8::new(0),
    generation: AtomicU64::new(1),
};

#[inline]
fn scopes_used() -> bool {
    SWITCHES.flags.load(Ordering::Relaxed) & SCOPES != 0
}

#[inline]
pub(crate) fn layer_used() -> bool {
    SWITCHES.flags.load(Ordering::Relaxed) & LAYER != 0
}

/// Written once, not per request: the line stays shared between the cores reading it.
#[cfg_attr(not(feature = "axum"), allow(dead_code))]
pub(crate) fn set_layer_used() {
    if !layer_used() {
        SWITCHES.flags.fetch_or(LAYER, Ordering::Relaxed);
    }
}

thread_local! {
    static PUSHES: std::cell::Cell<u32> = const { std::cell::Cell::new(0) };
    static CACHED: RefCell<(u64, Option<Monitor>)> = const { RefCell::new((0, None)) };
    static SCOPED: RefCell<Option<Monitor>> = const { RefCell::new(None) };
}

/// Calls `f` with the current monitor: the scoped one, else the global default. The
/// global is cached per thread, so the request path reads one atomic, not a lock.
#[inline]
pub(crate) fn with_current<R>(f: impl FnOnce(Option<&Monitor>) -> R) -> R {
    let mut f = Some(f);
    let mut call = |m: Option<&Monitor>| (f.take().expect("called once"))(m);
    if scopes_used() {
        if let Ok(Some(r)) = SCOPED.try_with(|s| {
            let s = s.try_borrow().ok()?;
            s.as_ref().map(|m| call(Some(m)))
        }) {
            return r;
        }
    }
    let generation = SWITCHES.generation.load(Ordering::Acquire);
    if let Ok(Some(r)) = CACHED.try_with(|cache| {
        let mut cache = cache.try_borrow_mut().ok()?;
        Some(call(cached_global(&mut cache, generation)))
    }) {
        return r;
    }
    // Thread teardown (or re-entry): read the global directly.
    call(GLOBAL.read().unwrap_or_else(|e| e.into_inner()).as_ref())
}

/// The thread's copy of the global monitor, refreshed when the global has changed.
#[inline]
fn cached_global(cache: &mut (u64, Option<Monitor>), generation: u64) -> Option<&Monitor> {
    if cache.0 != generation {
        let global = GLOBAL.read().unwrap_or_else(|e| e.into_inner()).clone();
        *cache = (generation, global);
    }
    cache.1.as_ref()
}

/// Whether any monitor could record a request starting now: one relaxed load. The
/// expansion of `#[monitored]` runs the handler body unwrapped when this is false.
#[doc(hidden)]
#[inline]
pub fn monitoring_on() -> bool {
    let flags = SWITCHES.flags.load(Ordering::Relaxed);
    if flags & (GLOBAL_ON | SCOPES) != 0 {
        return true;
    }
    if flags & QUIET == 0 {
        warn_nothing_records();
    }
    false
}

/// Logs, once per process, that instrumented code ran with no monitor to record into:
/// the usual cause is a monitor started but never installed.
#[cold]
#[inline(never)]
fn warn_nothing_records() {
    if SWITCHES.flags.fetch_or(QUIET, Ordering::Relaxed) & QUIET == 0 {
        tracing::warn!(
            target: "monitoring",
            "monitored code ran with no monitor installed, so nothing is recorded: start a \
             Monitor and call install_global() on it (or run the code in Monitor::scope); \
             logged once"
        );
    }
}

/// Where a request will be recorded, decided when it starts.
pub(crate) enum Target {
    /// The process-wide default (no reference kept: the request path stays free of
    /// shared reference counts).
    Global,
    /// A monitor installed with [`Monitor::scope`]; kept so that a request dropped
    /// outside the scope (cancelled, panicked) is still recorded into it.
    Scoped(Monitor),
}

/// The target of a request starting now, or `None` when nothing records.
#[inline]
pub(crate) fn request_target() -> Option<Target> {
    let flags = SWITCHES.flags.load(Ordering::Relaxed);
    if flags & SCOPES != 0 {
        let scoped = SCOPED.try_with(|s| s.try_borrow().ok().and_then(|s| s.clone()));
        if let Ok(Some(scoped)) = scoped {
            return scoped.shared.enabled.then_some(Target::Scoped(scoped));
        }
    }
    (flags & GLOBAL_ON != 0).then_some(Target::Global)
}

/// Records the request that `make` describes into its target.
#[inline]
pub(crate) fn record_request(target: Target, make: impl FnOnce() -> RequestRecord) {
    match target {
        Target::Scoped(m) => m.push_with(|| Record::Request(make())),
        Target::Global => push_global(|| Record::Request(make())),
    }
}

/// Pushes to the global monitor (the request started with it as its target), through
/// the thread's cached copy.
#[inline]
fn push_global(make: impl FnOnce() -> Record) {
    let generation = SWITCHES.generation.load(Ordering::Acquire);
    let mut make = Some(make);
    let _ = CACHED.try_with(|cache| {
        if let Ok(mut cache) = cache.try_borrow_mut() {
            if let Some(monitor) = cached_global(&mut cache, generation) {
                if let Some(make) = make.take() {
                    monitor.push_with(make);
                }
            }
        }
    });
    if let Some(make) = make {
        // Thread teardown or re-entry, or no global any more: the global itself.
        if let Some(monitor) = GLOBAL.read().unwrap_or_else(|e| e.into_inner()).as_ref() {
            monitor.push_with(make);
        }
    }
}

/// Records a point into the current monitor (scoped or global); without one nothing
/// is recorded (and that is logged once).
pub fn record(point: Point) {
    with_current(|m| match m {
        Some(m) => m.record(point),
        None if SWITCHES.flags.load(Ordering::Relaxed) & QUIET == 0 => warn_nothing_records(),
        None => {}
    });
}

/// The current monitor (scoped or global), if any.
pub fn current() -> Option<Monitor> {
    with_current(|m| m.cloned())
}

pin_project_lite::pin_project! {
    /// A future run with a given monitor as the current one; see [`Monitor::scope`].
    #[must_use = "futures do nothing unless awaited"]
    pub struct Scoped<F> {
        #[pin]
        inner: F,
        monitor: Option<Monitor>,
    }
}

impl<F: Future> Future for Scoped<F> {
    type Output = F::Output;
    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<F::Output> {
        let this = self.project();
        let _guard = SlotGuard::enter(&SCOPED, this.monitor);
        this.inner.poll(cx)
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
        self.config.influx = Some(influx);
        self.config_sink = true;
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
            specs.push(sink::SinkSpec::from_config(&config)?);
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
        let mut queues = Vec::new();
        let mut tasks = Vec::new();
        for spec in specs {
            let (queue, task) = spec.start(&runtime, limits);
            queues.push(queue);
            tasks.push(task);
        }
        let (control_tx, control_rx) = mpsc::unbounded_channel();
        let shared = Arc::new(Shared {
            enabled: true,
            queue: ArrayQueue::new(config.queue_capacity),
            wake_threshold: config.batch_size.min(config.queue_capacity),
            wake_check_mask: ((config.batch_size / 8).next_power_of_two().clamp(1, 64) - 1) as u32,
            wake: Padded(Notify::new()),
            closed: AtomicBool::new(false),
            counters: MonitorCounters::default(),
            control: Some(control_tx),
            sinks: queues,
            shutdown_timeout: Config::duration(config.shutdown_timeout),
        });
        let service = config.service.clone().map(Text::from);
        let worker = Worker::new(
            shared.clone(),
            control_rx,
            tasks,
            service,
            Config::duration(config.flushing_period),
            config.batch_size,
        );
        runtime.spawn(worker.run());
        Ok(Monitor { shared })
    }
}
