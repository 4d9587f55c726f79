//! What a boundary adapter may be told beyond the defaults (features `axum`, `actix`):
//! routes to leave out (health checks, `/metrics`), tags taken from request headers
//! with their cardinality bounded, and (tower) a function naming the routes of a
//! service without axum's router.
//!
//! A header tag's value becomes a tag of the request's points when it is 1 to
//! [`MAX_TAG_VALUE`] bytes of text without control characters, else `<invalid>`. Each
//! tag key keeps at most [`MAX_TAG_VALUES`] distinct values per process (however many
//! adapters take it); later new values
//! are recorded as `<other>` and counted ([`Stats::tag_values_capped`](crate::Stats)),
//! so a client can never create unbounded series. Values are interned: a request whose
//! value was seen before allocates nothing for it.

use std::collections::HashMap;
use std::sync::{Arc, RwLock};

use crate::point::{TagValue, Text};
use crate::record::RouteMeta;

/// The longest header value taken as a tag, in bytes.
pub(crate) const MAX_TAG_VALUE: usize = 64;
/// Distinct values a header tag keeps per process; later ones are `<other>`.
pub(crate) const MAX_TAG_VALUES: usize = 1000;

/// A tag key's values seen so far in this process, interned.
type Values = RwLock<HashMap<Box<str>, Arc<str>>>;

/// The values of every header tag key, process-wide: the bound is per tag key and
/// process, however many layers or middlewares take the tag.
static KEYS: std::sync::Mutex<Vec<(Box<str>, Arc<Values>)>> = std::sync::Mutex::new(Vec::new());

fn values_of(key: &str) -> Arc<Values> {
    let mut keys = KEYS.lock().unwrap_or_else(|e| e.into_inner());
    if let Some((_, values)) = keys.iter().find(|(k, _)| &**k == key) {
        return values.clone();
    }
    let values = Arc::new(Values::default());
    keys.push((key.into(), values.clone()));
    values
}

/// A tag taken from a request header.
#[derive(Debug)]
pub(crate) struct HeaderTag {
    /// The header, lower case.
    pub(crate) header: http::HeaderName,
    pub(crate) key: Text,
    /// The tag key's values seen so far (shared by every `HeaderTag` of this key).
    values: Arc<Values>,
}

impl HeaderTag {
    pub(crate) fn new(header: http::HeaderName, key: impl Into<Text>) -> Self {
        let key = key.into();
        HeaderTag {
            values: values_of(key.as_str()),
            header,
            key,
        }
    }

    /// The tag value for the header's `value` (`None`: the header is absent).
    pub(crate) fn value(&self, value: Option<&[u8]>) -> Option<TagValue> {
        let value = value?;
        let Some(text) = usable(value) else {
            return Some(TagValue::Text(Text::Static("<invalid>")));
        };
        let known = self.values.read().unwrap_or_else(|e| e.into_inner());
        if let Some(interned) = known.get(text) {
            return Some(TagValue::Text(Text::Shared(interned.clone())));
        }
        drop(known);
        let mut known = self.values.write().unwrap_or_else(|e| e.into_inner());
        if let Some(interned) = known.get(text) {
            return Some(TagValue::Text(Text::Shared(interned.clone())));
        }
        if known.len() >= MAX_TAG_VALUES {
            crate::stats::count_tag_value_capped();
            return Some(TagValue::Text(Text::Static("<other>")));
        }
        let interned: Arc<str> = Arc::from(text);
        known.insert(text.into(), interned.clone());
        Some(TagValue::Text(Text::Shared(interned)))
    }
}

fn usable(value: &[u8]) -> Option<&str> {
    if value.is_empty() || value.len() > MAX_TAG_VALUE {
        return None;
    }
    std::str::from_utf8(value)
        .ok()
        .filter(|v| !v.chars().any(char::is_control))
}

/// What an adapter was told: the routes it leaves out, the tags it takes from headers.
/// (`pub` for the layer's sealed options trait; the module is private.)
#[derive(Debug, Default)]
#[allow(unreachable_pub)]
pub struct Controls {
    /// Interned routes (`METHOD:/template`) recorded by nothing.
    pub(crate) skip: Vec<&'static RouteMeta>,
    pub(crate) header_tags: Vec<HeaderTag>,
}

impl Controls {
    /// True when requests of `route` are left out.
    #[inline]
    pub(crate) fn skips(&self, route: &'static RouteMeta) -> bool {
        self.skip.iter().any(|r| std::ptr::eq(*r, route))
    }

    /// The header tags of a request whose headers `header` reads.
    pub(crate) fn tags<'a>(
        &self,
        header: impl Fn(&http::HeaderName) -> Option<&'a [u8]>,
    ) -> Vec<(Text, TagValue)> {
        (self.header_tags.iter())
            .filter_map(|tag| Some((tag.key.clone(), tag.value(header(&tag.header))?)))
            .collect()
    }
}

