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

/// True when a string field needs no escaping: 16 bytes at a time (compares only, so
/// the compiler turns each block into a few SIMD instructions), the last block
/// overlapping the one before it instead of a byte loop over the tail.
#[inline]
fn plain_string(bytes: &[u8]) -> bool {
    let n = bytes.len();
    if n < 16 {
        // Padded with a byte that needs nothing.
        let mut block = [b' '; 16];
        copy_short(&mut block[..n], bytes);
        return !needs_escape(&block);
    }
    let mut blocks = bytes.chunks_exact(16);
    for block in &mut blocks {
        if needs_escape(block.try_into().expect("16 bytes")) {
            return false;
        }
    }
    blocks.remainder().is_empty() || !needs_escape(bytes[n - 16..].try_into().expect("16 bytes"))
}

/// True when a block holds a byte a string field escapes or replaces.
#[inline(always)]
fn needs_escape(block: &[u8; 16]) -> bool {
    let mut found = 0u8;
    for &b in block {
        found |= u8::from((b == b'"') | (b == b'\\') | (b == b'\n') | (b == b'\r'));
    }
    found != 0
}

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

/// Where a line is written: a reused scratch buffer written by position, so that the
/// many short copies of a line need neither capacity checks nor `memcpy` calls; the
/// finished line is appended to the output in one copy.
struct Writer {
    buf: Vec<u8>,
    pos: usize,
}

/// Copies `src` into `dst` (of the same length). Short slices, the common case here,
/// are copied with two overlapping fixed-size moves instead of a `memcpy` call.
#[inline(always)]
fn copy_short(dst: &mut [u8], src: &[u8]) {
    let n = src.len();
    if n >= 16 {
        dst.copy_from_slice(src);
    } else if n >= 8 {
        let (head, tail) = (word::<8>(&src[..8]), word::<8>(&src[n - 8..]));
        dst[..8].copy_from_slice(&head);
        dst[n - 8..].copy_from_slice(&tail);
    } else if n >= 4 {
        let (head, tail) = (word::<4>(&src[..4]), word::<4>(&src[n - 4..]));
        dst[..4].copy_from_slice(&head);
        dst[n - 4..].copy_from_slice(&tail);
    } else if n > 0 {
        // 1 to 3 bytes: first, middle and last (some the same).
        let (first, middle, last) = (src[0], src[n / 2], src[n - 1]);
        dst[0] = first;
        dst[n / 2] = middle;
        dst[n - 1] = last;
    }
}

/// `N` bytes as a value (a register load, never a `memcpy` call).
#[inline(always)]
fn word<const N: usize>(s: &[u8]) -> [u8; N] {
    let mut out = [0; N];
    out.copy_from_slice(&s[..N]);
    out
}

/// `n < 100_000_000` as eight ASCII digits, the first in the lowest byte: the two
/// halves of four digits, each split into two pairs, each pair into two digits, all
/// lanes at once (multiplications by reciprocals, exact in these ranges).
#[inline(always)]
fn eight_digits(n: u32) -> u64 {
    let n = u64::from(n);
    let abcd_efgh = (n / 10_000) | ((n % 10_000) << 32);
    let ab_ef = ((abcd_efgh * 10_486) >> 20) & 0x0000_007f_0000_007f;
    let ab_cd_ef_gh = ab_ef | ((abcd_efgh - ab_ef * 100) << 16);
    let a_c_e_g = ((ab_cd_ef_gh * 103) >> 10) & 0x000f_000f_000f_000f;
    let digits = a_c_e_g | ((ab_cd_ef_gh - a_c_e_g * 10) << 8);
    digits | 0x3030_3030_3030_3030
}

/// A finite float field value, ready to write: most are durations in seconds that are
/// exactly a whole number of nanoseconds (`ns as f64 / 1e9`), whose digits come
/// straight from that integer; the others from `zmij`. Both write the same bytes for
/// the same value (see [`Float::new`]).
#[derive(Clone, Copy)]
enum Float<'a> {
    /// The value is the double nearest to `n / 10^9`, with `10^4 <= n < 10^15`.
    Nanos(u64),
    /// Formatted by `zmij`.
    Text(&'a str),
}

