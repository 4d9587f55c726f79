//! What the request path hands to the flusher: a [`Record`] per finished request (or
//! point recorded directly), the parts it carries (inline timings, the extras box and
//! its pool, the timed-field name registry) and the bounded lock-free queue it travels
//! in, with the counters of what was recorded and dropped before the flusher.
//!
//! A request record is kept small (one queue slot is copied in and out per request):
//! two raw clock readings, the status, up to [`SLOTS`] timings inline, the request id if
//! one was given, and `extras` only when the handler added tags, fields or counters.
//!
//! | file | what it holds |
//! |---|---|
//! | `mod.rs` | the [`Record`], a request's record and context, what the macro knows of a handler (`RouteMeta`) |
//! | `times.rs` | the inline timings and the timed-field name registry |
//! | `extras.rs` | tags, fields and counters beyond the built-ins, and their pool |
//! | `link.rs` | what work a request spawned hands over, and additions that came too late |
//! | `queue.rs` | the bounded queue to the flusher and its counters |

mod extras;
mod link;
mod queue;
mod times;

pub(crate) use extras::{extras_of, recycle, Extras};
pub(crate) use link::{late_additions, merge_spawned, Link};
pub(crate) use queue::RecordQueue;
pub(crate) use times::{add_to_slots, field_name, register_field, Times, SLOTS};

use std::sync::atomic::AtomicUsize;

use crate::point::{Point, Text};

/// What the macro knows about a handler at compile time.
#[derive(Debug)]
pub struct RouteMeta {
    /// `METHOD:/resource`.
    pub route: &'static str,
    /// The handler's crate name (the default `service` tag).
    pub crate_name: &'static str,
    /// The router's route last found to agree with this one (its address), or
    /// [`RouteMeta::DISAGREEMENT_LOGGED`]: a nested request compares routes only when
    /// the router's is new to it.
    pub(crate) router_check: AtomicUsize,
}

impl RouteMeta {
    /// The route `METHOD:/resource` of a handler in crate `crate_name`.
    pub const fn new(route: &'static str, crate_name: &'static str) -> Self {
        RouteMeta {
            route,
            crate_name,
            router_check: AtomicUsize::new(0),
        }
    }

    /// [`RouteMeta::router_check`] once a disagreement has been logged.
    pub(crate) const DISAGREEMENT_LOGGED: usize = 1;

    /// `METHOD` and `/resource`.
    pub(crate) fn parts(&self) -> (&'static str, &'static str) {
        self.route.split_once(':').unwrap_or(("", self.route))
    }
}

/// The route of a handler mounted for several methods (`route = "GET|POST:/x"`): the
/// one of `method`, else the first (axum serves `HEAD` with the `GET` handler).
#[doc(hidden)]
pub fn route_for_method(routes: &'static [RouteMeta], method: &str) -> &'static RouteMeta {
    routes
        .iter()
        .find(|meta| meta.parts().0 == method)
        .unwrap_or(&routes[0])
}

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

/// One finished request.
#[derive(Debug)]
pub(crate) struct RequestRecord {
    pub(crate) route: &'static RouteMeta,
    /// Raw clock readings (`crate::clock`), scaled by the flusher.
    pub(crate) start: u64,
    pub(crate) end: u64,
    pub(crate) status: u16,
    pub(crate) times: Times,
    /// The request id given (argument or header); `None`: in luna-handlers' style,
    /// `<unix seconds>,<uuid4>`, drawn and formatted by the flusher, so the request path
    /// does neither.
    pub(crate) request_id: Option<Text>,
    pub(crate) extras: Option<Box<Extras>>,
}

impl RequestRecord {
    /// Points this record becomes (`requests`, `errors`, `usages_statistic`).
    pub(crate) fn point_count(&self) -> u64 {
        1 + u64::from(self.status >= 400)
            + u64::from(self.extras.as_ref().is_some_and(|e| !e.usages.is_empty()))
    }
}

/// What a request collected, kept by its future between polls: timings inline;
/// `extras` stays `None` until a handler adds something else.
#[derive(Debug, Default)]
pub(crate) struct RequestContext {
    pub(crate) times: Times,
    pub(crate) extras: Option<Box<Extras>>,
}

impl RequestContext {
    /// True when nothing was collected.
    pub(crate) fn is_empty(&self) -> bool {
        self.times == Times::EMPTY && self.extras.is_none()
    }
}
