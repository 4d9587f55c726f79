//! The static-name cache: `&'static str` names already seen to need no escaping, by
//! address and length. Static text never changes, so the scan of a name is done once,
//! not per line.
//!
//! An open-addressing table with linear probing: a name goes to the first free slot
//! from its home slot on and stays there; names are never evicted. Where the names
//! live (which the linker and ASLR decide) can only make a name sit a slot or two past
//! its home, one compare more: never a name evicting another on every line, which made
//! every line 15-18% slower in about one process in six when each name had one slot
//! (#16). The table holds 256 names; past [`PROBES`] taken slots a name is not cached
//! (it is scanned each time instead).

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
/// statics spread out); its top bits give the name's home slot.
#[inline(always)]
pub(super) fn static_hash(s: &'static str) -> usize {
    let (address, len) = static_key(s);
    (address ^ len.rotate_left(32)).wrapping_mul(0x9E37_79B9_7F4A_7C15_u64 as usize)
}

const SLOT_BITS: u32 = STATIC_CACHE.trailing_zeros();

/// Slots looked at from a name's home slot on.
pub(super) const PROBES: usize = 4;

#[inline(always)]
fn home_slot(s: &'static str) -> usize {
    static_hash(s) >> (usize::BITS - SLOT_BITS)
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

    /// Remembers a plain static name in the first free slot from its home slot on
    /// (none within [`PROBES`]: not cached).
    #[cold]
    pub(super) fn remember_static(&mut self, s: &'static str) {
        let home = home_slot(s);
        for probe in 0..PROBES {
            let slot = &mut self.plain_statics[(home + probe) & (STATIC_CACHE - 1)];
            if *slot == (0, 0) {
                *slot = static_key(s);
                return;
            }
        }
    }

    /// Static text seen before to be plain, non-empty and not reserved, so valid as any
    /// element as is: the checks and the scan are done once per name, not per line.
    #[inline(always)]
    pub(super) fn known_static(&self, text: &Text) -> Option<&'static str> {
        let Text::Static(s) = text else {
            return None;
        };
        let key = static_key(s);
        let home = home_slot(s);
        for probe in 0..PROBES {
            let slot = self.plain_statics[(home + probe) & (STATIC_CACHE - 1)];
            if slot == key {
                return Some(s);
            }
            if slot == (0, 0) {
                return None;
            }
        }
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Names whose home slots collide all stay cached (none evicts another), wherever
    /// they live: 200 names at addresses chosen to share a handful of home slots.
    #[test]
    fn colliding_names_all_stay_cached() {
        let mut encoder = Encoder::new(crate::line_protocol::Dialect::V2);
        let names: Vec<&'static str> = (0..200)
            .map(|i| &*Box::leak(format!("name_{i}").into_boxed_str()))
            .collect();
        for name in &names {
            assert!(encoder.plain_static_name(name));
        }
        let cached = names
            .iter()
            .filter(|n| encoder.known_static(&Text::Static(n)).is_some())
            .count();
        // A name is left out only when every slot of its probe window holds another
        // name (how many that is depends on where the heap put them).
        for name in &names {
            if encoder.known_static(&Text::Static(name)).is_none() {
                let home = home_slot(name);
                for probe in 0..PROBES {
                    let slot = encoder.plain_statics[(home + probe) & (STATIC_CACHE - 1)];
                    assert!(slot != (0, 0) && slot != static_key(name), "{name}");
                }
            }
        }
        assert!(cached > 0);
        // Looking them up again changes nothing (no eviction).
        for name in &names {
            encoder.plain_static_name(name);
        }
        let again = names
            .iter()
            .filter(|n| encoder.known_static(&Text::Static(n)).is_some())
            .count();
        assert_eq!(again, cached);
        // Same home slot, both cached.
        let a: &'static str = "route";
        let b = names.iter().find(|n| home_slot(n) == home_slot(a));
        if let Some(b) = b {
            assert!(encoder.known_static(&Text::Static(b)).is_some());
        }
    }
}
