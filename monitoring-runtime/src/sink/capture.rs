//! An in-memory sink that tests can assert on.

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use tokio::sync::Notify;

use super::{ExportCx, Exporter, Payload};
use crate::line_protocol::{Dialect, Encoder};
use crate::point::Point;

/// Collects every point a monitor flushes. Clones share the same storage.
///
/// ```
/// # #[tokio::main(flavor = "current_thread")] async fn main() {
/// use monitoring_runtime::{Capture, Monitor, Point};
/// let capture = Capture::new();
/// let monitor = Monitor::builder().without_config_sink().capture(&capture).start().unwrap();
/// monitor.record(Point::new("licensing").with_field("liveness_balance", 10i64));
/// monitor.flush().await;
/// assert_eq!(capture.points()[0].series(), "licensing");
/// # }
/// ```
#[derive(Clone, Debug, Default)]
pub struct Capture {
    inner: Arc<Inner>,
}

#[derive(Debug, Default)]
struct Inner {
    points: Mutex<Vec<Point>>,
    notify: Notify,
}

impl Capture {
    /// An empty capture.
    pub fn new() -> Self {
        Capture::default()
    }

    /// A copy of every point captured so far.
    pub fn points(&self) -> Vec<Point> {
        self.inner
            .points
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
    }

    /// The captured points of `series`.
    pub fn series(&self, series: &str) -> Vec<Point> {
        self.points()
            .into_iter()
            .filter(|p| p.series() == series)
            .collect()
    }

    /// How many points were captured.
    pub fn len(&self) -> usize {
        self.inner
            .points
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .len()
    }

    /// True when nothing was captured.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Forgets the captured points.
    pub fn clear(&self) {
        self.inner
            .points
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clear();
    }

    /// The captured points as 2.x line protocol.
    pub fn lines(&self) -> String {
        let mut encoder = Encoder::new(Dialect::V2);
        let mut out = Vec::new();
        for p in self.points() {
            encoder.encode(&p, &mut out);
        }
        String::from_utf8(out).expect("line protocol is UTF-8")
    }

    /// Waits until at least `n` points were captured, at most `timeout`.
    pub async fn wait_for(&self, n: usize, timeout: Duration) -> bool {
        let deadline = Instant::now() + timeout;
        loop {
            let notified = self.inner.notify.notified();
            if self.len() >= n {
                return true;
            }
            if tokio::time::timeout_at(deadline.into(), notified)
                .await
                .is_err()
            {
                return self.len() >= n;
            }
        }
    }
}

impl Exporter for Capture {
    async fn export(&mut self, payload: Payload, cx: &mut ExportCx<'_>) {
        let Payload::Points(points) = payload else {
            return;
        };
        cx.request_sent();
        self.inner
            .points
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .extend(points.iter().cloned());
        cx.written(points.len());
        self.inner.notify.notify_waiters();
    }
}
