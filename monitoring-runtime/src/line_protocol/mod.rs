//! Where a point gets encoded: InfluxDB line protocol, byte for byte.
//!
//! `<series>[,<tag>=<value>...] <field>=<value>[,...] <timestamp ns>\n`
//!
//! # Policy for what line protocol cannot carry
//!
//! The encoder never emits a broken line, a line break inside a line, or a line a
//! server rejects for syntax. Input it cannot represent is handled as follows, and
//! every case is counted in [`EncodeIssues`] (the monitor adds them to
//! [`Stats`](crate::Stats) and logs each kind once):
//!
//! | input | policy |
//! |---|---|
//! | comma, space (and `=` outside the series name) in names and tag values | escaped with `\` |
//! | `"` and `\` in string fields | escaped with `\` |
//! | `\n` or `\r` anywhere; tab or NUL in a name or tag value | replaced by U+FFFD (`sanitized`): InfluxDB 3's parser ends a name at a tab |
//! | a series name starting with `#` | the `#` is replaced by U+FFFD (`sanitized`): the line would be a comment |
//! | `"` in a field key | replaced by U+FFFD (`sanitized`): VictoriaMetrics takes it for the start of a string value |
//! | `\` in a name or tag value followed by `\`, space, comma, `=`, a line break, tab or NUL, or ending it | replaced by U+FFFD (`sanitized`; the character after it is replaced or escaped as its own row says): InfluxDB 1.x and VictoriaMetrics read these differently, and a trailing `\` cannot be written at all |
//! | any other `\` in a name or tag value | written as is (both servers keep it) |
//! | tag with an empty key or value, or a NaN/±Inf float value | tag omitted (`tags_omitted`) |
//! | tag or field named `time` or starting with `_` | omitted (`reserved_names`): InfluxDB 1.x rejects `time`, 2.x rejects `_` |
//! | the same tag or field key twice, as written (after escaping and replacing) | the last one wins (`duplicates`): servers reject duplicate keys |
//! | NaN or ±Inf float field | field dropped (`fields_dropped`) |
//! | unsigned field above `i64::MAX` on the 1.x dialect | field dropped (`fields_dropped`); smaller ones are written as `i` |
//! | string field longer than 64 KiB | cut at a character boundary (`truncated`) |
//! | empty series name or one starting with `_`, no field left, series key (series name and tags as written) over 65,000 bytes | point dropped (`points_dropped`); a series named `time` is written (only tag and field keys named `time` are rejected) |
//!
//! Tags are written sorted by their key as written (byte order), as the servers prefer.

pub(crate) mod escape;
mod escaped_statics;
mod request_line;
mod static_names;
mod writer;

use crate::point::{FieldValue, Point, TagValue, Text};

use escape::NAME_SPECIAL;
use escaped_statics::EscapedStatics;
pub(crate) use request_line::{RequestIdField, RequestLine};
use static_names::STATIC_CACHE;
use writer::{Float, Writer};

/// Which InfluxDB write API the lines are for.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Dialect {
    /// InfluxDB 2.x / 3.x (`/api/v2/write`): unsigned integers keep the `u` suffix.
    V2,
    /// InfluxDB 1.x (`/write`): it rejects `u`, so unsigned values up to `i64::MAX` are
    /// written as `i` and larger ones are dropped.
    V1,
}

/// Counts of what the encoder had to change or leave out.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct EncodeIssues {
    /// Points dropped whole (empty series name or one starting with `_`, no field
    /// left, series key over [`MAX_SERIES_KEY_BYTES`]).
    pub points_dropped: u64,
    /// Fields dropped (NaN/±Inf, unsigned overflow on 1.x, empty name).
    pub fields_dropped: u64,
    /// Tags omitted (empty key or value, non-finite float).
    pub tags_omitted: u64,
    /// Tags or fields omitted for a reserved name (`time`, leading `_`).
    pub reserved_names: u64,
    /// Elements where characters were replaced by U+FFFD.
    pub sanitized: u64,
    /// String fields cut to 64 KiB.
    pub truncated: u64,
    /// Tags or fields left out because a later one of the same point has the same key
    /// as written (the last wins; servers reject duplicate keys).
    pub duplicates: u64,
    /// Tags or fields a handler added under a built-in name of its request's points
    /// (`service`, `route`, `status_code`, `error_code`, `request_id`,
    /// `execution_time`): left out, the built-in value kept.
    pub builtin_names: u64,
}

