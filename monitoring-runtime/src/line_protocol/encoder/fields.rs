//! The encoder's field writers: typed values, the 1.x dialect's integers, and keys
//! deduplicated as written when sanitizing made two equal.

use super::{Element, Encoder, Fields};
use crate::line_protocol::writer::{Float, Writer};
use crate::line_protocol::{is_reserved, Dialect};
use crate::point::{FieldValue, Point, Text};

impl Encoder {
    /// Writes the fields and the timestamp, unless no field is left or (with `check`)
    /// a key was sanitized, so two keys as written may be equal: then the caller
    /// rewinds and calls
    /// [`write_fields_deduped`](Self::write_fields_deduped).
    #[inline(always)]
    pub(in crate::line_protocol) fn write_fields(
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
    pub(in crate::line_protocol) fn write_fields_deduped(
        &mut self,
        point: &Point,
        w: &mut Writer,
    ) -> bool {
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
    pub(in crate::line_protocol) fn field_value_ok(&self, value: &FieldValue) -> bool {
        match value {
            FieldValue::Float(f) => f.is_finite(),
            FieldValue::UInt(u) => self.dialect == Dialect::V2 || *u <= i64::MAX as u64,
            _ => true,
        }
    }
}
