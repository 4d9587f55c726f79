//! Request ids in the seed's style (`<unix seconds>,<uuid4>`) and the cheap randomness
//! behind them and behind retry jitter.
//!
//! The flusher draws 128 random bits from a thread-local wyrand generator (seeded from
//! std's per-process random hasher keys, about 2 ns a draw) and formats the text; the
//! request path does neither. Ids need to be unique, not unpredictable.

use std::cell::Cell;

use crate::point::Text;
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

/// The version 4 uuid made of `random`'s bits.
pub(crate) fn uuid_v4(random: u128) -> uuid::Uuid {
    uuid::Builder::from_random_bytes(random.to_be_bytes()).into_uuid()
}

/// `<unix seconds>,<uuid4>` for a request that started at `timestamp_ns`, formatted on
/// the stack and shared (one allocation).
pub(crate) fn format_request_id(timestamp_ns: i64, random: u128) -> Text {
    let uuid = uuid_v4(random);
    let mut secs = itoa::Buffer::new();
    let secs = secs.format(timestamp_ns.div_euclid(1_000_000_000));
    let mut hyphenated = uuid::Uuid::encode_buffer();
    let hyphenated = uuid.hyphenated().encode_lower(&mut hyphenated);
    let mut out = [0u8; 64];
    let n = secs.len() + 1 + hyphenated.len();
    out[..secs.len()].copy_from_slice(secs.as_bytes());
    out[secs.len()] = b',';
    out[secs.len() + 1..n].copy_from_slice(hyphenated.as_bytes());
    Text::Shared(std::str::from_utf8(&out[..n]).expect("ASCII").into())
}

#[cfg(test)]
mod tests {
    #[test]
    fn seed_style_request_id() {
        let id = super::format_request_id(1_700_000_000_123_456_789, super::random_u128());
        let (secs, uuid) = id.split_once(',').unwrap();
        assert_eq!(secs, "1700000000");
        assert_eq!(uuid.len(), 36);
        assert_eq!(&uuid[14..15], "4", "version 4: {uuid}");
    }
}
