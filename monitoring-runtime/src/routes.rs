//! The routes of boundary requests ([`crate::boundary`]): `METHOD:/template` built once
//! per method and matched template and kept for the process, so that a request's route
//! is a `&'static RouteMeta` like an attribute's. Their number is bounded by the app's
//! routes: raw paths and non-standard methods never become routes.
//!
//! Looked up per request without allocating: first in a small per-thread cache
//! (direct-mapped by a hash of the method and the template's length and two of its
//! bytes, each hit confirmed by comparing the whole route), then in the process-wide
//! table behind a read lock. The cache makes the lookup a few compares instead of a
//! lock and two SipHash lookups (`benches/layer.rs`); it holds only `&'static`
//! entries, so a stale slot can only miss, never answer wrongly.

use std::cell::Cell;
use std::collections::HashMap;
#[cfg(feature = "axum")]
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::RwLock;

use crate::record::RouteMeta;

/// The route of a request no route matched.
const UNMATCHED: &str = "<unmatched>";

/// The nine standard methods; any other is written `OTHER`.
const STANDARD: [&str; 9] = [
    "GET", "POST", "PUT", "DELETE", "PATCH", "HEAD", "OPTIONS", "CONNECT", "TRACE",
];

/// Slots of the per-thread cache (a power of two).
const SLOTS: usize = 64;

thread_local! {
    static RECENT: [Cell<Option<&'static RouteMeta>>; SLOTS] =
        const { [const { Cell::new(None) }; SLOTS] };
}

type Routes = HashMap<&'static str, HashMap<Box<str>, &'static RouteMeta>>;
static ROUTES: RwLock<Option<Routes>> = RwLock::new(None);

/// The route of a request: `METHOD:/template`, or `METHOD:<unmatched>`.
#[inline]
pub(crate) fn route_meta(method: &str, template: Option<&str>) -> &'static RouteMeta {
    let method = standard(method);
    let template = template.unwrap_or(UNMATCHED);
    let slot = slot(method, template);
    let cached = RECENT.with(|recent| recent[slot].get());
    if let Some(meta) = cached.filter(|meta| is_route(meta, method, template)) {
        return meta;
    }
    let meta = interned(method, template);
    RECENT.with(|recent| recent[slot].set(Some(meta)));
    meta
}

/// The method as written in routes: one of the standard nine, else `OTHER`.
#[inline]
fn standard(method: &str) -> &'static str {
    STANDARD
        .iter()
        .find(|m| **m == method)
        .copied()
        .unwrap_or("OTHER")
}

/// The route `METHOD:template` if it exists already; never makes one. For a route
/// taken from a client's path (a gRPC method), which becomes a route only once the
/// server has answered that it implements it ([`learned`]).
#[cfg(feature = "axum")]
#[inline]
pub(crate) fn existing(method: &str, template: &str) -> Option<&'static RouteMeta> {
    let method = standard(method);
    let slot = slot(method, template);
    let cached = RECENT.with(|recent| recent[slot].get());
    if let Some(meta) = cached.filter(|meta| is_route(meta, method, template)) {
        return Some(meta);
    }
    let meta = lookup(method, template)?;
    RECENT.with(|recent| recent[slot].set(Some(meta)));
    Some(meta)
}

/// Routes a process learns from its answers ([`learned`]) at most; later ones are
/// `METHOD:<unmatched>`. A service implements fewer methods than this; the bound holds
/// whatever a client sends and a server answers.
#[cfg(feature = "axum")]
pub(crate) const MAX_LEARNED: usize = 10_000;

#[cfg(feature = "axum")]
static LEARNED: AtomicUsize = AtomicUsize::new(0);

/// The route `METHOD:template`, made if need be, for a template the server's answer
/// showed to be one of its routes; past [`MAX_LEARNED`] such routes, unmatched.
#[cfg(feature = "axum")]
#[cold]
#[inline(never)]
pub(crate) fn learned(method: &str, template: &str) -> &'static RouteMeta {
    learn(&LEARNED, method, template)
}

/// [`learned`], counting the routes learned in `count`.
#[cfg(feature = "axum")]
fn learn(count: &AtomicUsize, method: &str, template: &str) -> &'static RouteMeta {
    if let Some(meta) = existing(method, template) {
        return meta;
    }
    if count.fetch_add(1, Ordering::Relaxed) >= MAX_LEARNED {
        count.store(MAX_LEARNED, Ordering::Relaxed);
        return route_meta(method, None);
    }
    route_meta(method, Some(template))
}

