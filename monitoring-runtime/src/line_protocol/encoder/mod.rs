//! The [`Encoder`]: a point to one line, under the policy of [`crate::line_protocol`].
//! Its tag writers are in `tags.rs`, its field writers in `fields.rs`.

mod fields;
mod tags;

use super::escaped_statics::EscapedStatics;
use super::static_names::STATIC_CACHE;
use super::writer::Writer;
use super::{Dialect, EncodeIssues, MAX_SERIES_KEY_BYTES};
use crate::point::{Point, TagValue, Text};

/// `a < b` in byte order, deciding on the first two bytes when they differ (tag keys
/// usually do) without a `memcmp` call.
#[inline]
fn key_less(a: &[u8], b: &[u8]) -> bool {
    for i in 0..2 {
        match (a.get(i), b.get(i)) {
            (Some(x), Some(y)) if x != y => return x < y,
            (Some(_), Some(_)) => {}
            _ => break,
        }
    }
    a < b
}

/// Encodes points as line protocol. Reuse one encoder: it keeps scratch space so that
/// encoding allocates nothing once warmed up.
#[derive(Debug)]
pub struct Encoder {
    pub(super) dialect: Dialect,
    /// The sorting path's valid tags: their index and where their key, as written,
    /// is in `keys`.
    pub(super) tag_keys: Vec<(usize, usize, usize)>,
    /// Keys as written, for the paths that order or deduplicate by them.
    pub(super) keys: Vec<u8>,
    pub(super) issues: EncodeIssues,
    /// `&'static str` names already seen to need no escaping, by address and length:
    /// static text never changes, so the scan is done once per name, not per line.
    pub(super) plain_statics: Box<[(usize, usize); STATIC_CACHE]>,
    /// `&'static str` text that needs escaping, as written (escaped once per encoder).
    pub(super) escaped_statics: EscapedStatics,
    /// Where lines are written before they are appended to the output.
    pub(super) scratch: Vec<u8>,
    /// The whole seconds of the last timestamp written, as digits.
    pub(super) seconds: (i64, [u8; 20], usize),
}

/// How writing a point's fields ended.
#[derive(Clone, Copy, PartialEq, Eq)]
pub(super) enum Fields {
    Written,
    /// No field could be written: the point is dropped.
    Empty,
    /// A key was sanitized, so two keys as written may be equal: written again,
    /// deduplicated.
    MaybeDuplicate,
}

#[derive(Clone, Copy, PartialEq, Eq)]
pub(super) enum Element {
    Series,
    Name,
    FieldKey,
}

impl Encoder {
    /// An encoder for `dialect`.
    pub fn new(dialect: Dialect) -> Self {
        Encoder {
            dialect,
            tag_keys: Vec::with_capacity(16),
            keys: vec![0; 256],
            issues: EncodeIssues::default(),
            plain_statics: Box::new([(0, 0); STATIC_CACHE]),
            escaped_statics: EscapedStatics::new(),
            scratch: vec![0; 1024],
            seconds: (-1, [0; 20], 0),
        }
    }

    /// The dialect this encoder writes.
    pub fn dialect(&self) -> Dialect {
        self.dialect
    }

    /// What was changed or left out since the last [`take_issues`](Self::take_issues).
    pub fn issues(&self) -> &EncodeIssues {
        &self.issues
    }

    /// Returns and resets the issue counts.
    pub fn take_issues(&mut self) -> EncodeIssues {
        std::mem::take(&mut self.issues)
    }

    /// Appends `point` as one `\n`-terminated line to `out`. Returns `false` (and
    /// leaves `out` as it was) when the point had to be dropped.
    pub fn encode(&mut self, point: &Point, out: &mut Vec<u8>) -> bool {
        let mut w = Writer {
            buf: std::mem::take(&mut self.scratch),
            pos: 0,
        };
        let written = self.encode_inner(point, &mut w);
        if written {
            out.extend_from_slice(&w.buf[..w.pos]);
        } else {
            self.issues.points_dropped += 1;
        }
        self.scratch = w.buf;
        written
    }

    /// Encodes one point into a new string (convenient in tests and plugins).
    pub fn encode_to_string(&mut self, point: &Point) -> Option<String> {
        let mut out = Vec::new();
        self.encode(point, &mut out)
            .then(|| String::from_utf8(out).expect("line protocol is UTF-8"))
    }

    fn encode_inner(&mut self, point: &Point, w: &mut Writer) -> bool {
        let series = point.series.as_str();
        if series.is_empty() || series.starts_with('_') {
            return false;
        }
        self.write_text(w, &point.series, Element::Series);

        // Fast path, written while checking: every tag valid and keys strictly
        // ascending (the flusher builds request points that way). Anything else
        // rewinds and takes the sorting path.
        let (mark, sanitized) = (w.pos, self.issues.sanitized);
        if !self.write_tags_in_order(point, w) {
            w.pos = mark;
            self.issues.sanitized = sanitized;
            self.write_tags_sorted(point, w);
        }
        if w.pos > MAX_SERIES_KEY_BYTES {
            return false;
        }
        // The builders replace an equal key, so keys differ before they are written.
        debug_assert!(
            distinct(point.fields.iter().map(|(k, _)| k)),
            "a point with two fields of the same key: {point:?}"
        );
        let (mark, before) = (w.pos, self.issues);
        match self.write_fields(&point.fields, point.timestamp_ns, w, true) {
            Fields::Written => true,
            Fields::Empty => false,
            Fields::MaybeDuplicate => {
                w.pos = mark;
                self.issues = before;
                self.write_fields_deduped(point, w)
            }
        }
    }

    /// Writes a timestamp; the digits of its whole seconds are kept from the previous
    /// line, since the points of a batch mostly share them.
    #[inline(always)]
    pub(in crate::line_protocol) fn write_timestamp(&mut self, w: &mut Writer, ns: i64) {
        const NS_PER_S: i64 = 1_000_000_000;
        if ns < NS_PER_S {
            w.bytes(itoa::Buffer::new().format(ns).as_bytes());
            return;
        }
        let (secs, sub) = (ns / NS_PER_S, ns % NS_PER_S);
        if secs != self.seconds.0 {
            let mut digits = itoa::Buffer::new();
            let text = digits.format(secs).as_bytes();
            self.seconds = (secs, [0; 20], text.len());
            self.seconds.1[..text.len()].copy_from_slice(text);
        }
        let (_, digits, len) = &self.seconds;
        w.bytes(&digits[..*len]);
        w.nine_digits(sub as u32);
    }
}

/// True when no two of `keys` are equal (debug checks).
fn distinct<'a>(keys: impl Iterator<Item = &'a Text> + Clone) -> bool {
    keys.clone()
        .enumerate()
        .all(|(i, a)| keys.clone().skip(i + 1).all(|b| a != b))
}

fn tag_value_is_empty(value: &TagValue) -> bool {
    match value {
        TagValue::Text(t) => t.is_empty(),
        TagValue::Float(f) => !f.is_finite(),
        _ => false,
    }
}