/// `controls` to change, made or unshared first (each adapter keeps an `Arc` that the
/// services it made share).
pub(crate) fn edit(controls: &mut Option<Arc<Controls>>) -> &mut Controls {
    let controls = controls.get_or_insert_with(Default::default);
    if Arc::get_mut(controls).is_none() {
        *controls = Arc::new(Controls {
            skip: controls.skip.clone(),
            header_tags: (controls.header_tags.iter())
                .map(|t| HeaderTag::new(t.header.clone(), t.key.clone()))
                .collect(),
        });
    }
    Arc::get_mut(controls).expect("unshared")
}

impl Controls {
    /// Adds routes to leave out; one that is not `METHOD:/template` is left out of the
    /// list with one ERROR naming `adapter`.
    pub(crate) fn add_skip<I>(&mut self, adapter: &str, routes: I)
    where
        I: IntoIterator,
        I::Item: AsRef<str>,
    {
        for route in routes {
            match skip_route(route.as_ref()) {
                Ok(route) => self.skip.push(route),
                Err(e) => tracing::error!(target: "monitoring", "{adapter}::skip: {e}; ignored"),
            }
        }
    }

    /// Adds a tag from a header; a header name that is not one is left out with one
    /// ERROR naming `adapter`.
    pub(crate) fn add_header_tag(&mut self, adapter: &str, header: &str, tag: &str) {
        match http::HeaderName::from_bytes(header.as_bytes()) {
            Ok(name) => self.header_tags.push(HeaderTag::new(name, tag.to_owned())),
            Err(_) => {
                tracing::error!(target: "monitoring", header, "{adapter}::tag_from_header: not a header name; ignored")
            }
        }
    }

    /// The configuration's `skip_routes` and `header_tags`, for `adapter`.
    pub(crate) fn from_config(
        adapter: &str,
        config: &crate::config::Config,
    ) -> Option<Arc<Controls>> {
        if config.skip_routes.is_empty() && config.header_tags.is_empty() {
            return None;
        }
        let mut controls = Controls::default();
        controls.add_skip(adapter, &config.skip_routes);
        for (header, tag) in &config.header_tags {
            controls.add_header_tag(adapter, header, tag);
        }
        Some(Arc::new(controls))
    }
}

/// Parses `METHOD:/template` as recorded (`GET:/health`,
/// `POST:/grpc.health.v1.Health/Check`) into its interned route; an error says what is
/// wrong with it.
pub(crate) fn skip_route(route: &str) -> Result<&'static RouteMeta, String> {
    let (method, template) = crate::config::route_parts(route)?;
    Ok(crate::routes::route_meta(method, Some(template)))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn text(v: Option<TagValue>) -> String {
        match v {
            Some(TagValue::Text(t)) => t.as_str().to_owned(),
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn header_values_are_checked_interned_and_capped() {
        // A key no other test uses: the bound is per key and process.
        let tag = HeaderTag::new(http::HeaderName::from_static("x-tenant-id"), "unit_tenant");
        assert_eq!(tag.value(None), None);
        assert_eq!(text(tag.value(Some(b"acme"))), "acme");
        for bad in [&b""[..], b"a\tb", b"\xff", &[b'x'; 65]] {
            assert_eq!(text(tag.value(Some(bad))), "<invalid>", "{bad:?}");
        }
        assert_eq!(text(tag.value(Some(&[b'y'; 64]))).len(), 64);
        let before = crate::stats::tag_values_capped();
        for i in 0..MAX_TAG_VALUES + 5 {
            let _ = tag.value(Some(format!("t{i}").as_bytes()));
        }
        // "acme" and the 64 y's took two places: 998 more fit, 7 did not.
        assert_eq!(crate::stats::tag_values_capped() - before, 7);
        assert_eq!(text(tag.value(Some(b"t2000"))), "<other>");
        assert_eq!(text(tag.value(Some(b"acme"))), "acme", "known values stay");
        // Another adapter taking the same tag shares the bound.
        let again = HeaderTag::new(http::HeaderName::from_static("x-other"), "unit_tenant");
        assert_eq!(text(again.value(Some(b"t3000"))), "<other>");
        assert_eq!(text(again.value(Some(b"t7"))), "t7");
    }

    #[test]
    fn skip_routes_are_parsed_as_recorded() {
        let health = skip_route("GET:/health").unwrap();
        assert!(std::ptr::eq(
            health,
            crate::routes::route_meta("GET", Some("/health"))
        ));
        assert!(skip_route("POST:/grpc.health.v1.Health/Check").is_ok());
        for bad in ["/health", "get:/health", "GET:health", ":/x"] {
            assert!(skip_route(bad).is_err(), "{bad}");
        }
    }
}
