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

/// Room [`write_request_id`] needs: 20 digits of seconds, a comma, 36 of uuid.
pub(crate) const REQUEST_ID_MAX: usize = 57;

/// Writes `<unix seconds>,<uuid4>` for a request that started at `timestamp_ns` into
/// `out` (at least [`REQUEST_ID_MAX`] bytes) and returns its length.
pub(crate) fn write_request_id(timestamp_ns: i64, random: u128, out: &mut [u8]) -> usize {
    let mut secs = itoa::Buffer::new();
    let secs = secs
        .format(timestamp_ns.div_euclid(1_000_000_000))
        .as_bytes();
    out[..secs.len()].copy_from_slice(secs);
    out[secs.len()] = b',';
    let start = secs.len() + 1;
    let end = start + uuid::fmt::Hyphenated::LENGTH;
    uuid::Builder::from_random_bytes(random.to_be_bytes())
        .into_uuid()
        .hyphenated()
        .encode_lower(&mut out[start..end]);
    end
}

/// [`write_request_id`] as shared text (one allocation).
pub(crate) fn format_request_id(timestamp_ns: i64, random: u128) -> Text {
    let mut out = [0u8; REQUEST_ID_MAX];
    let n = write_request_id(timestamp_ns, random, &mut out);
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
