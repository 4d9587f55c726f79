//! gRPC as the boundary sees it (feature `axum`): which requests are gRPC calls, the
//! route of a call, and what its `grpc-status` means as a request's status.
//!
//! A call's status is its gRPC code, never its HTTP status (always 200 for an answer
//! of a gRPC server): `status_code` is the code's HTTP equivalent as google.rpc.Code
//! documents it ([`status`]), so that the dashboards' status panels work
//! unchanged, and `error_code` is the numeric code. A code outside 0–16, or a
//! `grpc-status` that is not a number, is UNKNOWN (2), as gRPC clients read it.
// The boundary ends a cancelled call through this module whatever the adapter; only
// the tower layer (feature `axum`) starts calls.
#![cfg_attr(not(feature = "axum"), allow(dead_code))]

use crate::point::{TagValue, Text};
use crate::status::Status;

/// The gRPC code of a method the server does not implement.
pub(crate) const UNIMPLEMENTED: u8 = 12;
/// The gRPC code of a call the client cancelled (its stream dropped).
pub(crate) const CANCELLED: u8 = 1;
/// The gRPC code of an answer without a valid status.
pub(crate) const UNKNOWN: u8 = 2;

/// The header (or trailer) of a call's status, parsed once (looking a header up by
/// `&str` parses the name on every call); an array for [`crate::headers::find`].
#[cfg(feature = "axum")]
pub(crate) static GRPC_STATUS: [http::HeaderName; 1] =
    [http::HeaderName::from_static("grpc-status")];

/// The request header that tells a gRPC call.
#[cfg(feature = "axum")]
pub(crate) static CONTENT_TYPE: [http::HeaderName; 1] = [http::header::CONTENT_TYPE];

/// The longest gRPC path taken as a route, in bytes (longer ones are unmatched).
pub(crate) const MAX_PATH: usize = 256;

/// The HTTP status of each gRPC code (google.rpc.Code), indexed by the code.
const HTTP_STATUS: [u16; 17] = [
    200, // OK
    499, // CANCELLED
    500, // UNKNOWN
    400, // INVALID_ARGUMENT
    504, // DEADLINE_EXCEEDED
    404, // NOT_FOUND
    409, // ALREADY_EXISTS
    403, // PERMISSION_DENIED
    429, // RESOURCE_EXHAUSTED
    400, // FAILED_PRECONDITION
    409, // ABORTED
    400, // OUT_OF_RANGE
    501, // UNIMPLEMENTED
    500, // INTERNAL
    503, // UNAVAILABLE
    500, // DATA_LOSS
    401, // UNAUTHENTICATED
];

/// Each code as text, the `error_code` tag (no allocation per call).
const CODE_TEXT: [&str; 17] = [
    "0", "1", "2", "3", "4", "5", "6", "7", "8", "9", "10", "11", "12", "13", "14", "15", "16",
];

/// The request status of gRPC `code`: its HTTP equivalent, and for any code but OK the
/// numeric code as the error code; a code outside 0–16 is UNKNOWN.
pub(crate) fn status(code: u8) -> Status {
    let code = match usize::from(code) {
        c if c < CODE_TEXT.len() => c,
        _ => usize::from(UNKNOWN),
    };
    match code {
        0 => Status::code(200),
        _ => Status {
            code: HTTP_STATUS[code],
            error_code: Some(TagValue::Text(Text::Static(CODE_TEXT[code]))),
        },
    }
}

/// The code a `grpc-status` value says: 1–3 ASCII digits of a code 0–16, else
/// UNKNOWN (a value from a server is read no further than its third byte).
pub(crate) fn parse_code(value: &[u8]) -> u8 {
    match value {
        [d] if d.is_ascii_digit() => d - b'0',
        [b'1', d] if (b'0'..=b'6').contains(d) => 10 + (d - b'0'),
        _ => UNKNOWN,
    }
}

/// True for a gRPC call: a request of content type `application/grpc`, alone or with
/// a codec suffix (`+proto`, `;charset=...`). gRPC-Web (`application/grpc-web*`) is
/// not: its status travels inside the body.
pub(crate) fn is_grpc(content_type: Option<&[u8]>) -> bool {
    let Some(rest) = content_type.and_then(|v| v.strip_prefix(b"application/grpc")) else {
        return false;
    };
    matches!(rest.first(), None | Some(b'+' | b';'))
}

/// The path of a call as a route template, when it is one: `/package.Service/Method`,
/// two non-empty segments of visible ASCII without `?`, at most [`MAX_PATH`] bytes.
/// Anything else is no gRPC method and is recorded as unmatched.
pub(crate) fn route_template(path: &str) -> Option<&str> {
    let bytes = path.as_bytes();
    if bytes.len() > MAX_PATH || !bytes.iter().all(|b| b.is_ascii_graphic() && *b != b'?') {
        return None;
    }
    let (service, method) = path.strip_prefix('/')?.split_once('/')?;
    (!service.is_empty() && !method.is_empty() && !method.contains('/')).then_some(path)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_map_to_google_rpc_http_statuses() {
        let expected = [
            (0, 200),
            (1, 499),
            (2, 500),
            (3, 400),
            (4, 504),
            (5, 404),
            (6, 409),
            (7, 403),
            (8, 429),
            (9, 400),
            (10, 409),
            (11, 400),
            (12, 501),
            (13, 500),
            (14, 503),
            (15, 500),
            (16, 401),
        ];
        for (code, http) in expected {
            let status = status(code);
            assert_eq!(status.code, http, "code {code}");
            let error_code = status.error_code.map(|c| match c {
                TagValue::Text(t) => t.as_str().to_owned(),
                other => panic!("{other:?}"),
            });
            assert_eq!(error_code, (code != 0).then(|| code.to_string()));
        }
        assert_eq!(status(17).code, 500);
        assert_eq!(status(255).error_code, status(UNKNOWN).error_code);
    }

    #[test]
    fn grpc_status_values_are_read_strictly() {
        for code in 0..=16u8 {
            assert_eq!(parse_code(code.to_string().as_bytes()), code);
        }
        for bad in [
            &b""[..],
            b"17",
            b"-1",
            b"01",
            b"1 ",
            b"x",
            b"100",
            b"99999999999",
        ] {
            assert_eq!(parse_code(bad), UNKNOWN, "{bad:?}");
        }
    }

    #[test]
    fn grpc_calls_are_told_by_their_content_type() {
        for yes in [
            "application/grpc",
            "application/grpc+proto",
            "application/grpc;x=y",
        ] {
            assert!(is_grpc(Some(yes.as_bytes())), "{yes}");
        }
        for no in [
            "application/grpc-web",
            "application/grpcx",
            "application/json",
            "",
        ] {
            assert!(!is_grpc(Some(no.as_bytes())), "{no}");
        }
        assert!(!is_grpc(None));
    }

    #[test]
    fn only_method_paths_are_routes() {
        let ok = "/grpc.health.v1.Health/Check";
        assert_eq!(route_template(ok), Some(ok));
        let long = format!("/a/{}", "b".repeat(MAX_PATH));
        for bad in [
            "/", "/a", "/a/", "//b", "/a/b/c", "a/b", "/a/b?x", "/a b/c", &long,
        ] {
            assert_eq!(route_template(bad), None, "{bad}");
        }
    }
}
