//! Estimator counters: [`UsageStatistics`] (what `#[derive(UsageStatistics)]`
//! implements), emitted with the current request as one `usages_statistic` point.

use crate::point::{FieldValue, Point};
use crate::schema::USAGES;

/// A struct of counters, each an integer field of the `usages_statistic` point
/// (tag `service`). Derive it with `#[derive(UsageStatistics)]`.
pub trait UsageStatistics {
    /// Calls `f` with each counter's field name and value.
    fn for_each_counter(&self, f: &mut dyn FnMut(&'static str, u64));

    /// Adds the counters to the current request (emitted with it, zero counters
    /// omitted); outside a request records a `usages_statistic` point at once. Nothing
    /// is recorded when every counter is zero.
    fn record(&self) {
        record_usages(self)
    }
}

/// See [`UsageStatistics::record`].
pub fn record_usages<U: UsageStatistics + ?Sized>(usages: &U) {
    if crate::context::add_usages(&mut |f| usages.for_each_counter(f)) {
        return;
    }
    let mut point = Point::new(USAGES);
    usages.for_each_counter(&mut |name, n| {
        if n > 0 {
            point.add_field(name, FieldValue::Int(n.min(i64::MAX as u64) as i64));
        }
    });
    if !point.fields.is_empty() {
        crate::current::record(point);
    }
}
