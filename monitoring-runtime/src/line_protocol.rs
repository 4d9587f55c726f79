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
}

const STATIC_CACHE: usize = 128;

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
        let start = out.len();
        if self.encode_inner(point, out) {
            true
        } else {
            out.truncate(start);
            self.issues.points_dropped += 1;
            false
        }
    }

    /// Encodes one point into a new string (convenient in tests and plugins).
    pub fn encode_to_string(&mut self, point: &Point) -> Option<String> {
        let mut out = Vec::new();
        self.encode(point, &mut out)
            .then(|| String::from_utf8(out).expect("line protocol is UTF-8"))
    }

    fn encode_inner(&mut self, point: &Point, out: &mut Vec<u8>) -> bool {
        let start = out.len();
        out.reserve(256);
        let series = point.series.as_str();
        if series.is_empty() || series.starts_with('_') {
            return false;
        }
        self.write_text(out, &point.series, Element::Series);

        let tags = &point.tags;
        // Fast path: every tag valid and keys already strictly ascending (the flusher
        // builds request points that way), so no sorting and no scratch space.
        let sorted_and_valid = tags.iter().enumerate().all(|(i, (key, value))| {
            !key.is_empty()
                && !tag_value_is_empty(value)
                && !is_reserved(key)
                && (i == 0 || tags[i - 1].0.as_str() < key.as_str())
        });
        if sorted_and_valid {
            for (key, value) in tags {
                out.push(b',');
                self.write_text(out, key, Element::Name);
                out.push(b'=');
                self.write_tag_value(out, value);
            }
        } else {
            self.write_tags_sorted(point, out);
        }
        if out.len() - start > MAX_SERIES_KEY_BYTES {
            return false;
        }
        self.write_fields(point, out)
    }

    /// Tags that need filtering or ordering: valid ones, sorted by key, the last of
    /// equal keys winning.
    fn write_tags_sorted(&mut self, point: &Point, out: &mut Vec<u8>) {
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
            out.push(b',');
            self.write_text(out, &tags[i].0, Element::Name);
            out.push(b'=');
            self.write_tag_value(out, &tags[i].1);
        }
        self.tag_order = order;
    }

    fn write_fields(&mut self, point: &Point, out: &mut Vec<u8>) -> bool {
        let mut written = 0usize;
        let mut buf = zmij::Buffer::new();
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
            out.push(if written == 0 { b' ' } else { b',' });
            written += 1;
            self.write_text(out, key, Element::FieldKey);
            out.push(b'=');
            match value {
                FieldValue::Float(f) => out.extend_from_slice(buf.format_finite(*f).as_bytes()),
                FieldValue::Int(i) => {
                    out.extend_from_slice(ints.format(*i).as_bytes());
                    out.push(b'i');
                }
                FieldValue::UInt(u) => {
                    out.extend_from_slice(ints.format(*u).as_bytes());
                    out.push(if self.dialect == Dialect::V2 {
                        b'u'
                    } else {
                        b'i'
                    });
                }
                FieldValue::Bool(b) => out.extend_from_slice(if *b { b"true" } else { b"false" }),
                FieldValue::Str(s) => self.write_string_field(out, s),
            }
        }
        if written == 0 {
            return false;
        }
        out.push(b' ');
        out.extend_from_slice(ints.format(point.timestamp_ns).as_bytes());
        out.push(b'\n');
        true
    }

    fn write_tag_value(&mut self, out: &mut Vec<u8>, value: &TagValue) {
        match value {
            TagValue::Text(t) => self.write_text(out, t, Element::Name),
            TagValue::Int(i) => out.extend_from_slice(itoa::Buffer::new().format(*i).as_bytes()),
            TagValue::UInt(u) => out.extend_from_slice(itoa::Buffer::new().format(*u).as_bytes()),
            TagValue::Float(f) => {
                out.extend_from_slice(zmij::Buffer::new().format_finite(*f).as_bytes())
            }
            TagValue::Bool(b) => out.extend_from_slice(if *b { b"true" } else { b"false" }),
        }
    }

    /// Writes a name or tag value, skipping the scan for static text known to be plain.
    #[inline]
    fn write_text(&mut self, out: &mut Vec<u8>, text: &Text, element: Element) {
        if let Text::Static(s) = text {
            let key = (s.as_ptr() as usize, s.len());
            let slot = ((key.0 >> 3) ^ key.1.wrapping_mul(31)) % STATIC_CACHE;
            if self.plain_statics[slot] == key {
                out.extend_from_slice(s.as_bytes());
                return;
            }
            if plain(s.as_bytes(), &NAME_SPECIAL) {
                self.plain_statics[slot] = key;
                out.extend_from_slice(s.as_bytes());
                return;
            }
        }
        self.write_escaped(out, text, element);
    }

    /// Writes a series name, tag key, tag value or field key.
    fn write_escaped(&mut self, out: &mut Vec<u8>, text: &str, element: Element) {
        let bytes = text.as_bytes();
        // Fast path: nothing to escape or replace (the common case of static names).
        if plain(bytes, &NAME_SPECIAL) {
            out.extend_from_slice(bytes);
            return;
        }
        let mut sanitized = false;
        for (i, &b) in bytes.iter().enumerate() {
            match b {
                b',' | b' ' => {
                    out.push(b'\\');
                    out.push(b);
                }
                b'=' if element != Element::Series => {
                    out.push(b'\\');
                    out.push(b);
                }
                b'\n' | b'\r' | b'\t' | 0 => {
                    out.extend_from_slice(REPLACEMENT);
                    sanitized = true;
                }
                b'#' if i == 0 && element == Element::Series => {
                    out.extend_from_slice(REPLACEMENT);
                    sanitized = true;
                }
                b'"' if element == Element::FieldKey => {
                    out.extend_from_slice(REPLACEMENT);
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
                        out.extend_from_slice(REPLACEMENT);
                        sanitized = true;
                    } else {
                        out.push(b'\\');
                    }
                }
                _ => out.push(b),
            }
        }
        if sanitized {
            self.issues.sanitized += 1;
        }
    }

    fn write_string_field(&mut self, out: &mut Vec<u8>, text: &str) {
        let mut text = text;
        if text.len() > MAX_STRING_FIELD_BYTES {
            let mut cut = MAX_STRING_FIELD_BYTES;
            while !text.is_char_boundary(cut) {
                cut -= 1;
            }
            text = &text[..cut];
            self.issues.truncated += 1;
        }
        out.push(b'"');
        let bytes = text.as_bytes();
        // SIMD search (memchr): request ids and messages are the longest text here.
        if memchr::memchr3(b'"', b'\\', b'\n', bytes).is_none()
            && memchr::memchr(b'\r', bytes).is_none()
        {
            out.extend_from_slice(bytes);
        } else {
            let mut sanitized = false;
            for &b in bytes {
                match b {
                    b'"' | b'\\' => {
                        out.push(b'\\');
                        out.push(b);
                    }
                    b'\n' | b'\r' => {
                        out.extend_from_slice(REPLACEMENT);
                        sanitized = true;
                    }
                    _ => out.push(b),
                }
            }
            if sanitized {
                self.issues.sanitized += 1;
            }
        }
        out.push(b'"');
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
