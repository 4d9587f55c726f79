//! Headers found by one scan of a small header map (feature `axum`): the request-id
//! headers of a request, a gRPC call's content type and `grpc-status`.
//!
//! `HeaderMap::get` hashes the name it looks for (a custom name, such as
//! `luna-request-id`, byte by byte) and probes the table: about 170 instructions for
//! each of the two request-id headers, which most requests do not carry. A map of up
//! to [`SCAN_LIMIT`] values (a gRPC call carries five or six, its answer's headers and
//! trailers one or two, a curl request three) is scanned once instead, comparing each
//! entry's name with the wanted ones (a standard name by its index, a custom one by
//! length first). Measured by `scripts/callgrind.sh` (`layer_monitoring`,
//! `grpc_monitoring`; BENCHMARKS.md, the layer and gRPC).
//! The answer is the same either way: for each name its first value, else `None`
//! (the unit tests below compare both ways).

use http::{HeaderMap, HeaderName, HeaderValue};

/// The largest map scanned; a larger one is looked up name by name.
const SCAN_LIMIT: usize = 16;

/// The first value of each of `names` in `headers`.
#[inline]
pub(crate) fn find<'a, const N: usize>(
    headers: &'a HeaderMap,
    names: &[HeaderName; N],
) -> [Option<&'a HeaderValue>; N] {
    if headers.is_empty() {
        return [None; N];
    }
    if headers.len() > SCAN_LIMIT {
        return names.each_ref().map(|name| headers.get(name));
    }
    let mut found = [None; N];
    for (name, value) in headers {
        for (slot, wanted) in found.iter_mut().zip(names) {
            if slot.is_none() && name == wanted {
                *slot = Some(value);
            }
        }
    }
    found
}

#[cfg(test)]
mod tests {
    use super::*;

    fn by_lookup<'a>(
        headers: &'a HeaderMap,
        names: &[HeaderName; 2],
    ) -> [Option<&'a HeaderValue>; 2] {
        names.each_ref().map(|name| headers.get(name))
    }

    /// Scanned or looked up, the same values: the first of each name, absent as `None`,
    /// whatever the map's size, order and repeated names.
    #[test]
    fn a_scan_finds_what_a_lookup_finds() {
        let names = [
            HeaderName::from_static("luna-request-id"),
            HeaderName::from_static("x-request-id"),
        ];
        for size in [0usize, 1, 5, 15, 16, 17, 40] {
            for with in 0..4 {
                let mut headers = HeaderMap::new();
                for i in 0..size {
                    let name = HeaderName::try_from(format!("x-filler-{i}")).unwrap();
                    headers.append(name, HeaderValue::from(i));
                }
                headers.append(http::header::CONTENT_TYPE, HeaderValue::from_static("a/b"));
                if with & 1 != 0 {
                    headers.append(&names[0], HeaderValue::from_static("luna-1"));
                    headers.append(&names[0], HeaderValue::from_static("luna-2"));
                }
                if with & 2 != 0 {
                    headers.append(&names[1], HeaderValue::from_static("x-1"));
                }
                assert_eq!(
                    find(&headers, &names),
                    by_lookup(&headers, &names),
                    "{size} {with}"
                );
            }
        }
    }
}
