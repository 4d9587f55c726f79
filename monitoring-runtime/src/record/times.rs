//! A request's inline timings, and the registry of timed-field names they refer to by
//! id (`#[timed_field]` registers each name once).

use std::cell::Cell;
use std::sync::RwLock;

/// Timing slots carried inline by every request.
pub(crate) const SLOTS: usize = 3;
const NS_BITS: u32 = 48;
pub(crate) const NS_MAX: u64 = (1 << NS_BITS) - 1;

/// A request's inline timings: `id << 48 | nanoseconds` per slot, 0 when free. Ids
/// come from [`register_field`].
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(crate) struct Times(pub(crate) [u64; SLOTS]);

impl Times {
    pub(crate) const EMPTY: Times = Times([0; SLOTS]);

    /// True when no slot is used (slots are used in order).
    #[inline]
    pub(crate) fn is_empty(&self) -> bool {
        self.0[0] == 0
    }

    /// Adds `ns` to field `id`; false when every slot holds another field.
    #[inline]
    pub(crate) fn add(&mut self, id: u16, ns: u64) -> bool {
        let slots: &Cell<[u64]> = Cell::from_mut(&mut self.0);
        add_to_slots(slots.as_slice_of_cells(), id, ns)
    }

    /// `(field id, nanoseconds)` of each used slot, in first-use order.
    pub(crate) fn iter(&self) -> impl Iterator<Item = (u16, u64)> + '_ {
        self.0
            .iter()
            .take_while(|s| **s != 0)
            .map(|s| ((s >> NS_BITS) as u16, s & NS_MAX))
    }
}

/// [`Times::add`] on slots held in cells: the thread's slot is updated in place, not
/// copied out and back.
#[inline]
pub(crate) fn add_to_slots(slots: &[Cell<u64>], id: u16, ns: u64) -> bool {
    let tag = u64::from(id) << NS_BITS;
    for slot in slots {
        let value = slot.get();
        if value == 0 {
            slot.set(tag | ns.min(NS_MAX));
            return true;
        }
        if value & !NS_MAX == tag {
            slot.set(tag | (value & NS_MAX).saturating_add(ns).min(NS_MAX));
            return true;
        }
    }
    false
}

/// Timed-field names by id - 1.
static NAMES: RwLock<Vec<&'static str>> = RwLock::new(Vec::new());

/// The id of timed field `name` (fields of the same name share one, so they
/// accumulate together); 0 when the registry is full.
#[cold]
pub(crate) fn register_field(name: &'static str) -> u16 {
    let mut names = NAMES.write().unwrap_or_else(|e| e.into_inner());
    let id = match names.iter().position(|n| *n == name) {
        Some(i) => i + 1,
        None if names.len() < usize::from(u16::MAX) => {
            names.push(name);
            names.len()
        }
        None => return 0,
    };
    id as u16
}

/// The name of field `id` (the flusher's side), through the flusher's copy of the
/// registry.
pub(crate) fn field_name(id: u16, cache: &mut Vec<&'static str>) -> &'static str {
    let index = usize::from(id) - 1;
    if index >= cache.len() {
        cache.clone_from(&NAMES.read().unwrap_or_else(|e| e.into_inner()));
    }
    cache[index]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn slots_accumulate_per_field_and_saturate() {
        let mut t = Times::default();
        assert!(t.add(7, 5));
        assert!(t.add(9, 1));
        assert!(t.add(7, 10));
        assert!(t.add(3, NS_MAX));
        assert!(t.add(3, 1));
        assert!(!t.add(4, 1), "three slots, a fourth field does not fit");
        assert_eq!(t.iter().collect::<Vec<_>>(), [(7, 15), (9, 1), (3, NS_MAX)]);
    }
}
