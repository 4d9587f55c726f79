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
//! | `\` in a name or tag value followed by `\`, space, comma, `=` or ending it | replaced by U+FFFD (`sanitized`): InfluxDB 1.x and VictoriaMetrics read these differently, and a trailing `\` cannot be written at all |
//! | any other `\` in a name or tag value | written as is (both servers keep it) |
//! | tag with an empty key or value, or a NaN/±Inf float value | tag omitted (`tags_omitted`) |
//! | tag or field named `time` or starting with `_` | omitted (`reserved_names`): InfluxDB 1.x rejects `time`, 2.x rejects `_` |
//! | the same tag key twice | the last one wins (servers reject duplicate tags) |
//! | NaN or ±Inf float field | field dropped (`fields_dropped`) |
//! | unsigned field above `i64::MAX` on the 1.x dialect | field dropped (`fields_dropped`); smaller ones are written as `i` |
//! | string field longer than 64 KiB | cut at a character boundary (`truncated`) |
//! | empty or reserved series name, no field left, series key over 64 KiB | point dropped (`points_dropped`) |
//!
//! Tags are written sorted by key (byte order), as the servers prefer.

use crate::point::{FieldValue, Point, TagValue, Text};

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
    /// Points dropped whole (no valid series name, no field left, series key too long).
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
    }
}

/// The longest string field value stored, in bytes.
pub const MAX_STRING_FIELD_BYTES: usize = 64 * 1024;
/// The longest series key (series name plus tags) accepted, in bytes.
pub const MAX_SERIES_KEY_BYTES: usize = 65_000;

const REPLACEMENT: &[u8] = "\u{FFFD}".as_bytes();

/// Bytes that need attention in a name or tag value (escape, replace or check).
const NAME_SPECIAL: [bool; 256] = table(b",= \\\n\r\t\0\"#");

const fn table(bytes: &[u8]) -> [bool; 256] {
    let mut t = [false; 256];
    let mut i = 0;
    while i < bytes.len() {
        t[bytes[i] as usize] = true;
        i += 1;
    }
    t
}

/// True when no byte of `bytes` is in `table` (the common case: copy as is).
#[inline]
fn plain(bytes: &[u8], table: &[bool; 256]) -> bool {
    // Branch-free over the bytes: names are short and almost always plain.
    !bytes.iter().fold(false, |any, &b| any | table[b as usize])
}

/// True when a string field needs no escaping: compares only, so the compiler turns
/// it into SIMD over the (often long) request ids and messages.
#[inline]
fn plain_string(bytes: &[u8]) -> bool {
    let special = |b: u8| (b == b'"') | (b == b'\\') | (b == b'\n') | (b == b'\r');
    // Fixed-size chunks: the compiler compares 16 bytes at a time.
    let mut chunks = bytes.chunks_exact(16);
    for chunk in &mut chunks {
        let mut found = 0u8;
        for &b in chunk {
            found |= u8::from(special(b));
        }
        if found != 0 {
            return false;
        }
    }
    !chunks.remainder().iter().any(|&b| special(b))
}

/// `a < b` in byte order, deciding on the first byte when it differs (tag keys
/// usually do) without a `memcmp` call.
#[inline]
fn key_less(a: &str, b: &str) -> bool {
    match (a.as_bytes().first(), b.as_bytes().first()) {
        (Some(x), Some(y)) if x != y => x < y,
        _ => a < b,
    }
}

/// Where a line is written: a reused scratch buffer written by position, so that the
/// many short copies of a line need neither capacity checks nor `memcpy` calls; the
/// finished line is appended to the output in one copy.
struct Writer {
    buf: Vec<u8>,
    pos: usize,
}

/// Room reserved before writing any element beyond its own (escaped) length: numbers,
/// separators, the timestamp.
const HEADROOM: usize = 64;

impl Writer {
    /// Makes sure `n` more bytes (plus headroom) fit.
    #[inline]
    fn ensure(&mut self, n: usize) {
        if self.pos + n + HEADROOM > self.buf.len() {
            self.grow(n);
        }
    }