/// The process-wide table's route, if there is one.
fn lookup(method: &'static str, template: &str) -> Option<&'static RouteMeta> {
    let known = ROUTES.read().unwrap_or_else(|e| e.into_inner());
    known
        .as_ref()
        .and_then(|routes| routes.get(method)?.get(template))
        .copied()
}

/// The cache slot of a route: its method's first byte and length, the template's
/// length, middle and last byte, mixed by a multiplication.
#[inline]
fn slot(method: &str, template: &str) -> usize {
    let t = template.as_bytes();
    let key = (t.len() as u64)
        | u64::from(t.last().copied().unwrap_or(0)) << 16
        | u64::from(t.get(t.len() / 2).copied().unwrap_or(0)) << 24
        | u64::from(method.as_bytes()[0]) << 32
        | (method.len() as u64) << 40;
    (key.wrapping_mul(0x9E37_79B9_7F4A_7C15) >> (64 - SLOTS.trailing_zeros())) as usize
}

/// True when `meta` is `method:template`.
#[inline]
fn is_route(meta: &RouteMeta, method: &str, template: &str) -> bool {
    let route = meta.route.as_bytes();
    route.len() == method.len() + 1 + template.len()
        && route[method.len() + 1..] == *template.as_bytes()
        && route[..method.len()] == *method.as_bytes()
}

/// The process-wide table's route, made on first sight.
#[cold]
#[inline(never)]
fn interned(method: &'static str, template: &str) -> &'static RouteMeta {
    if let Some(meta) = lookup(method, template) {
        return meta;
    }
    let mut routes = ROUTES.write().unwrap_or_else(|e| e.into_inner());
    let by_template = routes
        .get_or_insert_with(HashMap::new)
        .entry(method)
        .or_default();
    by_template.entry(template.into()).or_insert_with(|| {
        let route = format!("{method}:{template}");
        // No crate name: the service's default name (the executable's) applies.
        Box::leak(Box::new(RouteMeta::new(
            Box::leak(route.into_boxed_str()),
            "",
        )))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn routes_are_bounded_and_interned() {
        let a = route_meta("GET", Some("/items/{id}"));
        assert_eq!(a.route, "GET:/items/{id}");
        assert!(std::ptr::eq(a, route_meta("GET", Some("/items/{id}"))));
        assert_eq!(route_meta("PURGE", Some("/x")).route, "OTHER:/x");
        assert_eq!(route_meta("POST", None).route, "POST:<unmatched>");
    }

    /// A route looked up is not made; one learned is, and is then found.
    #[cfg(feature = "axum")]
    #[test]
    fn existing_routes_are_found_and_never_made() {
        assert!(existing("POST", "/only.Looked/Up").is_none());
        assert!(existing("POST", "/only.Looked/Up").is_none());
        let learned = learned("POST", "/a.Learned/Route");
        assert_eq!(learned.route, "POST:/a.Learned/Route");
        assert!(std::ptr::eq(
            existing("POST", "/a.Learned/Route").unwrap(),
            learned
        ));
    }

    /// Past `MAX_LEARNED` learned routes a new one is unmatched; one learned before
    /// stays itself. (A count of its own: the process's is shared with other tests.)
    #[cfg(feature = "axum")]
    #[test]
    fn learned_routes_are_capped() {
        let count = AtomicUsize::new(MAX_LEARNED - 1);
        let last = learn(&count, "POST", "/capped.Last/Route");
        assert_eq!(last.route, "POST:/capped.Last/Route");
        let over = learn(&count, "POST", "/capped.Over/Route");
        assert_eq!(over.route, "POST:<unmatched>");
        assert!(existing("POST", "/capped.Over/Route").is_none());
        assert_eq!(count.load(Ordering::Relaxed), MAX_LEARNED);
        assert!(std::ptr::eq(
            learn(&count, "POST", "/capped.Last/Route"),
            last
        ));
    }

    /// Routes that share a cache slot evict each other but are never confused: every
    /// answer is the route asked for, from the cache or from the table.
    #[test]
    fn colliding_routes_are_never_confused() {
        let templates: Vec<String> = (0..500).map(|i| format!("/r{i}/{{id}}")).collect();
        for round in 0..3 {
            for (i, t) in templates.iter().enumerate() {
                let method = STANDARD[(i + round) % STANDARD.len()];
                let meta = route_meta(method, Some(t));
                assert_eq!(meta.route, format!("{method}:{t}"));
                assert!(std::ptr::eq(meta, interned(method, t)));
            }
        }
        // Same length, middle and last byte, different content: same slot, not equal.
        let (a, b) = ("/ab/x", "/cb/x");
        assert_eq!(slot("GET", a), slot("GET", b));
        assert_eq!(route_meta("GET", Some(a)).route, "GET:/ab/x");
        assert_eq!(route_meta("GET", Some(b)).route, "GET:/cb/x");
        assert_eq!(route_meta("GET", Some(a)).route, "GET:/ab/x");
    }
}
