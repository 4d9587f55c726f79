//! Request ids in luna-handlers' style, `<unix seconds>,<uuid4>`: drawn and formatted by
//! the flusher for a request that was given none, so the request path does neither.

use crate::point::Text;

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
        let id = super::format_request_id(1_700_000_000_123_456_789, crate::random::random_u128());
        let (secs, uuid) = id.split_once(',').unwrap();
        assert_eq!(secs, "1700000000");
        assert_eq!(uuid.len(), 36);
        assert_eq!(&uuid[14..15], "4", "version 4: {uuid}");
    }
}