    #[cold]
    fn grow(&mut self, n: usize) {
        let len = (self.pos + n + HEADROOM).next_power_of_two();
        self.buf.resize(len, 0);
    }

    #[inline]
    fn byte(&mut self, b: u8) {
        self.buf[self.pos] = b;
        self.pos += 1;
    }

    /// Copies `s` (whose room was ensured). Short slices, the common case here, are
    /// copied with two overlapping fixed-size moves instead of a `memcpy` call.
    #[inline(always)]
    fn bytes(&mut self, s: &[u8]) {
        let n = s.len();
        let dst = &mut self.buf[self.pos..self.pos + n];
        if n >= 16 {
            dst.copy_from_slice(s);
        } else if n >= 8 {
            dst[..8].copy_from_slice(&s[..8]);
            dst[n - 8..].copy_from_slice(&s[n - 8..]);
        } else if n >= 4 {
            dst[..4].copy_from_slice(&s[..4]);
            dst[n - 4..].copy_from_slice(&s[n - 4..]);
        } else {
            for (d, &b) in dst.iter_mut().zip(s) {
                *d = b;
            }
        }
        self.pos += n;
    }

    /// Copies `s` after making room for it.
    #[inline]
    fn text(&mut self, s: &[u8]) {
        self.ensure(s.len());
        self.bytes(s);
    }
}

/// Encodes points as line protocol. Reuse one encoder: it keeps scratch space so that
/// encoding allocates nothing once warmed up.
#[derive(Debug)]
pub struct Encoder {
    dialect: Dialect,
    tag_order: Vec<usize>,
    issues: EncodeIssues,
    /// `&'static str` names already seen to need no escaping, by address and length:
    /// static text never changes, so the scan is done once per name, not per line.
    plain_statics: Box<[(usize, usize); STATIC_CACHE]>,
    /// Where lines are written before they are appended to the output.
    scratch: Vec<u8>,
}