impl EncodeIssues {
    /// True when nothing had to be changed.
    pub fn is_empty(&self) -> bool {
        *self == EncodeIssues::default()
    }

    /// Adds `other` to `self`.
    pub fn add(&mut self, other: &EncodeIssues) {
        self.points_dropped += other.points_dropped;
        self.fields_dropped += other.fields_dropped;
        self.tags_omitted += other.tags_omitted;
        self.reserved_names += other.reserved_names;
        self.sanitized += other.sanitized;
        self.truncated += other.truncated;
        self.duplicates += other.duplicates;
        self.builtin_names += other.builtin_names;
    }
}

/// The longest string field value stored, in bytes.
pub const MAX_STRING_FIELD_BYTES: usize = 64 * 1024;
/// The longest series key (series name plus tags) accepted, in bytes.
pub const MAX_SERIES_KEY_BYTES: usize = 65_000;

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
    dialect: Dialect,
    /// The sorting path's valid tags: their index and where their key, as written,
    /// is in `keys`.
    tag_keys: Vec<(usize, usize, usize)>,
    /// Keys as written, for the paths that order or deduplicate by them.
    keys: Vec<u8>,
    issues: EncodeIssues,
    /// `&'static str` names already seen to need no escaping, by address and length:
    /// static text never changes, so the scan is done once per name, not per line.
    plain_statics: Box<[(usize, usize); STATIC_CACHE]>,
    /// `&'static str` text that needs escaping, as written (escaped once per encoder).
    escaped_statics: EscapedStatics,
    /// Where lines are written before they are appended to the output.
    scratch: Vec<u8>,
    /// The whole seconds of the last timestamp written, as digits.
    seconds: (i64, [u8; 20], usize),
}

