//! Escaping and replacing what line protocol cannot carry as is (the policy table in
//! the module above says what happens to each byte), and the policy's oracles: what a
//! server stores for a name, a tag value or a field key.

use super::writer::{copy_short, Writer};
use super::{Element, Encoder, MAX_STRING_FIELD_BYTES};

pub(super) const REPLACEMENT: &[u8] = "\u{FFFD}".as_bytes();

/// Bytes that need attention in a name or tag value (escape, replace or check).
pub(super) const NAME_SPECIAL: [bool; 256] = table(b",= \\\n\r\t\0\"#");

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

impl Encoder {
    /// Writes a series name, tag key, tag value or field key that needs escaping or
    /// replacing from byte `first` on: byte by byte (such text is short and dense with
    /// special bytes).
    pub(super) fn write_escaped(
        &mut self,
        w: &mut Writer,
        bytes: &[u8],
        first: usize,
        element: Element,
    ) {
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