/// Slots of the static-name cache (a power of two).
const STATIC_CACHE: usize = 256;

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
            tag_order: Vec::with_capacity(16),
            issues: EncodeIssues::default(),
            plain_statics: Box::new([(0, 0); STATIC_CACHE]),
            scratch: vec![0; 1024],
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

        let tags = &point.tags;
        // Fast path: every tag valid and keys already strictly ascending (the flusher
        // builds request points that way), so no sorting and no scratch space.
        let sorted_and_valid = tags.iter().enumerate().all(|(i, (key, value))| {
            !key.is_empty()
                && !tag_value_is_empty(value)
                && !is_reserved(key)
                && (i == 0 || key_less(&tags[i - 1].0, key))
        });
        if sorted_and_valid {
            for (key, value) in tags {
                w.byte(b',');
                self.write_text(w, key, Element::Name);
                w.byte(b'=');
                self.write_tag_value(w, value);
            }
        } else {
            self.write_tags_sorted(point, w);
        }
        if w.pos > MAX_SERIES_KEY_BYTES {
            return false;
        }
        self.write_fields(point, w)
    }

    /// Tags that need filtering or ordering: valid ones, sorted by key, the last of
    /// equal keys winning.
    fn write_tags_sorted(&mut self, point: &Point, w: &mut Writer) {
        self.tag_order.clear();
        for (i, (key, value)) in point.tags.iter().enumerate() {
            if key.is_empty() || tag_value_is_empty(value) {
                self.issues.tags_omitted += 1;
            } else if is_reserved(key) {
                self.issues.reserved_names += 1;
            } else {
                self.tag_order.push(i);
            }
        }
        let tags = &point.tags;
        // Stable sort keeps insertion order among equal keys, so the last is the newest.
        self.tag_order
            .sort_by(|&a, &b| tags[a].0.as_str().cmp(tags[b].0.as_str()));
        let order = std::mem::take(&mut self.tag_order);
        for (n, &i) in order.iter().enumerate() {
            if let Some(&next) = order.get(n + 1) {
                if tags[next].0 == tags[i].0 {
                    continue;
                }
            }
            w.byte(b',');
            self.write_text(w, &tags[i].0, Element::Name);
            w.byte(b'=');
            self.write_tag_value(w, &tags[i].1);
        }
        self.tag_order = order;
    }

    fn write_fields(&mut self, point: &Point, w: &mut Writer) -> bool {
        let mut written = 0usize;
        let mut floats = zmij::Buffer::new();
        let mut ints = itoa::Buffer::new();
        for (key, value) in &point.fields {
            if key.is_empty() {
                self.issues.fields_dropped += 1;
                continue;
            }
            if is_reserved(key) {
                self.issues.reserved_names += 1;
                continue;
            }
            let value_ok = match value {
                FieldValue::Float(f) => f.is_finite(),
                FieldValue::UInt(u) => self.dialect == Dialect::V2 || *u <= i64::MAX as u64,
                _ => true,
            };
            if !value_ok {
                self.issues.fields_dropped += 1;
                continue;
            }
            w.byte(if written == 0 { b' ' } else { b',' });
            written += 1;
            self.write_text(w, key, Element::FieldKey);
            w.byte(b'=');
            // Numbers fit the headroom `write_text` left.
            match value {
                FieldValue::Float(f) => w.bytes(floats.format_finite(*f).as_bytes()),
                FieldValue::Int(i) => {
                    w.bytes(ints.format(*i).as_bytes());
                    w.byte(b'i');
                }
                FieldValue::UInt(u) => {
                    w.bytes(ints.format(*u).as_bytes());
                    w.byte(if self.dialect == Dialect::V2 {
                        b'u'
                    } else {
                        b'i'
                    });
                }
                FieldValue::Bool(b) => w.bytes(if *b { b"true" } else { b"false" }),
                FieldValue::Str(s) => self.write_string_field(w, s),
            }
        }
        if written == 0 {
            return false;
        }
        w.ensure(0);
        w.byte(b' ');
        w.bytes(ints.format(point.timestamp_ns).as_bytes());
        w.byte(b'\n');
        true
    }

    fn write_tag_value(&mut self, w: &mut Writer, value: &TagValue) {
        match value {
            TagValue::Text(t) => return self.write_text(w, t, Element::Name),
            _ => w.ensure(0),
        }
        match value {
            TagValue::Int(i) => w.bytes(itoa::Buffer::new().format(*i).as_bytes()),
            TagValue::UInt(u) => w.bytes(itoa::Buffer::new().format(*u).as_bytes()),
            TagValue::Float(f) => w.bytes(zmij::Buffer::new().format_finite(*f).as_bytes()),
            TagValue::Bool(b) => w.bytes(if *b { b"true" } else { b"false" }),
            TagValue::Text(_) => {}
        }
    }

    /// Writes a name or tag value, skipping the scan for static text known to be plain.
    #[inline(always)]
    fn write_text(&mut self, w: &mut Writer, text: &Text, element: Element) {
        if let Text::Static(s) = text {
            let key = (s.as_ptr() as usize, s.len());
            // Fibonacci hashing of address and length: neighbouring statics spread out.
            let hash =
                (key.0 ^ key.1.rotate_left(32)).wrapping_mul(0x9E37_79B9_7F4A_7C15_u64 as usize);
            let slot = hash >> (usize::BITS - STATIC_CACHE.trailing_zeros());
            if self.plain_statics[slot] == key {
                w.text(s.as_bytes());
                return;
            }
            if plain(s.as_bytes(), &NAME_SPECIAL) {
                self.plain_statics[slot] = key;
                w.text(s.as_bytes());
                return;
            }
        }
        self.write_escaped(w, text, element);
    }

    /// Writes a series name, tag key, tag value or field key.
    fn write_escaped(&mut self, w: &mut Writer, text: &str, element: Element) {
        let bytes = text.as_bytes();
        // Fast path: nothing to escape or replace (the common case of static names).
        if plain(bytes, &NAME_SPECIAL) {
            w.text(bytes);
            return;
        }
        // At most 3 bytes out per byte in (U+FFFD).
        w.ensure(bytes.len() * 3);
        let mut sanitized = false;
        let mut run = 0;
        for (i, &b) in bytes.iter().enumerate() {
            if !NAME_SPECIAL[b as usize] {
                continue;
            }
            // Copy the plain run before this byte in one go.
            w.bytes(&bytes[run..i]);
            run = i + 1;
            match b {
                b',' | b' ' => {
                    w.byte(b'\\');
                    w.byte(b);
                }
                b'=' if element != Element::Series => {
                    w.byte(b'\\');
                    w.byte(b);
                }
                b'\n' | b'\r' | b'\t' | 0 => {
                    w.bytes(REPLACEMENT);
                    sanitized = true;
                }
                b'#' if i == 0 && element == Element::Series => {
                    w.bytes(REPLACEMENT);
                    sanitized = true;
                }
                b'"' if element == Element::FieldKey => {
                    w.bytes(REPLACEMENT);
                    sanitized = true;
                }
                b'\\' => {
                    let ambiguous = match bytes.get(i + 1) {
                        None => true,
                        Some(next) => {
                            matches!(next, b'\\' | b' ' | b',' | b'=' | b'\n' | b'\r' | b'\t' | 0)
                        }
                    };
                    if ambiguous {
                        w.bytes(REPLACEMENT);
                        sanitized = true;
                    } else {
                        w.byte(b'\\');
                    }
                }
                _ => w.byte(b),
            }
        }
        w.bytes(&bytes[run..]);
        if sanitized {
            self.issues.sanitized += 1;
        }
    }

    fn write_string_field(&mut self, w: &mut Writer, text: &str) {
        let mut text = text;
        if text.len() > MAX_STRING_FIELD_BYTES {
            let mut cut = MAX_STRING_FIELD_BYTES;
            while !text.is_char_boundary(cut) {
                cut -= 1;
            }
            text = &text[..cut];
            self.issues.truncated += 1;
        }
        let bytes = text.as_bytes();
        if plain_string(bytes) {
            w.ensure(bytes.len() + 2);
            w.byte(b'"');
            w.bytes(bytes);
            w.byte(b'"');
            return;
        }
        // At most 3 bytes out per byte in (U+FFFD).
        w.ensure(bytes.len() * 3 + 2);
        w.byte(b'"');
        let mut sanitized = false;
        let mut run = 0;
        for (i, &b) in bytes.iter().enumerate() {
            if !matches!(b, b'"' | b'\\' | b'\n' | b'\r') {
                continue;
            }
            w.bytes(&bytes[run..i]);
            run = i + 1;
            match b {
                b'"' | b'\\' => {
                    w.byte(b'\\');
                    w.byte(b);
                }
                _ => {
                    w.bytes(REPLACEMENT);
                    sanitized = true;
                }
            }
        }
        w.bytes(&bytes[run..]);
        w.byte(b'"');
        if sanitized {
            self.issues.sanitized += 1;
        }
    }
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

/// A series name as the servers store it after the encoding policy (a leading `#`
/// would make the line a comment).
pub fn stored_series(text: &str) -> String {
    let stored = stored_text(text);
    match stored.strip_prefix('#') {
        Some(rest) => format!("\u{FFFD}{rest}"),
        None => stored,
    }
}

/// A field key as the servers store it after the encoding policy.
pub fn stored_field_key(text: &str) -> String {
    stored_text(text).replace('"', "\u{FFFD}")
}

/// A series name, tag key or tag value as the servers store it after the encoding
/// policy (for comparing what was stored with what was recorded).
pub fn stored_text(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let chars: Vec<char> = text.chars().collect();
    for (i, &c) in chars.iter().enumerate() {
        match c {
            '\n' | '\r' | '\t' | '\0' => out.push('\u{FFFD}'),
            '\\' => {
                let ambiguous = match chars.get(i + 1) {
                    None => true,
                    Some(next) => {
                        matches!(next, '\\' | ' ' | ',' | '=' | '\n' | '\r' | '\t' | '\0')
                    }
                };
                out.push(if ambiguous { '\u{FFFD}' } else { '\\' });
            }
            c => out.push(c),
        }
    }
    out
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
}
