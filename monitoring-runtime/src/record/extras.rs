//! What a request collected beyond the built-in tags and fields, and the pool that
//! keeps the request path from allocating it in the steady state.

use std::sync::Arc;

use crossbeam_queue::ArrayQueue;

use super::Link;
use crate::point::{FieldValue, TagValue, Text};

/// What a request collected beyond the built-in tags and fields. Allocated on first use.
#[derive(Debug, Default)]
pub(crate) struct Extras {
    pub(crate) tags: Vec<(Text, TagValue)>,
    pub(crate) fields: Vec<(Text, FieldValue)>,
    pub(crate) usages: Vec<(&'static str, u64)>,
    /// The error code of a failed request, when the handler gave one.
    pub(crate) error_code: Option<TagValue>,
    /// Where work the request spawned hands over what it collected (made when the
    /// request first spawns something).
    pub(crate) link: Option<Arc<Link>>,
}

/// The extras in `slot`, taken from the pool (or allocated) on first use.
pub(crate) fn extras_of(slot: &mut Option<Box<Extras>>) -> &mut Extras {
    slot.get_or_insert_with(|| POOL.pop().unwrap_or_default())
}

/// Emptied `Extras` (their vectors keep their capacity) handed back by the flusher, so
/// that a request adding tags or timings allocates nothing in the steady state.
static POOL: std::sync::LazyLock<ArrayQueue<Box<Extras>>> =
    std::sync::LazyLock::new(|| ArrayQueue::new(4096));

/// Returns a request's extras to the pool (the flusher calls this).
pub(crate) fn recycle(mut extras: Box<Extras>) {
    extras.tags.clear();
    extras.fields.clear();
    extras.usages.clear();
    extras.error_code = None;
    extras.link = None;
    // Keep pooled boxes small: an unusually large request's vectors are not kept.
    if extras.tags.capacity() <= 16
        && extras.fields.capacity() <= 32
        && extras.usages.capacity() <= 32
    {
        let _ = POOL.push(extras);
    }
}
