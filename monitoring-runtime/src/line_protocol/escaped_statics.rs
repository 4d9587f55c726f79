//! The escaped-static cache: `&'static str` text that needs escaping or replacing
//! (a series named `my series`, a field key `save warps time`, a constant string value
//! with quotes), kept as written, per element, so that it is escaped once per encoder
//! and copied on every later line.
//!
//! Static text never changes, and how it is written depends only on its bytes and the
//! element it is written as (series name, tag key or value, field key, string field
//! value): the cached bytes are exactly what escaping would write again, and whether
//! escaping replaced a byte (`sanitized`) is kept with them, so each line still counts
//! it. Text built at run time never comes here.
//!
//! Like the plain static-name cache: open addressing keyed by address, length and
//! element, [`PROBES`] slots from a home slot, nothing evicted. The written bytes live
//! in one buffer of at most [`MAX_BYTES`]; text that does not fit (or past [`PROBES`]
//! taken slots) is escaped on every line instead, with the same result.

use super::static_names::{static_hash, PROBES};
use super::writer::Writer;
use super::{Element, Encoder};

/// Slots of the cache (a power of two): services have few such names.
const SLOTS: usize = 64;
/// Bytes of written text the cache holds in all.
pub(super) const MAX_BYTES: usize = 16 * 1024;
/// Longest static text cached (longer text is rare and costs its escaping anyway).
pub(super) const MAX_TEXT: usize = 1024;

/// What a cache entry is written as: a series name, tag key or value, field key
/// ([`Element`](super::Element) as a number) or a string field value (with its quotes).
pub(super) const STRING_VALUE: u8 = 3;

/// A cached text: its key (address; length and kind), where its written bytes are,
/// and whether writing it replaced a byte. A key of zeros is an empty slot.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
struct Slot {
    key: (usize, usize),
    from: u32,
    to: u32,
    sanitized: bool,
}

/// The cache (one per encoder).
#[derive(Debug)]
pub(super) struct EscapedStatics {
    slots: Box<[Slot; SLOTS]>,
    bytes: Vec<u8>,
}

/// Cached text as written, and whether writing it replaced a byte.
pub(super) struct Written<'a> {
    pub(super) bytes: &'a [u8],
    pub(super) sanitized: bool,
}

/// `s` as `kind`: never zeros (the length part holds the kind plus one).
#[inline(always)]
fn key(s: &'static str, kind: u8) -> (usize, usize) {
    (s.as_ptr() as usize, s.len() << 8 | usize::from(kind + 1))
}

#[inline(always)]
fn home(s: &'static str, kind: u8) -> usize {
    (static_hash(s) >> (usize::BITS - SLOTS.trailing_zeros())) ^ usize::from(kind)
}

impl EscapedStatics {
    pub(super) fn new() -> Self {
        EscapedStatics {
            slots: Box::new([Slot::default(); SLOTS]),
            bytes: Vec::new(),
        }
    }

    /// `s` as written as `kind`, if cached.
    #[inline(always)]
    pub(super) fn get(&self, s: &'static str, kind: u8) -> Option<Written<'_>> {
        let (key, home) = (key(s, kind), home(s, kind));
        for probe in 0..PROBES {
            let slot = &self.slots[(home + probe) & (SLOTS - 1)];
            if slot.key == key {
                return Some(Written {
                    bytes: &self.bytes[slot.from as usize..slot.to as usize],
                    sanitized: slot.sanitized,
                });
            }
            if slot.key == (0, 0) {
                return None;
            }
        }
        None
    }

    /// Remembers `written`, how `s` is written as `kind`, when there is room.
    #[cold]
    pub(super) fn remember(&mut self, s: &'static str, kind: u8, written: &[u8], sanitized: bool) {
        if s.len() > MAX_TEXT || self.bytes.len() + written.len() > MAX_BYTES {
            return;
        }
        let home = home(s, kind);
        for probe in 0..PROBES {
            let slot = &mut self.slots[(home + probe) & (SLOTS - 1)];
            if slot.key == (0, 0) {
                let from = self.bytes.len();
                self.bytes.extend_from_slice(written);
                *slot = Slot {
                    key: key(s, kind),
                    from: from as u32,
                    to: self.bytes.len() as u32,
                    sanitized,
                };
                return;
            }
        }
    }
}

impl Encoder {
    /// Writes static text that needs escaping or replacing from byte `first` on as
    /// `element`: from the cache, or escaped and then cached.
    #[inline(always)]
    pub(super) fn write_escaped_static(
        &mut self,
        w: &mut Writer,
        s: &'static str,
        first: usize,
        element: Element,
    ) {
        if !self.write_from_cache(w, s, element as u8) {
            self.escape_static(w, s, first, element);
        }
    }

    #[cold]
    #[inline(never)]
    fn escape_static(&mut self, w: &mut Writer, s: &'static str, first: usize, element: Element) {
        let (start, sanitized) = (w.pos, self.issues.sanitized);
        self.write_escaped(w, s.as_bytes(), first, element);
        self.remember_written(w, s, element as u8, start, sanitized);
    }