impl<'a> Float<'a> {
    /// `x` (finite) as `Nanos` when it is the double nearest to a decimal `n / 10^9`
    /// with `n < 10^15` and at least 10^-5 (zmij's fixed notation): decimals of at most
    /// 15 significant digits map to distinct doubles, so that decimal is the only one of
    /// at most 15 digits that rounds to `x`, which makes it `x`'s shortest
    /// representation, the one zmij writes. The candidate `n` is `x * 1e9` rounded;
    /// `n / 1e9` computed in doubles is correctly rounded (`n` and `1e9` are both
    /// exact), so comparing it with `x` proves the condition.
    #[inline(always)]
    fn new(x: f64, buffer: &'a mut zmij::Buffer) -> Float<'a> {
        // 2^52: adding it to a non-negative value below 2^52 leaves the nearest integer
        // in the low bits of the mantissa, and subtracting it again gives that integer
        // as an exact double (no float <-> integer conversions on the way).
        const ROUND: f64 = 4_503_599_627_370_496.0;
        if (1e-5..1e6).contains(&x) {
            let rounded = x * 1e9 + ROUND;
            if (rounded - ROUND) / 1e9 == x {
                return Float::Nanos(rounded.to_bits() - ROUND.to_bits());
            }
        }
        Float::Text(buffer.format_finite(x))
    }
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
        copy_short(&mut self.buf[self.pos..self.pos + n], s);
        self.pos += n;
    }

    /// `sep`, `key`, `=` and `value` with one room check and one position update:
    /// a tag or a field whose name and value are known not to need escaping.
    #[inline(always)]
    fn pair(&mut self, sep: u8, key: &[u8], value: &[u8]) {
        let (k, v) = (key.len(), value.len());
        self.ensure(k + v + 2);
        let dst = &mut self.buf[self.pos..self.pos + k + v + 2];
        dst[0] = sep;
        copy_short(&mut dst[1..k + 1], key);
        dst[k + 1] = b'=';
        copy_short(&mut dst[k + 2..], value);
        self.pos += k + v + 2;
    }

    /// `n < 1_000_000_000` as nine zero-padded digits (room ensured): computed in
    /// registers and stored whole. (Copying them out of a formatter's buffer right after
    /// it wrote them byte by byte would stall: the wider loads cannot be forwarded from
    /// the narrower stores still in flight.)
    #[inline(always)]
    fn nine_digits(&mut self, n: u32) {
        let dst = &mut self.buf[self.pos..self.pos + 9];
        dst[0] = b'0' + (n / 100_000_000) as u8;
        dst[1..].copy_from_slice(&eight_digits(n % 100_000_000).to_le_bytes());
        self.pos += 9;
    }

    /// A float field value (at most 24 bytes; room ensured).
    #[inline(always)]
    fn float(&mut self, value: Float<'_>) {
        match value {
            Float::Text(text) => self.bytes(text.as_bytes()),
            Float::Nanos(n) => self.nanos_as_seconds(n),
        }
    }

    /// `n / 10^9` (`n < 10^15`) as zmij writes the double nearest to it: the whole
    /// seconds, `.`, and the nine fractional digits without trailing zeros (one kept).
    #[inline(always)]
    fn nanos_as_seconds(&mut self, n: u64) {
        let (whole, fraction) = (n / 1_000_000_000, (n % 1_000_000_000) as u32);
        if whole < 10 {
            self.byte(b'0' + whole as u8);
        } else {
            self.bytes(itoa::Buffer::new().format(whole).as_bytes());
        }
        // As `nine_digits` after a `.`, in one write (sharing it costs ~4 instructions
        // per float) and keeping the digits' word for the trailing zeros.
        let last_eight = eight_digits(fraction % 100_000_000);
        let dst = &mut self.buf[self.pos..self.pos + 10];
        dst[0] = b'.';
        dst[1] = b'0' + (fraction / 100_000_000) as u8;
        dst[2..].copy_from_slice(&last_eight.to_le_bytes());
        // The last digit is in the highest byte: zero digits are zero bytes after the
        // xor, and at most eight of them go (the first fractional digit stays).
        let trailing_zeros = (last_eight ^ 0x3030_3030_3030_3030).leading_zeros() / 8;
        self.pos += 10 - trailing_zeros as usize;
    }

