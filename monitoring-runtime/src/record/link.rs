//! Work a request spawned hands over what it collected through the request's link;
//! what arrives after the request ended is left out and counted.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use super::{extras_of, field_name, Extras, RequestContext, Times};
use crate::point::{FieldValue, Text};

/// What tasks a request spawned (`monitoring::spawn`, `spawn_blocking`, `in_request`)
/// collected for it, handed over after each of their polls with the raw clock reading
/// of the hand-over. The flusher merges what was handed over before the request ended
/// and closes the link; the rest, and anything handed over later, is left out and
/// counted ([`late_additions`]). The request path itself never touches the link.
#[derive(Debug, Default)]
pub(crate) struct Link {
    pending: Mutex<Option<Vec<(u64, RequestContext)>>>,
}

/// Additions of spawned work that arrived after their request had finished, in this
/// process.
static LATE: AtomicU64 = AtomicU64::new(0);

/// See [`Link`]: additions that arrived too late, process-wide.
pub(crate) fn late_additions() -> u64 {
    LATE.load(Ordering::Relaxed)
}

impl Link {
    pub(crate) fn new() -> Arc<Link> {
        Arc::new(Link {
            pending: Mutex::new(Some(Vec::new())),
        })
    }

    /// Hands over what a spawned task collected; counted and dropped once the request
    /// has finished.
    pub(crate) fn deliver(&self, collected: RequestContext) {
        if collected.is_empty() {
            return;
        }
        let at = crate::clock::raw();
        let mut pending = self.pending.lock().unwrap_or_else(|e| e.into_inner());
        match pending.as_mut() {
            Some(pending) => pending.push((at, collected)),
            None => {
                drop(pending);
                late(&collected);
            }
        }
    }

    /// Closes the link: what was handed over before `end` (a raw clock reading), for
    /// the request to merge; what came later is counted as late.
    fn close(&self, end: u64) -> Vec<RequestContext> {
        let pending = self
            .pending
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .take();
        let mut merged = Vec::new();
        for (at, collected) in pending.unwrap_or_default() {
            if at <= end {
                merged.push(collected);
            } else {
                late(&collected);
            }
        }
        merged
    }
}

/// Counts (and logs once) additions that came after their request finished.
#[cold]
fn late(collected: &RequestContext) {
    let extras = collected.extras.as_deref();
    let n = collected.times.iter().count()
        + extras.map_or(0, |e| e.tags.len() + e.fields.len() + e.usages.len());
    if LATE.fetch_add(n as u64, Ordering::Relaxed) == 0 {
        tracing::warn!(
            target: "monitoring",
            "work spawned by a request added tags, fields or timings after the request had \
             finished: they are left out (counted as late_additions in stats; logged once)"
        );
    }
}

/// Merges into a finished request (the flusher's side) what its spawned work handed
/// over before `end`: tags are added, timings and float fields accumulate, other fields
/// and counters as their own `add_*` calls would, the last error code set wins.
pub(crate) fn merge_spawned(
    times: &mut Times,
    extras: &mut Option<Box<Extras>>,
    end: u64,
    names: &mut Vec<&'static str>,
) {
    let Some(link) = extras.as_mut().and_then(|e| e.link.take()) else {
        return;
    };
    for child in link.close(end) {
        for (id, ns) in child.times.iter() {
            if !times.add(id, ns) {
                let name = field_name(id, names);
                add_float(extras_of(extras), name, ns as f64 / 1e9);
            }
        }
        let Some(mut child) = child.extras else {
            continue;
        };
        let extras = extras_of(extras);
        extras.tags.append(&mut child.tags);
        for (key, value) in child.fields.drain(..) {
            match (extras.fields.iter_mut().find(|(k, _)| *k == key), value) {
                (Some((_, FieldValue::Float(total))), FieldValue::Float(x)) => *total += x,
                (Some(slot), value) => slot.1 = value,
                (None, value) => extras.fields.push((key, value)),
            }
        }
        for (name, n) in child.usages.drain(..) {
            match extras.usages.iter_mut().find(|(k, _)| *k == name) {
                Some((_, total)) => *total = total.saturating_add(n),
                None => extras.usages.push((name, n)),
            }
        }
        if child.error_code.is_some() {
            extras.error_code = child.error_code.take();
        }
    }
}

fn add_float(extras: &mut Extras, name: &'static str, secs: f64) {
    match extras.fields.iter_mut().find(|(k, _)| k.as_str() == name) {
        Some((_, FieldValue::Float(total))) => *total += secs,
        _ => extras
            .fields
            .push((Text::Static(name), FieldValue::Float(secs))),
    }
}