    /// Writes a static string field value, in its quotes, from the cache (where static
    /// values up to [`MAX_TEXT`] bytes go the first time, escaped or not; longer ones
    /// are written, and cut if need be, every time).
    #[inline(always)]
    pub(super) fn write_static_string_field(&mut self, w: &mut Writer, s: &'static str) {
        if !self.write_from_cache(w, s, STRING_VALUE) {
            self.write_new_static_string(w, s);
        }
    }

    #[inline(never)]
    fn write_new_static_string(&mut self, w: &mut Writer, s: &'static str) {
        if s.len() > MAX_TEXT {
            // Not cached (maybe over 64 KiB: cut and counted on every line).
            return self.write_string_field(w, s);
        }
        let (start, sanitized) = (w.pos, self.issues.sanitized);
        self.write_string_value(w, s.as_bytes());
        self.remember_written(w, s, STRING_VALUE, start, sanitized);
    }

    /// Writes `s` as `kind` from the cache; false when it is not there.
    #[inline(always)]
    fn write_from_cache(&mut self, w: &mut Writer, s: &'static str, kind: u8) -> bool {
        let Some(written) = self.escaped_statics.get(s, kind) else {
            return false;
        };
        w.text(written.bytes);
        self.issues.sanitized += u64::from(written.sanitized);
        true
    }

    /// Caches what was just written for `s` as `kind`: the line from `start` on, and
    /// whether the sanitized count moved past `sanitized`.
    #[cold]
    fn remember_written(
        &mut self,
        w: &Writer,
        s: &'static str,
        kind: u8,
        start: usize,
        sanitized: u64,
    ) {
        let replaced = self.issues.sanitized != sanitized;
        self.escaped_statics
            .remember(s, kind, &w.buf[start..w.pos], replaced);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::line_protocol::{Dialect, EncodeIssues};
    use crate::point::{Point, Text};

    /// Encodes `point` three times with one encoder: the lines and what was counted.
    fn three_lines(point: &Point) -> (Vec<u8>, EncodeIssues) {
        let mut encoder = Encoder::new(Dialect::V2);
        let mut out = Vec::new();
        for _ in 0..3 {
            encoder.encode(point, &mut out);
        }
        (out, encoder.take_issues())
    }

    /// Static text that needs escaping or replacing is written, and counted, on every
    /// line exactly as the same text built at run time, as every element.
    #[test]
    fn static_text_is_written_as_run_time_text_on_every_line() {
        let texts = [
            "my series,1",
            "k e,y=1",
            "v a,l=u e",
            "C:\\data\\x",
            "ends\\",
            "two\\\\back",
            "#hash",
            "q\"uote",
            "say \"hi\" \\ bye",
            "line\nbreak\r",
            "tab\there\0",
            "=,= ",
            "caf\u{e9} \u{1F600},x",
        ];
        for text in texts {
            let s: &'static str = Box::leak(text.to_owned().into_boxed_str());
            let point = |t: fn(&'static str) -> Text| {
                Point::at(t(s), 1_764_000_000_000_000_000)
                    .with_tag(t(s), t(s))
                    .with_tag("path", t(s))
                    .with_field(t(s), t(s))
                    .with_field("s", t(s))
            };
            let shared = three_lines(&point(|s| Text::Shared(s.into())));
            let stat = three_lines(&point(Text::Static));
            assert_eq!(
                String::from_utf8_lossy(&stat.0),
                String::from_utf8_lossy(&shared.0),
                "{text:?}"
            );
            assert_eq!(stat.1, shared.1, "{text:?}");
        }
    }

    #[test]
    fn text_is_cached_per_kind_and_the_cache_is_bounded() {
        let mut cache = EscapedStatics::new();
        let name: &'static str = "my series,1";
        assert!(cache.get(name, 0).is_none());
        cache.remember(name, 0, b"my\\ series\\,1", false);
        let got = cache.get(name, 0).expect("cached");
        assert_eq!(got.bytes, b"my\\ series\\,1");
        assert!(!got.sanitized);
        // The same text as another element is another entry.
        assert!(cache.get(name, 1).is_none());
        cache.remember(name, 1, b"x", true);
        assert!(cache.get(name, 1).expect("cached").sanitized);
        assert_eq!(cache.get(name, 0).expect("kept").bytes, b"my\\ series\\,1");
        // Another string with the same text at another address is not this one.
        let copy: &'static str = Box::leak(name.to_owned().into_boxed_str());
        assert!(cache.get(copy, 0).is_none());
        // Never more than MAX_BYTES in all, and nothing longer than MAX_TEXT.
        let long: &'static str = Box::leak("a ".repeat(MAX_TEXT).into_boxed_str());
        cache.remember(long, 0, long.as_bytes(), false);
        assert!(cache.get(long, 0).is_none());
        for i in 0..200 {
            let s: &'static str = Box::leak(format!("name {i}").into_boxed_str());
            cache.remember(s, 2, &[b'x'; 512], false);
        }
        assert!(cache.bytes.len() <= MAX_BYTES);
    }
}
