//! The monitor's own health as points (`stats_period`): every period, one point per
//! sink in the series `monitoring`, so that the dashboards show when monitoring data is
//! being dropped. Tags `service` (added as for every point) and `sink`; fields, all
//! cumulative since start: `recorded`, `written`, `buffered`, `spooled`, `retries`,
//! `queue_depth` (points waiting for the flusher now), and `dropped_<reason>` for each
//! drop reason that is not zero (the monitor's own drops, such as `queue_full`,
//! counted on every sink's point). A sink with several endpoints (`urls`) adds one
//! point per endpoint, tagged `endpoint` (its URL), with its `requests` and `failures`.
//! They go to every sink, like any point.

use std::sync::atomic::Ordering::Relaxed;

use crate::point::Point;
use crate::record::{Record, RecordQueue};
use crate::sink::SinkQueue;

/// The series of the health points.
pub(crate) const SERIES: &str = "monitoring";

/// Records one health point per sink into `records`.
pub(crate) fn record(records: &RecordQueue, sinks: &[std::sync::Arc<SinkQueue>]) {
    let recorded = records.counters.recorded.load(Relaxed);
    let queue_depth = records.len() as u64;
    let monitor_drops = records.counters.dropped.snapshot();
    for sink in sinks {
        let stats = sink.stats();
        let mut dropped = stats.dropped;
        dropped.merge(&monitor_drops);
        let mut point = Point::new(SERIES)
            .with_tag("sink", stats.name)
            .with_field("recorded", recorded)
            .with_field("written", stats.written)
            .with_field("buffered", stats.buffered)
            .with_field("spooled", stats.spooled)
            .with_field("retries", stats.retries)
            .with_field("queue_depth", queue_depth);
        for (reason, n) in dropped.iter() {
            point = point.with_field(format!("dropped_{}", reason.as_str()), n);
        }
        records.push_with(|| Record::Point(point));
        if stats.endpoints.len() > 1 {
            for endpoint in &stats.endpoints {
                let point = Point::new(SERIES)
                    .with_tag("sink", sink.name().to_owned())
                    .with_tag("endpoint", endpoint.url.clone())
                    .with_field("requests", endpoint.requests)
                    .with_field("failures", endpoint.failures);
                records.push_with(|| Record::Point(point));
            }
        }
    }
}
