//! Escaping and replacing what line protocol cannot carry as is (the policy table in
//! the module above says what happens to each byte), and the policy's oracles: what a
//! server stores for a name, a tag value or a field key.

use super::writer::{copy_short, Writer};
use super::{Element, Encoder, MAX_STRING_FIELD_BYTES};

pub(super) const REPLACEMENT: &[u8] = "\u{FFFD}".as_bytes();

/// Bytes that need attention in a series name, tag key, tag value or field key: those
/// that any of their plans does not simply keep (derived from the plans below, so the
/// scan that sends text to them and the plans cannot disagree).
pub(super) const NAME_SPECIAL: [bool; 256] = specials(&[&SERIES_PLAN, &NAME_PLAN, &FIELD_KEY_PLAN]);

const fn specials(plans: &[&Plan]) -> [bool; 256] {
    let mut t = [false; 256];
    let mut b = 0;
    while b < 256 {
        let mut p = 0;
        while p < plans.len() {
            if plans[p][b] >> 16 != 1 {
                t[b] = true;
            }
            p += 1;
        }
        b += 1;
    }
    t
}

/// True when a string field needs no escaping: 16 bytes at a time (compares only, so
/// the compiler turns each block into a few SIMD instructions), the last block
/// overlapping the one before it instead of a byte loop over the tail.
#[inline]
pub(super) fn plain_string(bytes: &[u8]) -> bool {
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

/// How each byte of an element is written, one table per element: the two bytes out
/// (the first out, then the byte itself) in the low half, how many of them count in the
/// high half (1: kept, 2: escaped with a backslash); 0 means look closer
/// ([`write_closer`]: replaced, or a backslash or `#` whose fate depends on its
/// neighbours). Kept and escaped bytes then cost the same few instructions, with no
/// branch between them: one two-byte store, and the position moves by one or two.
type Plan = [u32; 256];

const fn plan(escaped: &[u8], closer: &[u8]) -> Plan {
    let mut t = [0u32; 256];
    let mut b = 0;
    while b < 256 {
        t[b] = (b as u32) << 8 | b as u32 | 1 << 16;
        b += 1;
    }
    let mut i = 0;
    while i < escaped.len() {
        let b = escaped[i] as u32;
        t[b as usize] = b << 8 | b'\\' as u32 | 2 << 16;
        i += 1;
    }
    let mut i = 0;
    while i < closer.len() {
        t[closer[i] as usize] = 0;
        i += 1;
    }
    t
}

/// Series names: `,` and space escaped, `=` kept, a leading `#` replaced.
const SERIES_PLAN: Plan = plan(b", ", b"\\\n\r\t\0#");
/// Tag keys and values: `,`, `=` and space escaped.
const NAME_PLAN: Plan = plan(b",= ", b"\\\n\r\t\0");
/// Field keys: as tag keys, and `"` replaced.
const FIELD_KEY_PLAN: Plan = plan(b",= ", b"\\\n\r\t\0\"");
/// String field values: `"` and `\` escaped, line breaks replaced.
const STRING_PLAN: Plan = plan(b"\"\\", b"\n\r");

impl Encoder {
    /// Writes a series name, tag key, tag value or field key that needs escaping or
    /// replacing from byte `first` on. In line where the element is known: its plan is
    /// then a constant and the set-up costs no call (measured: BENCHMARKS.md, the
    /// encoder's section).
    #[inline(always)]
    pub(super) fn write_escaped(
        &mut self,
        w: &mut Writer,
        bytes: &[u8],
        first: usize,
        element: Element,
    ) {
        let plan = match element {
            Element::Series => &SERIES_PLAN,
            Element::Name => &NAME_PLAN,
            Element::FieldKey => &FIELD_KEY_PLAN,
        };
        // At most 3 bytes out per byte in (U+FFFD), and one byte past the end for the
        // two-byte stores.
        w.ensure(bytes.len() * 3 + 1);
        let start = w.pos;
        let out = &mut w.buf[start..start + bytes.len() * 3 + 1];
        copy_short(&mut out[..first], &bytes[..first]);
        let (j, sanitized) = write_planned(out, first, bytes, first, plan);
        w.pos = start + j;
        if sanitized {
            self.issues.sanitized += 1;
        }
    }

    #[inline]
    pub(super) fn write_string_field(&mut self, w: &mut Writer, text: &str) {
        let mut text = text;
        if text.len() > MAX_STRING_FIELD_BYTES {
            let mut cut = MAX_STRING_FIELD_BYTES;
            while !text.is_char_boundary(cut) {
                cut -= 1;
            }
            text = &text[..cut];
            self.issues.truncated += 1;
        }
        self.write_string_value(w, text.as_bytes());
    }

    /// Writes a string field value not over 64 KiB, in its quotes.
    #[inline]
    pub(super) fn write_string_value(&mut self, w: &mut Writer, bytes: &[u8]) {
        if plain_string(bytes) {
            write_plain_string(w, bytes);
            return;
        }
        self.write_string_escaped(w, bytes);
    }

    /// Writes a string field value (not over 64 KiB) that needs escaping or replacing.
    #[inline]
    fn write_string_escaped(&mut self, w: &mut Writer, bytes: &[u8]) {
        // At most 3 bytes out per byte in (U+FFFD), the quotes, and one byte past the
        // end for the two-byte stores.
        w.ensure(bytes.len() * 3 + 3);
        let start = w.pos;
        let out = &mut w.buf[start..start + bytes.len() * 3 + 3];
        out[0] = b'"';
        let (j, sanitized) = write_planned(out, 1, bytes, 0, &STRING_PLAN);
        out[j] = b'"';
        w.pos = start + j + 1;
        if sanitized {
            self.issues.sanitized += 1;
        }
    }
}

/// Writes a string field value that needs no escaping, in its quotes.
#[inline]
fn write_plain_string(w: &mut Writer, bytes: &[u8]) {
    w.ensure(bytes.len() + 2);
    w.byte(b'"');
    w.bytes(bytes);
    w.byte(b'"');
}

/// Writes `bytes[i..]` into `out` from position `j` as `plan` says; returns the
/// position after them and whether a byte was replaced. `out` has room for three bytes
/// out per byte in, plus one.
#[inline(always)]
fn write_planned(
    out: &mut [u8],
    mut j: usize,
    bytes: &[u8],
    mut i: usize,
    plan: &Plan,
) -> (usize, bool) {
    let mut sanitized = false;
    while i < bytes.len() {
        let how = plan[bytes[i] as usize];
        let len = (how >> 16) as usize;
        if len == 0 {
            let (written, replaced) = write_closer(&mut out[j..j + 3], bytes, i);
            j += written;
            sanitized |= replaced;
        } else {
            out[j..j + 2].copy_from_slice(&(how as u16).to_le_bytes());
            j += len;
        }
        i += 1;
    }
    (j, sanitized)
}

/// Writes byte `i` of `bytes`, one its plan says to look closer at, into `out`; returns
/// how many bytes it took and whether it was replaced (with U+FFFD). A backslash is kept
/// unless what follows it would make servers read it differently (the end of the text,
/// another backslash, a separator or a line break): then it is replaced, so that 1.x and
/// VictoriaMetrics store the same key. A `#` (only in series names' plan) is replaced
/// at the start, where it would make the line a comment. Everything else that reaches
/// here (line breaks, tab, NUL, `"` in a field key) is replaced.
#[inline(never)]
fn write_closer(out: &mut [u8], bytes: &[u8], i: usize) -> (usize, bool) {
    let b = bytes[i];
    let keep = match b {
        b'\\' => !matches!(
            bytes.get(i + 1),
            None | Some(b'\\' | b' ' | b',' | b'=' | b'\n' | b'\r' | b'\t' | 0)
        ),
        b'#' => i != 0,
        _ => false,
    };
    if keep {
        out[0] = b;
        (1, false)
    } else {
        out[..3].copy_from_slice(REPLACEMENT);
        (3, true)
    }
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

    /// What a plan says of byte `b`: kept, escaped, or looked at closer.
    fn decision(plan: &Plan, b: u8) -> &'static str {
        let how = plan[usize::from(b)];
        match how >> 16 {
            0 => "closer",
            1 => {
                assert_eq!(how & 0xffff, u32::from(b) << 8 | u32::from(b), "{b}");
                "keep"
            }
            2 => {
                assert_eq!(how & 0xffff, u32::from(b) << 8 | u32::from(b'\\'), "{b}");
                "escape"
            }
            n => panic!("byte {b}: {n} bytes out"),
        }
    }

    /// Every byte of every element against the policy as the module above states it.
    #[test]
    fn the_plans_follow_the_policy_for_every_byte() {
        let breaks = |b: u8| matches!(b, b'\n' | b'\r' | b'\t' | 0);
        for b in 0..=255u8 {
            let series = match b {
                b',' | b' ' => "escape",
                b'\\' | b'#' => "closer",
                _ if breaks(b) => "closer",
                _ => "keep",
            };
            let name = match b {
                b',' | b' ' | b'=' => "escape",
                b'\\' => "closer",
                _ if breaks(b) => "closer",
                _ => "keep",
            };
            let field_key = if b == b'"' { "closer" } else { name };
            let string = match b {
                b'"' | b'\\' => "escape",
                b'\n' | b'\r' => "closer",
                _ => "keep",
            };
            assert_eq!(decision(&SERIES_PLAN, b), series, "series {b}");
            assert_eq!(decision(&NAME_PLAN, b), name, "name {b}");
            assert_eq!(decision(&FIELD_KEY_PLAN, b), field_key, "field key {b}");
            assert_eq!(decision(&STRING_PLAN, b), string, "string {b}");
            // The scan that sends text to the plans misses no byte they act on.
            if [series, name, field_key].iter().any(|d| *d != "keep") {
                assert!(NAME_SPECIAL[usize::from(b)], "{b} not in NAME_SPECIAL");
            }
        }
    }
}
