//! Deterministic hostile points: tag and field text full of what line protocol must
//! escape, and numbers at the edges.
#![allow(dead_code, unreachable_pub)]

use monitoring::{Point, Text};

/// The text of tags and fields: separators, quotes, backslashes, unicode, controls.
const ALPHABET: &[&str] = &[
    "a", "b", "Z", "0", "9", ",", "=", " ", "\"", "\\", "'", "é", "日本", "🚀", "\t", "-", "/",
    ":", "{", "}", "\u{7f}", "\u{1}", "ß", "\\n", "\n", "\r",
];

pub const TAG_KEY: &str = "k ,=ey";
pub const STRING_FIELD: &str = "s ,=\"x";

/// A small deterministic generator (SplitMix64), so a failure can be replayed.
pub struct Gen(pub u64);

impl Gen {
    pub fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    pub fn text(&mut self, max: usize) -> String {
        let len = 1 + (self.next() as usize) % max;
        (0..len)
            .map(|_| ALPHABET[(self.next() as usize) % ALPHABET.len()])
            .collect()
    }

    pub fn float(&mut self) -> f64 {
        match self.next() % 6 {
            0 => f64::from_bits(self.next() >> 2), // tiny to huge positive, finite
            1 => -(self.next() as f64) / 7.0,
            2 => 1e-300 * (self.next() % 1000) as f64,
            3 => 1.7e308,
            4 => 0.1 + (self.next() % 100) as f64,
            _ => (self.next() as i64) as f64,
        }
    }
}

/// Point number `i` of the hostile set, stamped `base_ns + i`.
pub fn point(g: &mut Gen, series: &'static str, i: u64, base_ns: i64) -> Point {
    Point::at(series, base_ns + i as i64)
        .with_tag("id", i)
        .with_tag(TAG_KEY, g.text(12))
        .with_tag("t2", g.text(40))
        .with_field(STRING_FIELD, g.text(60))
        .with_field("i", g.next() as i64)
        .with_field("f", g.float())
        .with_field("u", g.next() >> 1)
        .with_field("b", g.next().is_multiple_of(2))
}

/// A string field as stored: line breaks become U+FFFD, everything else is kept.
pub fn stored_string(s: &str) -> String {
    s.replace(['\n', '\r'], "\u{FFFD}")
}

pub fn text(v: &monitoring::TagValue) -> String {
    match v {
        monitoring::TagValue::Text(t) => t.to_string(),
        monitoring::TagValue::Int(i) => i.to_string(),
        monitoring::TagValue::UInt(u) => u.to_string(),
        other => panic!("unexpected tag {other:?}"),
    }
}

pub fn field_text(p: &Point, key: &str) -> Text {
    match p.field(key) {
        Some(monitoring::FieldValue::Str(s)) => s.clone(),
        other => panic!("{key}: {other:?}"),
    }
}