    /// `sep`, `key`, `=` and a float value with one room check.
    #[inline(always)]
    fn float_pair(&mut self, sep: u8, key: &[u8], value: Float<'_>) {
        let k = key.len();
        self.ensure(k + 2);
        let dst = &mut self.buf[self.pos..self.pos + k + 2];
        dst[0] = sep;
        copy_short(&mut dst[1..k + 1], key);
        dst[k + 1] = b'=';
        self.pos += k + 2;
        self.float(value);
    }

    /// `n < 1000` (status codes) without a formatter (room ensured).
    #[inline(always)]
    fn short_uint(&mut self, n: u16) {
        let digits = [
            b'0' + (n / 100) as u8,
            b'0' + (n / 10 % 10) as u8,
            b'0' + (n % 10) as u8,
        ];
        let skip = usize::from(n < 100) + usize::from(n < 10);
        self.bytes(&digits[skip..]);
    }

    /// Copies `s` after making room for it.
    #[inline]
    fn text(&mut self, s: &[u8]) {
        self.ensure(s.len());
        self.bytes(s);
    }

    /// A separator and `s` (whose room was ensured), with one bounds check.
    #[inline(always)]
    fn sep_bytes(&mut self, sep: u8, s: &[u8]) {
        self.buf[self.pos] = sep;
        self.pos += 1;
        self.bytes(s);
    }

    /// A separator and `s`, after making room for them.
    #[inline(always)]
    fn sep_text(&mut self, sep: u8, s: &[u8]) {
        self.ensure(s.len() + 1);
        self.sep_bytes(sep, s);
    }
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
    /// Where lines are written before they are appended to the output.
    scratch: Vec<u8>,
    /// The whole seconds of the last timestamp written, as digits.
    seconds: (i64, [u8; 20], usize),
}

/// The parts of a completed request's `requests` line (see
/// [`Encoder::encode_request`]).
pub(crate) struct RequestLine<'a> {
    pub(crate) route: &'static str,
    pub(crate) service: &'a Text,
    pub(crate) status: u16,
    pub(crate) request_id: RequestIdField<'a>,
    /// Seconds.
    pub(crate) execution_time: f64,
    /// Timed fields in seconds, in the request's order.
    pub(crate) timings: &'a [(&'static str, f64)],
    pub(crate) timestamp_ns: i64,
}

/// The `request_id` field of a [`RequestLine`].
#[derive(Clone, Copy)]
pub(crate) enum RequestIdField<'a> {
    /// Given by the handler or the request's headers.
    Given(&'a str),
    /// Random bits of a uuid4, written as the seed's `<unix seconds>,<uuid4>`.
    Generated(u128),
}

/// Slots of the static-name cache (a power of two).
const STATIC_CACHE: usize = 256;

fn static_key(s: &'static str) -> (usize, usize) {
    (s.as_ptr() as usize, s.len())
}

/// A static name's hash, from its address and length (Fibonacci hashing: neighbouring
/// statics spread out). Its top bits give the name's first slot, the bits below them
/// its second: a name lives in either, so two names that share their first slot
/// (about one process in nine for the seed's names) no longer evict each other on
/// every line; that takes three names sharing both slots.
#[inline(always)]
fn static_hash(s: &'static str) -> usize {
    let (address, len) = static_key(s);
    (address ^ len.rotate_left(32)).wrapping_mul(0x9E37_79B9_7F4A_7C15_u64 as usize)
}

const SLOT_BITS: u32 = STATIC_CACHE.trailing_zeros();

#[inline(always)]
fn first_slot(hash: usize) -> usize {
    hash >> (usize::BITS - SLOT_BITS)
}