/// How writing a point's fields ended.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Fields {
    Written,
    /// No field could be written: the point is dropped.
    Empty,
    /// A key was sanitized, so two keys as written may be equal: written again,
    /// deduplicated.
    MaybeDuplicate,
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Element {
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

    /// Writes the tags as they come; false (having written part of them) at the first
    /// one that is invalid or whose key, as written, does not follow the previous one
    /// in strictly ascending order (so the keys are sorted and none repeats).
    #[inline(always)]
    fn write_tags_in_order(&mut self, point: &Point, w: &mut Writer) -> bool {
        // Where the previous key is in the line, as written.
        let (mut from, mut to) = (0, 0);
        for (key, value) in &point.tags {
            if tag_value_is_empty(value) {
                return false;
            }
            let start = w.pos + 1;
            if let Some(known) = self.known_static(key) {
                // Both known (route, service): one write for the pair.
                let pair = match value {
                    TagValue::Text(value) => self.known_static(value),
                    _ => None,
                };
                match pair {
                    Some(value) => w.pair(b',', known.as_bytes(), value.as_bytes()),
                    None => {
                        w.sep_text(b',', known.as_bytes());
                        self.write_tag_value(w, value);
                    }
                }
                // A known name is written as it is.
                let end = start + known.len();
                if to != 0 && !key_less(&w.buf[from..to], known.as_bytes()) {
                    return false;
                }
                (from, to) = (start, end);
                continue;
            }
            if key.is_empty() || is_reserved(key) {
                return false;
            }
            w.byte(b',');
            self.write_new_text(w, key, Element::Name);
            let end = w.pos;
            self.write_tag_value(w, value);
            if to != 0 && !key_less(&w.buf[from..to], &w.buf[start..end]) {
                return false;
            }
            (from, to) = (start, end);
        }
        true
    }

    /// Tags that need filtering or ordering: valid ones, sorted by their key as
    /// written (escaped and sanitized), the last of equal written keys winning.
    fn write_tags_sorted(&mut self, point: &Point, w: &mut Writer) {
        let tags = &point.tags;
        let mut keys = Writer {
            buf: std::mem::take(&mut self.keys),
            pos: 0,
        };
        self.tag_keys.clear();
        for (i, (key, value)) in tags.iter().enumerate() {
            if key.is_empty() || tag_value_is_empty(value) {
                self.issues.tags_omitted += 1;
            } else if is_reserved(key) {
                self.issues.reserved_names += 1;
            } else {
                let start = keys.pos;
                self.write_text(&mut keys, key, Element::Name);
                self.tag_keys.push((i, start, keys.pos));
            }
        }
        let written = |&(_, a, b): &(usize, usize, usize)| &keys.buf[a..b];
        // Stable (insertion order among equal keys, so the last is the newest); an
        // insertion sort, as points have few tags.
        let order = &mut self.tag_keys;
        for n in 1..order.len() {
            let mut m = n;
            while m > 0 && written(&order[n]) < written(&order[m - 1]) {
                m -= 1;
            }
            order[m..=n].rotate_right(1);
        }
        let order = std::mem::take(&mut self.tag_keys);
        for (n, tag) in order.iter().enumerate() {
            if order
                .get(n + 1)
                .is_some_and(|next| written(next) == written(tag))
            {
                // The same key as written again: the later one is written.
                self.issues.duplicates += 1;
                continue;
            }
            w.byte(b',');
            w.text(written(tag));
            self.write_tag_value(w, &tags[tag.0].1);
        }
        self.tag_keys = order;
        self.keys = keys.buf;
    }

    /// Writes the fields and the timestamp, unless no field is left or (with `check`)
    /// a key was sanitized, so two keys as written may be equal: then the caller
    /// rewinds and calls
    /// [`write_fields_deduped`](Self::write_fields_deduped).
    #[inline(always)]
    fn write_fields(
        &mut self,
        fields: &[(Text, FieldValue)],
        timestamp_ns: i64,
        w: &mut Writer,
        check: bool,
    ) -> Fields {
        let mut written = 0usize;
        let mut floats = zmij::Buffer::new();
        let mut ints = itoa::Buffer::new();
        // Two keys can be equal as written only if one of them was sanitized (the
        // builders replace equal keys, and escaping alone keeps keys apart): only then
        // are the keys compared, on the cold path.
        let mut maybe_duplicate = false;
        for (key, value) in fields {
            // A float is formatted first, so that the checks below run while its digits
            // are still being stored: copied straight after the formatter, they would
            // stall the copy (see `Writer::nine_digits`).
            let float = match value {
                FieldValue::Float(f) if f.is_finite() => Some(Float::new(*f, &mut floats)),
                _ => None,
            };
            let value_ok = match value {
                FieldValue::Float(_) => float.is_some(),
                FieldValue::UInt(u) => self.dialect == Dialect::V2 || *u <= i64::MAX as u64,
                _ => true,
            };
            // Counted in the policy's order: empty key, reserved key, then the value.
            let known = self.known_static(key);
            if known.is_none() {
                if key.is_empty() {
                    self.issues.fields_dropped += 1;
                    continue;
                }
                if is_reserved(key) {
                    self.issues.reserved_names += 1;
                    continue;
                }
            }
            if !value_ok {
                self.issues.fields_dropped += 1;
                continue;
            }
            let sep = if written == 0 { b' ' } else { b',' };
            written += 1;
            // A known name with a float (the timings): one write for the pair.
            if let (Some(known), Some(float)) = (known, float) {
                w.float_pair(sep, known.as_bytes(), float);
                continue;
            }
            match known {
                Some(known) => w.sep_text(sep, known.as_bytes()),
                None => {
                    w.byte(sep);
                    let sanitized = self.issues.sanitized;
                    self.write_new_text(w, key, Element::FieldKey);
                    maybe_duplicate |= self.issues.sanitized != sanitized;
                }
            }
            // Numbers fit the headroom the key's write left.
            match value {
                FieldValue::Float(_) => {
                    w.byte(b'=');
                    w.float(float.expect("finite floats only get here"));
                }
                FieldValue::Int(i) => {
                    w.sep_bytes(b'=', ints.format(*i).as_bytes());
                    w.byte(b'i');
                }
                FieldValue::UInt(u) => {
                    w.sep_bytes(b'=', ints.format(*u).as_bytes());
                    w.byte(if self.dialect == Dialect::V2 {
                        b'u'
                    } else {
                        b'i'
                    });
                }
                FieldValue::Bool(b) => w.sep_bytes(b'=', if *b { b"true" } else { b"false" }),
                FieldValue::Str(Text::Static(s)) => {
                    w.byte(b'=');
                    self.write_static_string_field(w, s);
                }
                FieldValue::Str(s) => {
                    w.byte(b'=');
                    self.write_string_field(w, s);
                }
            }
        }
        if written == 0 {
            return Fields::Empty;
        }
        if check && maybe_duplicate {
            return Fields::MaybeDuplicate;
        }
        // The timestamp fits the headroom the last field's write left.
        w.byte(b' ');
        self.write_timestamp(w, timestamp_ns);
        w.byte(b'\n');
        Fields::Written
    }

    /// The fields again, leaving out each one whose key, as written, a later written
    /// field repeats (the last wins, as for tags; servers reject duplicate keys).
    #[cold]
    #[inline(never)]
    fn write_fields_deduped(&mut self, point: &Point, w: &mut Writer) -> bool {
        let fields = &point.fields;
        let before = self.issues;
        let mut keys = Writer {
            buf: std::mem::take(&mut self.keys),
            pos: 0,
        };
        // Where each field's written key is in `keys`; empty for one not written.
        let mut ranges = Vec::with_capacity(fields.len());
        for (key, value) in fields {
            let start = keys.pos;
            if !key.is_empty() && !is_reserved(key) && self.field_value_ok(value) {
                self.write_text(&mut keys, key, Element::FieldKey);
            }
            ranges.push((start, keys.pos));
        }
        // The real pass below counts what writing the keys counted.
        self.issues = before;
        let written = |(a, b): (usize, usize)| &keys.buf[a..b];
        let mut kept = Vec::with_capacity(fields.len());
        for (i, field) in fields.iter().enumerate() {
            let key = written(ranges[i]);
            if !key.is_empty() && ranges[i + 1..].iter().any(|&r| written(r) == key) {
                self.issues.duplicates += 1;
            } else {
                kept.push(field.clone());
            }
        }
        self.keys = keys.buf;
        self.write_fields(&kept, point.timestamp_ns, w, false) == Fields::Written
    }

    /// True when a field's value can be written in this dialect.
    fn field_value_ok(&self, value: &FieldValue) -> bool {
        match value {
            FieldValue::Float(f) => f.is_finite(),
            FieldValue::UInt(u) => self.dialect == Dialect::V2 || *u <= i64::MAX as u64,
            _ => true,
        }
    }

    /// Writes a timestamp; the digits of its whole seconds are kept from the previous
    /// line, since the points of a batch mostly share them.
    #[inline(always)]
    fn write_timestamp(&mut self, w: &mut Writer, ns: i64) {
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

    /// Writes `=` and a tag value.
    #[inline(always)]
    fn write_tag_value(&mut self, w: &mut Writer, value: &TagValue) {
        // Numbers fit the headroom the key's write left.
        match value {
            TagValue::Text(t) => self.write_tag_text(w, t),
            TagValue::Int(i) => w.sep_bytes(b'=', itoa::Buffer::new().format(*i).as_bytes()),
            TagValue::UInt(u) if *u < 1000 => {
                w.byte(b'=');
                w.short_uint(*u as u16);
            }
            TagValue::UInt(u) => w.sep_bytes(b'=', itoa::Buffer::new().format(*u).as_bytes()),
            TagValue::Float(f) => {
                w.sep_bytes(b'=', zmij::Buffer::new().format_finite(*f).as_bytes())
            }
            TagValue::Bool(b) => w.sep_bytes(b'=', if *b { b"true" } else { b"false" }),
        }
    }

    /// Writes `=` and a text tag value.
    #[inline(always)]
    fn write_tag_text(&mut self, w: &mut Writer, text: &Text) {
        match self.known_static(text) {
            Some(known) => w.sep_text(b'=', known.as_bytes()),
            None => {
                w.byte(b'=');
                self.write_new_text(w, text, Element::Name);
            }
        }
    }

    /// Writes a name or tag value.
    #[inline(always)]
    fn write_text(&mut self, w: &mut Writer, text: &Text, element: Element) {
        match self.known_static(text) {
            Some(known) => w.text(known.as_bytes()),
            None => self.write_new_text(w, text, element),
        }
    }

    /// Writes text not in the static cache, adding it when it qualifies. In line: most
    /// text is copied as is after a short scan.
    #[inline(always)]
    fn write_new_text(&mut self, w: &mut Writer, text: &Text, element: Element) {
        let bytes = text.as_bytes();
        let Some(first) = bytes.iter().position(|&b| NAME_SPECIAL[b as usize]) else {
            if let Text::Static(s) = text {
                if !s.is_empty() && !is_reserved(s) {
                    self.remember_static(s);
                }
            }
            return w.text(bytes);
        };
        match text {
            Text::Static(s) => self.write_escaped_static(w, s, first, element),
            Text::Shared(_) => self.write_escaped(w, bytes, first, element),
        }
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

/// `time` is rejected by InfluxDB 1.x, a leading `_` by 2.x: both are refused everywhere
/// so that a point means the same on every server.
pub(crate) fn is_reserved(name: &str) -> bool {
    name == "time" || name.starts_with('_')
}

#[cfg(test)]
mod tests {
    use super::*;

    fn line(p: &Point, dialect: Dialect) -> Option<String> {
        Encoder::new(dialect).encode_to_string(p)
    }

    #[test]
    fn seed_shaped_line() {
        let p = Point::at("requests", 1_700_000_000_000_000_001)
            .with_tag("status_code", 200u16)
            .with_tag("service", "luna-handlers")
            .with_tag("route", "POST:/extractor")
            .with_field("request_id", "1700000000,abc")
            .with_field("execution_time", 0.25);
        assert_eq!(
            line(&p, Dialect::V2).unwrap(),
            "requests,route=POST:/extractor,service=luna-handlers,status_code=200 \
             request_id=\"1700000000,abc\",execution_time=0.25 1700000000000000001\n"
        );
    }

    #[test]
    fn long_escape_heavy_text_grows_the_line() {
        // Longer than the scratch buffer, every byte special: tripled by replacements.
        let unit = ", =\\\n\"#";
        let text: String = unit.repeat(400);
        let p = Point::at(text.clone(), 1)
            .with_tag(text.clone(), text.clone())
            .with_field(text.clone(), text.clone());
        let escape = |s: &str, escaped: &str, replaced: &str, name: bool| -> String {
            let chars: Vec<char> = s.chars().collect();
            let mut out = String::new();
            for (i, &c) in chars.iter().enumerate() {
                let ambiguous_backslash = name
                    && c == '\\'
                    && chars
                        .get(i + 1)
                        .is_none_or(|n| "\\ ,=\n\r\t\0".contains(*n));
                if replaced.contains(c) || ambiguous_backslash {
                    out.push('\u{FFFD}');
                } else {
                    if escaped.contains(c) {
                        out.push('\\');
                    }
                    out.push(c);
                }
            }
            out
        };
        let series = escape(&text, ", ", "\n\r\t\0", true);
        let series = series.replacen('#', "\u{FFFD}", usize::from(text.starts_with('#')));
        let name = escape(&text, ",= ", "\n\r\t\0", true);
        let key = escape(&text, ",= ", "\n\r\t\0\"", true);
        let value = escape(&text, "\"\\", "\n\r", false);
        assert_eq!(
            line(&p, Dialect::V2).unwrap(),
            format!("{series},{name}={name} {key}=\"{value}\" 1\n")
        );
    }

    #[test]
    fn escaping_and_policy() {
        let p = Point::at("my series,x", 5)
            .with_tag("k=1", "a b,c=d")
            .with_tag("path", "C:\\data")
            .with_tag("trail", "end\\")
            .with_tag("empty", "")
            .with_tag("time", "x")
            .with_field("s", "say \"hi\"\\\nbye")
            .with_field("nan", f64::NAN)
            .with_field("u", u64::MAX)
            .with_field("b", true);
        let mut enc = Encoder::new(Dialect::V1);
        let l = enc.encode_to_string(&p).unwrap();
        assert_eq!(
            l,
            "my\\ series\\,x,k\\=1=a\\ b\\,c\\=d,path=C:\\data,trail=end\u{FFFD} \
             s=\"say \\\"hi\\\"\\\\\u{FFFD}bye\",b=true 5\n"
        );
        let issues = enc.take_issues();
        assert_eq!(issues.tags_omitted, 1);
        assert_eq!(issues.reserved_names, 1);
        assert_eq!(issues.fields_dropped, 2);
        assert_eq!(issues.sanitized, 2);
        assert_eq!(
            line(&Point::at("m", 1).with_field("u", u64::MAX), Dialect::V2).unwrap(),
            "m u=18446744073709551615u 1\n"
        );
    }

    #[test]
    fn timestamps_are_written_in_full_whatever_the_previous_one() {
        let mut enc = Encoder::new(Dialect::V2);
        let cases = [
            1_700_000_000_000_000_001,
            1_700_000_000_999_999_999,
            1_700_000_000_000_000_000,
            1_700_000_001_000_000_007,
            0,
            -5,
            999_999_999,
            1_000_000_000,
            1_000_000_001,
            i64::MAX,
            i64::MIN,
            1_700_000_001_000_000_007,
        ];
        for ts in cases {
            let line = enc
                .encode_to_string(&Point::at("m", ts).with_field("f", 1i64))
                .unwrap();
            assert_eq!(line, format!("m f=1i {ts}\n"));
        }
    }

    #[test]
    fn duplicate_tags_keep_the_last_and_points_without_fields_drop() {
        let p = Point::at("m", 1)
            .with_tag("a", "1")
            .with_tag("a", "2")
            .with_field("f", 1i64);
        assert_eq!(line(&p, Dialect::V2).unwrap(), "m,a=2 f=1i 1\n");
        let mut enc = Encoder::new(Dialect::V2);
        let mut out = b"keep".to_vec();
        assert!(!enc.encode(&Point::at("m", 1).with_field("f", f64::INFINITY), &mut out));
        assert_eq!(out, b"keep");
        assert_eq!(enc.issues().points_dropped, 1);
    }

    /// A point with `tags` and `fields` exactly as given (the builders would
    /// already replace equal keys).
    fn raw(tags: &[(&'static str, &'static str)], fields: &[(&'static str, i64)]) -> Point {
        let mut p = Point::at("m", 1);
        p.tags = tags
            .iter()
            .map(|&(k, v)| (Text::Static(k), v.into()))
            .collect();
        p.fields = fields
            .iter()
            .map(|&(k, v)| (Text::Static(k), v.into()))
            .collect();
        p
    }

    #[test]
    fn tags_are_deduplicated_and_sorted_by_their_key_as_written() {
        let mut enc = Encoder::new(Dialect::V2);
        // Both keys are written `a\u{FFFD}b`: the later one wins, counted.
        let p = raw(&[("a\tb", "1"), ("a\nb", "2")], &[("f", 1)]);
        assert_eq!(enc.encode_to_string(&p).unwrap(), "m,a\u{FFFD}b=2 f=1i 1\n");
        assert_eq!((enc.issues().duplicates, enc.issues().sanitized), (1, 2));
        // Ordered by the written bytes: `~` (0x7E) before U+FFFD (0xEF ...).
        let p = raw(&[("a\tb", "1"), ("a~", "2")], &[("f", 1)]);
        assert_eq!(
            enc.encode_to_string(&p).unwrap(),
            "m,a~=2,a\u{FFFD}b=1 f=1i 1\n"
        );
        // Escaping orders too: `a\ b` sorts after `a!` although ' ' < '!'.
        let p = raw(&[("a b", "1"), ("a!", "2")], &[("f", 1)]);
        assert_eq!(enc.encode_to_string(&p).unwrap(), "m,a!=2,a\\ b=1 f=1i 1\n");
    }

    #[test]
    fn fields_are_deduplicated_by_their_key_as_written() {
        let mut enc = Encoder::new(Dialect::V2);
        // Both are written `a\u{FFFD}b`: the later one wins, counted.
        let p = raw(&[], &[("a\nb", 1), ("x", 2), ("a\rb", 3)]);
        assert_eq!(
            enc.encode_to_string(&p).unwrap(),
            "m x=2i,a\u{FFFD}b=3i 1\n"
        );
        let issues = enc.take_issues();
        assert_eq!((issues.duplicates, issues.sanitized), (1, 1));
        // A key written with U+FFFD as it is meets a sanitized one.
        let p = raw(&[], &[("a\u{FFFD}b", 1), ("a\tb", 2)]);
        assert_eq!(enc.encode_to_string(&p).unwrap(), "m a\u{FFFD}b=2i 1\n");
        assert_eq!(enc.take_issues().duplicates, 1);
        // Sanitized keys that stay apart are all written, nothing counted.
        let p = raw(&[], &[("a\nb", 1), ("a\nc", 2)]);
        assert_eq!(
            enc.encode_to_string(&p).unwrap(),
            "m a\u{FFFD}b=1i,a\u{FFFD}c=2i 1\n"
        );
        assert_eq!(enc.take_issues().duplicates, 0);
        // A later value the dialect cannot write does not hide an earlier one's key.
        let mut p = raw(&[], &[("a\nb", 1)]);
        p.fields
            .push((Text::Static("a\rb"), FieldValue::Float(f64::NAN)));
        assert_eq!(enc.encode_to_string(&p).unwrap(), "m a\u{FFFD}b=1i 1\n");
        assert_eq!(enc.take_issues().fields_dropped, 1);
    }

    #[test]
    fn the_builders_replace_equal_keys() {
        let p = Point::at("m", 1)
            .with_tag("t", "1")
            .with_tag("t", "2")
            .with_field("a", 1i64)
            .with_field("a", 2i64);
        assert_eq!((p.tags().len(), p.fields().len()), (1, 1));
        assert_eq!(line(&p, Dialect::V2).unwrap(), "m,t=2 a=2i 1\n");
    }

    #[test]
    fn the_policy_table_holds_for_series_backslashes_and_key_length() {
        let mut enc = Encoder::new(Dialect::V1);
        // A series named `time` is written; one starting with `_` is dropped.
        let p = Point::at("time", 1).with_field("f", 1i64);
        assert_eq!(enc.encode_to_string(&p).unwrap(), "time f=1i 1\n");
        assert!(enc
            .encode_to_string(&Point::at("_m", 1).with_field("f", 1i64))
            .is_none());
        // A backslash before a line break, tab or NUL is replaced, and so is that byte.
        for (value, written) in [
            ("a\\\n", "a\u{FFFD}\u{FFFD}"),
            ("a\\\tb", "a\u{FFFD}\u{FFFD}b"),
            ("a\\\0", "a\u{FFFD}\u{FFFD}"),
        ] {
            let p = Point::at("m", 1).with_tag("t", value).with_field("f", 1i64);
            assert_eq!(
                enc.encode_to_string(&p).unwrap(),
                format!("m,t={written} f=1i 1\n"),
                "{value:?}"
            );
        }
        // The series key (series name and tags as written) may be 65,000 bytes.
        let tag = |n: usize| {
            Point::at("m", 1)
                .with_tag("t", "x".repeat(n))
                .with_field("f", 1i64)
        };
        let fits = MAX_SERIES_KEY_BYTES - "m,t=".len();
        assert!(enc.encode_to_string(&tag(fits)).is_some());
        assert!(enc.encode_to_string(&tag(fits + 1)).is_none());
    }
}
