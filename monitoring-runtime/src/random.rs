//! Cheap randomness: the bits of generated request ids (`crate::request_id`) and the
//! retry jitter (`crate::retry`).
//!
//! A thread-local wyrand generator, seeded from std's per-process random hasher keys
//! and the time: about 2 ns a draw. Ids need to be unique, not unpredictable.

use std::cell::Cell;

use std::hash::{BuildHasher, Hasher};

thread_local! {
    static STATE: Cell<u64> = Cell::new(seed());
}

fn seed() -> u64 {
    let mut h = std::collections::hash_map::RandomState::new().build_hasher();
    h.write_u64(
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_nanos() as u64)
            .unwrap_or(0),
    );
    h.finish()
}

/// wyrand: passes BigCrush, one multiply per draw.
pub(crate) fn random_u64() -> u64 {
    STATE.with(|s| {
        let x = s.get().wrapping_add(0xa076_1d64_78bd_642f);
        s.set(x);
        let t = u128::from(x) * u128::from(x ^ 0xe703_7ed1_a0b4_28db);
        (t as u64) ^ ((t >> 64) as u64)
    })
}

pub(crate) fn random_u128() -> u128 {
    (u128::from(random_u64()) << 64) | u128::from(random_u64())
}
