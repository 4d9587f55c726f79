//! User plugins: receive every flushed batch of points, as in luna-handlers' plugin hooks
//! (`initialize`, `flush points`, `close`). One instance per monitor, owned by its own
//! task with its own queue, so a slow plugin never delays a request or another sink.

use std::future::Future;

use super::{ExportCx, Exporter, Payload};
use crate::point::Point;
use crate::stats::DropReason;

/// The error a plugin returns.
pub type BoxError = Box<dyn std::error::Error + Send + Sync>;

/// A user-written sink.
///
/// ```
/// use std::sync::atomic::{AtomicU64, Ordering};
/// use std::sync::Arc;
/// use monitoring_runtime::{BoxError, Monitor, Plugin, Point};
///
/// struct CountLicensing(Arc<AtomicU64>);
///
/// impl Plugin for CountLicensing {
///     fn name(&self) -> &str { "count" }
///     async fn flush_points(&mut self, points: &[Point]) -> Result<(), BoxError> {
///         let n = points.iter().filter(|p| p.series() == "licensing").count();
///         self.0.fetch_add(n as u64, Ordering::Relaxed);
///         Ok(())
///     }
/// }
///
/// # #[tokio::main(flavor = "current_thread")] async fn main() {
/// let seen = Arc::new(AtomicU64::new(0));
/// let monitor = Monitor::builder()
///     .without_config_sink()
///     .plugin(CountLicensing(seen.clone()))
///     .start()
///     .unwrap();
/// monitor.record(Point::new("licensing").with_field("liveness_balance", 3i64));
/// monitor.shutdown().await;
/// assert_eq!(seen.load(Ordering::Relaxed), 1);
/// assert_eq!(monitor.stats().sink("plugin:count").unwrap().written, 1);
/// # }
/// ```
pub trait Plugin: Send + 'static {
    /// A short name for stats and logs (`plugin:<name>`).
    fn name(&self) -> &str {
        "plugin"
    }

    /// Called once before the first batch.
    fn initialize(&mut self) -> impl Future<Output = Result<(), BoxError>> + Send {
        async { Ok(()) }
    }

    /// Receives a flushed batch of points (the points of finished requests and any
    /// recorded directly). An error drops the batch for this plugin (counted).
    fn flush_points(
        &mut self,
        points: &[Point],
    ) -> impl Future<Output = Result<(), BoxError>> + Send;

    /// Called once at shutdown, after the last batch.
    fn close(&mut self) -> impl Future<Output = Result<(), BoxError>> + Send {
        async { Ok(()) }
    }
}

pub(super) struct PluginExporter<P>(pub(super) P);

impl<P: Plugin> Exporter for PluginExporter<P> {
    async fn initialize(&mut self) {
        if let Err(e) = self.0.initialize().await {
            tracing::warn!(target: "monitoring", plugin = self.0.name(), error = %e, "monitoring plugin failed to initialize");
        }
    }

    async fn export(&mut self, payload: Payload, cx: &mut ExportCx<'_>) {
        let Payload::Points(points) = payload else {
            return;
        };
        cx.request_sent();
        match self.0.flush_points(&points).await {
            Ok(()) => cx.written(points.len()),
            Err(e) => cx.dropped(
                DropReason::PluginError,
                points.len(),
                &format!("plugin error: {e}"),
            ),
        }
    }

    async fn close(&mut self) {
        if let Err(e) = self.0.close().await {
            tracing::warn!(target: "monitoring", plugin = self.0.name(), error = %e, "monitoring plugin failed to close");
        }
    }
}
