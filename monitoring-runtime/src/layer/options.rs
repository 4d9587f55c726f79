//! What a [`MonitoringLayer`](super::MonitoringLayer) may be told beyond the defaults
//! (`skip`, `tag_from_header`, `route_with`, `from_config`), as its type parameter.
//!
//! The default layer is zero-sized, and must stay so: axum clones a router's layer
//! closure for every request to a handler route (`MethodRouter` boxes the handler and
//! its layers anew), and boxing a closure that holds anything allocates. A layer that
//! held its (empty) options cost every request one allocation and ~400 instructions
//! (`scripts/callgrind.sh layer_monitoring`; divan's allocation count in
//! `benches/layer.rs`). Told anything, the layer becomes `MonitoringLayer<LayerOptions>`,
//! whose per-request clone is that one allocation.

use std::sync::Arc;

use super::RequestHead;
use crate::controls::Controls;

/// (`pub` for the sealed trait below; the module is private.)
#[allow(unreachable_pub)]
pub type RouteFn = Arc<dyn Fn(&RequestHead<'_>) -> Option<&'static str> + Send + Sync>;

/// The options of a configured [`MonitoringLayer`](super::MonitoringLayer): routes left
/// out, tags from headers, a function naming routes.
#[derive(Clone, Default)]
pub struct LayerOptions {
    pub(super) controls: Option<Arc<Controls>>,
    pub(super) route_with: Option<RouteFn>,
}

impl std::fmt::Debug for LayerOptions {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LayerOptions")
            .field("controls", &self.controls)
            .field("route_with", &self.route_with.as_ref().map(|_| "Fn"))
            .finish()
    }
}

pub(super) mod sealed {
    use super::{Controls, LayerOptions, RouteFn};

    /// What the layer reads from its options; private to the crate.
    pub trait Sealed {
        fn controls(&self) -> Option<&Controls>;
        fn route_with(&self) -> Option<&RouteFn>;
        fn into_options(self) -> LayerOptions;
    }

    impl Sealed for () {
        #[inline]
        fn controls(&self) -> Option<&Controls> {
            None
        }
        #[inline]
        fn route_with(&self) -> Option<&RouteFn> {
            None
        }
        fn into_options(self) -> LayerOptions {
            LayerOptions::default()
        }
    }

    impl Sealed for LayerOptions {
        #[inline]
        fn controls(&self) -> Option<&Controls> {
            self.controls.as_deref()
        }
        #[inline]
        fn route_with(&self) -> Option<&RouteFn> {
            self.route_with.as_ref()
        }
        fn into_options(self) -> LayerOptions {
            self
        }
    }
}

/// The options a [`MonitoringLayer`](super::MonitoringLayer) carries: none (`()`, the
/// default, zero-sized) or [`LayerOptions`]. Sealed: implemented by those two only.
pub trait LayerConfig: sealed::Sealed + Clone + Send + Sync + 'static {}

impl LayerConfig for () {}
impl LayerConfig for LayerOptions {}

#[cfg(test)]
mod tests {
    use super::super::MonitoringLayer;

    /// The default layer holds nothing: axum boxes a copy of it for every request to a
    /// handler route, and a box of nothing allocates nothing (see the module docs).
    #[test]
    fn the_default_layer_is_zero_sized() {
        assert_eq!(std::mem::size_of::<MonitoringLayer>(), 0);
        let told = MonitoringLayer::new().skip(["GET:/health"]);
        assert_ne!(std::mem::size_of_val(&told), 0);
    }
}
