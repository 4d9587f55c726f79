//! The static-name cache: `&'static str` names already seen to need no escaping, by
//! address and length. Static text never changes, so the scan of a name is done once,
//! not per line, and the cost does not depend on where the names live.

use super::escape::NAME_SPECIAL;
use super::{is_reserved, Encoder};
use crate::point::Text;

/// Slots of the static-name cache (a power of two).
pub(super) const STATIC_CACHE: usize = 256;

#[inline(always)]
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

impl Encoder {
    /// True for a static name that is written as is: non-empty, not reserved, nothing
    /// to escape (remembered in the static-name cache).
    pub(super) fn plain_static_name(&mut self, name: &'static str) -> bool {
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

    /// Remembers a plain static name: in its first slot if free, else its second if
    /// free, else in its first (evicting the name there, which then moves to its own
    /// second slot when next seen).
    #[cold]
    pub(super) fn remember_static(&mut self, s: &'static str) {
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
    pub(super) fn known_static(&self, text: &Text) -> Option<&'static str> {
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
}
