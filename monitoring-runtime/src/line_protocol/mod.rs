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

mod encoder;
pub(crate) mod escape;
mod escaped_statics;
mod request_line;
mod static_names;
mod writer;

use encoder::Element;
pub use encoder::Encoder;
pub(crate) use request_line::{RequestIdField, RequestLine};

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

/// `time` is rejected by InfluxDB 1.x, a leading `_` by 2.x: both are refused everywhere
/// so that a point means the same on every server.
pub(crate) fn is_reserved(name: &str) -> bool {
    name == "time" || name.starts_with('_')
}

#[cfg(test)]
mod tests;