#[inline(always)]
fn second_slot(hash: usize) -> usize {
    (hash >> (usize::BITS - 2 * SLOT_BITS)) & (STATIC_CACHE - 1)
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

    /// Appends the `requests` line of a completed request straight from its parts, as
    /// [`encode`](Self::encode) would write the point the flusher builds for it, without
    /// building that point. Returns `false` (writing nothing) when the request needs the
    /// general path: an empty route or service, or a timing name that is not plain.
    pub(crate) fn encode_request(&mut self, request: &RequestLine<'_>, out: &mut Vec<u8>) -> bool {
        if request.route.is_empty() || request.service.is_empty() {
            return false;
        }
        for &(name, _) in request.timings {
            if !self.plain_static_name(name) {
                return false;
            }
        }
        let mut w = Writer {
            buf: std::mem::take(&mut self.scratch),
            pos: 0,
        };
        w.text(b"requests,route");
        self.write_tag_text(&mut w, &Text::Static(request.route));
        w.text(b",service");
        self.write_tag_text(&mut w, request.service);
        w.text(b",status_code");
        self.write_tag_value(&mut w, &TagValue::UInt(u64::from(request.status)));
        if w.pos > MAX_SERIES_KEY_BYTES {
            self.scratch = w.buf;
            return false;
        }
        w.text(b" request_id=");
        match request.request_id {
            RequestIdField::Given(id) => self.write_string_field(&mut w, id),
            RequestIdField::Generated(random) => {
                // Nothing in a generated id needs escaping.
                w.ensure(crate::id::REQUEST_ID_MAX + 2);
                w.byte(b'"');
                let room = &mut w.buf[w.pos..w.pos + crate::id::REQUEST_ID_MAX];
                w.pos += crate::id::write_request_id(request.timestamp_ns, random, room);
                w.byte(b'"');
            }
        }
        let mut floats = zmij::Buffer::new();
        w.float_pair(
            b',',
            b"execution_time",
            Float::new(request.execution_time, &mut floats),
        );
        for &(name, secs) in request.timings {
            w.float_pair(b',', name.as_bytes(), Float::new(secs, &mut floats));
        }
        w.byte(b' ');
        self.write_timestamp(&mut w, request.timestamp_ns);
        w.byte(b'\n');
        out.extend_from_slice(&w.buf[..w.pos]);
        self.scratch = w.buf;
        true
    }

    /// True for a static name that is written as is: non-empty, not reserved, nothing
    /// to escape (remembered in the static-name cache).
    fn plain_static_name(&mut self, name: &'static str) -> bool {
        let text = Text::Static(name);
        if self.known_static(&text).is_some() {
            return true;
        }
        let plain = !name.is_empty()
            && !is_reserved(name)
            && !name.bytes().any(|b| NAME_SPECIAL[b as usize]);
        if plain {
            self.remember_static(name);
        }
        plain
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

    /// Remembers a plain static name: in its first slot if free, else its second if
    /// free, else in its first (evicting the name there, which then moves to its own
    /// second slot when next seen).
    #[cold]
    fn remember_static(&mut self, s: &'static str) {
        let hash = static_hash(s);
        let (first, second) = (first_slot(hash), second_slot(hash));
        let slot = if self.plain_statics[first] == (0, 0) || self.plain_statics[second] != (0, 0) {
            first
        } else {
            second
        };
        self.plain_statics[slot] = static_key(s);
    }

    /// Static text seen before to be plain, non-empty and not reserved, so valid as any
    /// element as is: the checks and the scan are done once per name, not per line.
    #[inline(always)]
    fn known_static(&self, text: &Text) -> Option<&'static str> {
        match text {
            Text::Static(s) => {
                let key = static_key(s);
                let hash = static_hash(s);
                if self.plain_statics[first_slot(hash)] == key
                    || self.plain_statics[second_slot(hash)] == key
                {
                    Some(s)
                } else {
                    None
                }
            }
            _ => None,
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

    /// Writes text not in the static cache, adding it when it qualifies.
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
        self.write_escaped(w, bytes, first, element);
    }

    /// Writes a series name, tag key, tag value or field key that needs escaping or
    /// replacing from byte `first` on: byte by byte (such text is short and dense with
    /// special bytes).
    fn write_escaped(&mut self, w: &mut Writer, bytes: &[u8], first: usize, element: Element) {
        // At most 3 bytes out per byte in (U+FFFD).
        w.ensure(bytes.len() * 3);
        let start = w.pos;
        let out = &mut w.buf[start..start + bytes.len() * 3];
        out[..first].copy_from_slice(&bytes[..first]);
        let mut j = first;
        let mut sanitized = false;
        for (i, &b) in bytes.iter().enumerate().skip(first) {
            if !NAME_SPECIAL[b as usize] {
                out[j] = b;
                j += 1;
                continue;
            }
            let replace = match b {
                b',' | b' ' => false,
                b'=' => {
                    if element == Element::Series {
                        out[j] = b;
                        j += 1;
                        continue;
                    }
                    false
                }
                b'\n' | b'\r' | b'\t' | 0 => true,
                b'#' if i == 0 && element == Element::Series => true,
                b'"' if element == Element::FieldKey => true,
                b'\\' => {
                    let ambiguous = match bytes.get(i + 1) {
                        None => true,
                        Some(next) => {
                            matches!(next, b'\\' | b' ' | b',' | b'=' | b'\n' | b'\r' | b'\t' | 0)
                        }
                    };
                    if !ambiguous {
                        out[j] = b;
                        j += 1;
                        continue;
                    }
                    true
                }
                _ => {
                    out[j] = b;
                    j += 1;
                    continue;
                }
            };
            if replace {
                out[j..j + 3].copy_from_slice(REPLACEMENT);
                j += 3;
                sanitized = true;
            } else {
                out[j] = b'\\';
                out[j + 1] = b;
                j += 2;
            }
        }
        w.pos = start + j;
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
        // At most 3 bytes out per byte in (U+FFFD), plus the quotes.
        w.ensure(bytes.len() * 3 + 2);
        let start = w.pos;
        let out = &mut w.buf[start..start + bytes.len() * 3 + 2];
        out[0] = b'"';
        let mut j = 1;
        let mut sanitized = false;
        for &b in bytes {
            match b {
                b'"' | b'\\' => {
                    out[j] = b'\\';
                    out[j + 1] = b;
                    j += 2;
                }
                b'\n' | b'\r' => {
                    out[j..j + 3].copy_from_slice(REPLACEMENT);
                    j += 3;
                    sanitized = true;
                }
                _ => {
                    out[j] = b;
                    j += 1;
                }
            }
        }
        out[j] = b'"';
        w.pos = start + j + 1;
        if sanitized {
            self.issues.sanitized += 1;
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

    /// The point the flusher builds for a plain request (see `worker.rs`).
    fn request_point(r: &RequestLine<'_>) -> Point {
        let id = match r.request_id {
            RequestIdField::Given(id) => Text::Shared(id.into()),
            RequestIdField::Generated(random) => {
                crate::id::format_request_id(r.timestamp_ns, random)
            }
        };
        let mut p = Point::at("requests", r.timestamp_ns)
            .with_tag("route", r.route)
            .with_tag("service", r.service.clone())
            .with_tag("status_code", u64::from(r.status))
            .with_field("request_id", id)
            .with_field("execution_time", r.execution_time);
        for &(name, secs) in r.timings {
            p = p.with_field(name, secs);
        }
        p
    }

    #[test]
    fn request_lines_match_their_points() {
        let shared = Text::Shared("svc,with space".into());
        let plain = Text::Static("luna-handlers");
        let timings = [("save_warps_time", 0.001_25), ("detect_time", 12.5)];
        let cases = [
            RequestLine {
                route: "POST:/extractor",
                service: &plain,
                status: 200,
                request_id: RequestIdField::Given("1700000000,abc"),
                execution_time: 0.25,
                timings: &timings,
                timestamp_ns: 1_700_000_000_123_456_789,
            },
            RequestLine {
                route: "GET:/a b=c",
                service: &shared,
                status: 201,
                request_id: RequestIdField::Generated(0x0123_4567_89ab_cdef_fedc_ba98_7654_3210),
                execution_time: 1e-9,
                timings: &timings[..1],
                timestamp_ns: 1_700_000_001_000_000_000,
            },
            RequestLine {
                route: "GET:/version",
                service: &plain,
                status: 304,
                request_id: RequestIdField::Given("say \"hi\"\\\n"),
                execution_time: 3.0,
                timings: &[],
                timestamp_ns: 5,
            },
        ];
        for dialect in [Dialect::V1, Dialect::V2] {
            // A warm encoder (names cached by the earlier lines) and a fresh one per line.
            let mut warm = Encoder::new(dialect);
            for r in &cases {
                let expected = line(&request_point(r), dialect).unwrap();
                for encoder in [&mut warm, &mut Encoder::new(dialect)] {
                    let mut out = b"earlier\n".to_vec();
                    assert!(encoder.encode_request(r, &mut out));
                    assert_eq!(std::str::from_utf8(&out[8..]).unwrap(), expected);
                }
            }
        }
    }

    #[test]
    fn request_lines_leave_odd_names_to_the_general_path() {
        let service = Text::Static("svc");
        let base = RequestLine {
            route: "GET:/a",
            service: &service,
            status: 200,
            request_id: RequestIdField::Given("x"),
            execution_time: 0.5,
            timings: &[],
            timestamp_ns: 1,
        };
        let empty = Text::Static("");
        let odd_timings: [&[(&'static str, f64)]; 4] = [
            &[("time", 0.1)],
            &[("_x", 0.1)],
            &[("a b", 0.1)],
            &[("", 0.1)],
        ];
        let odd_timings = odd_timings.map(|timings| RequestLine { timings, ..base });
        for r in [
            RequestLine { route: "", ..base },
            RequestLine {
                service: &empty,
                ..base
            },
        ]
        .into_iter()
        .chain(odd_timings)
        {
            let mut out = Vec::new();
            assert!(!Encoder::new(Dialect::V2).encode_request(&r, &mut out));
            assert!(out.is_empty());
        }
    }

    #[test]
    fn eight_digits_match_std_formatting() {
        // Every value near each power of ten and digit boundary, plus a stride over the
        // whole range.
        let mut values: Vec<u32> = (0..100_000_000).step_by(7_919).collect();
        for p in 0..8 {
            let b = 10u32.pow(p);
            values.extend([b - 1, b, b + 1, b * 9, b * 9 + b - 1]);
        }
        values.extend([99_999_999, 12_345_678, 90_909_090]);
        for n in values {
            let got = eight_digits(n).to_le_bytes();
            assert_eq!(std::str::from_utf8(&got).unwrap(), format!("{n:08}"), "{n}");
        }
    }

    /// What the encoder writes for a float value, and what zmij writes for it.
    fn float_text(x: f64) -> (String, String) {
        let mut w = Writer {
            buf: vec![0; 128],
            pos: 0,
        };
        w.float(Float::new(x, &mut zmij::Buffer::new()));
        let ours = String::from_utf8(w.buf[..w.pos].to_vec()).unwrap();
        (ours, zmij::Buffer::new().format_finite(x).to_owned())
    }

    #[test]
    fn floats_from_whole_nanoseconds_match_zmij() {
        // Every n from the smallest on the fast path, then a stride over the whole range
        // up to 10^15 ns, powers of ten and their neighbours, and each of these values'
        // neighbouring doubles (which mostly leave the fast path).
        let mut nanos: Vec<u64> = (9_990..60_000).collect();
        nanos.extend((0..1_000_000_000_000_000).step_by(99_991_234_567));
        nanos.extend(
            (0..200_000)
                .map(|i: u64| i.wrapping_mul(0x9E37_79B9_7F4A_7C15) % 1_000_000_000_000_000),
        );
        for p in 4..=15 {
            let b = 10u64.pow(p);
            nanos.extend([b - 1, b, b + 1, b * 5, 12 * b / 10]);
        }
        let (mut fast, mut checked) = (0, 0);
        for n in nanos {
            let x = n as f64 / 1e9;
            for x in [x, x.next_up(), x.next_down(), -x] {
                if matches!(Float::new(x, &mut zmij::Buffer::new()), Float::Nanos(_)) {
                    fast += 1;
                }
                let (ours, zmij) = float_text(x);
                assert_eq!(ours, zmij, "{x:e} from {n} ns");
                checked += 1;
            }
        }
        // Durations from whole nanoseconds take the fast path (most of the values
        // above); the rest were checked too.
        assert!(fast > checked / 5, "{fast} of {checked}");
        for x in [
            0.0,
            -0.0,
            1e-5,
            9.999_999e-6,
            1e6,
            999_999.999_999_999,
            0.25,
            12.0,
            1e300,
            5e-324,
        ] {
            let (ours, zmij) = float_text(x);
            assert_eq!(ours, zmij, "{x:e}");
        }
    }

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
