//! Derives on inputs that are easy to get wrong.
#![deny(warnings, unused_qualifications)]

use std::time::SystemTime;

use monitoring::{MonitoringPoint, UsageStatistics};

/// Generic struct, raw identifiers, skip.
#[derive(Default, UsageStatistics)]
pub struct Counters<T: Default> {
    /// A raw identifier.
    pub r#type: u64,
    /// Small counter.
    pub small: u8,
    /// Size counter.
    pub size: usize,
    /// Not a counter.
    #[usage(skip)]
    pub label: T,
}

/// Options, timestamp, tags of several types.
#[derive(MonitoringPoint)]
#[point(series = "licensing")]
pub struct Check<'a> {
    /// Borrowed tag.
    #[point(tag)]
    pub status: &'a str,
    /// Numeric tag.
    #[point(tag)]
    pub shard: u16,
    /// Renamed field.
    #[point(rename = "liveness_balance")]
    pub balance: i64,
    /// Omitted when None.
    pub warnings: Option<String>,
    /// When.
    #[point(timestamp)]
    pub at: SystemTime,
}

fn main() {
    let c = Counters::<String>::default();
    let _ = &c.label;
    let mut n = 0;
    c.for_each_counter(&mut |_, v| n += v);
    let p = Check { status: "ok", shard: 1, balance: 2, warnings: None, at: SystemTime::now() }.to_point();
    assert_eq!(p.series(), "licensing");
}
