//! A plain request's `requests` line written straight from its parts, byte for byte
//! what the encoder writes for the point the flusher would build for it.

use super::writer::{Float, Writer};
use super::{Encoder, MAX_SERIES_KEY_BYTES};
use crate::point::{TagValue, Text};

/// The parts of a completed request's `requests` line (see
/// [`Encoder::encode_request`]).
pub(crate) struct RequestLine<'a> {
    pub(crate) route: &'static str,
    pub(crate) service: &'a Text,
    pub(crate) status: u16,
    pub(crate) request_id: RequestIdField<'a>,
    /// Seconds.
    pub(crate) execution_time: f64,
    /// Timed fields in seconds, in the request's order.
    pub(crate) timings: &'a [(&'static str, f64)],
    pub(crate) timestamp_ns: i64,
}

/// The `request_id` field of a [`RequestLine`].
#[derive(Clone, Copy)]
pub(crate) enum RequestIdField<'a> {
    /// Given by the handler or the request's headers.
    Given(&'a str),
    /// Random bits of a uuid4, written as luna-handlers' `<unix seconds>,<uuid4>`.
    Generated(u128),
}

impl Encoder {
    /// Appends the `requests` line of a completed request straight from its parts, as
    /// [`encode`](Self::encode) would write the point the flusher builds for it, without
    /// building that point. Returns `false` (writing nothing) when the request needs the
    /// general path: an empty route or service, or a timing name that is not plain.
    pub(crate) fn encode_request(&mut self, request: &RequestLine<'_>, out: &mut Vec<u8>) -> bool {
        if request.route.is_empty() || request.service.is_empty() {
            return false;
        }
        for &(name, _) in request.timings {
            if !self.plain_static_name(name) {
                return false;
            }
        }
        let mut w = Writer {
            buf: std::mem::take(&mut self.scratch),
            pos: 0,
        };
        w.text(b"requests,route");
        self.write_tag_text(&mut w, &Text::Static(request.route));
        w.text(b",service");
        self.write_tag_text(&mut w, request.service);
        w.text(b",status_code");
        self.write_tag_value(&mut w, &TagValue::UInt(u64::from(request.status)));
        if w.pos > MAX_SERIES_KEY_BYTES {
            self.scratch = w.buf;
            return false;
        }
        w.text(b" request_id=");
        match request.request_id {
            RequestIdField::Given(id) => self.write_string_field(&mut w, id),
            RequestIdField::Generated(random) => {
                // Nothing in a generated id needs escaping.
                w.ensure(crate::request_id::REQUEST_ID_MAX + 2);
                w.byte(b'"');
                let room = &mut w.buf[w.pos..w.pos + crate::request_id::REQUEST_ID_MAX];
                w.pos += crate::request_id::write_request_id(request.timestamp_ns, random, room);
                w.byte(b'"');
            }
        }
        let mut floats = zmij::Buffer::new();
        w.float_pair(
            b',',
            b"execution_time",
            Float::new(request.execution_time, &mut floats),
        );
        for &(name, secs) in request.timings {
            w.float_pair(b',', name.as_bytes(), Float::new(secs, &mut floats));
        }
        w.byte(b' ');
        self.write_timestamp(&mut w, request.timestamp_ns);
        w.byte(b'\n');
        out.extend_from_slice(&w.buf[..w.pos]);
        self.scratch = w.buf;
        true
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::line_protocol::Dialect;
    use crate::point::Point;

    fn line(p: &Point, dialect: Dialect) -> Option<String> {
        Encoder::new(dialect).encode_to_string(p)
    }

    /// The point the flusher builds for a plain request (see `worker.rs`).
    fn request_point(r: &RequestLine<'_>) -> Point {
        let id = match r.request_id {
            RequestIdField::Given(id) => Text::Shared(id.into()),
            RequestIdField::Generated(random) => {
                crate::request_id::format_request_id(r.timestamp_ns, random)
            }
        };
        let mut p = Point::at("requests", r.timestamp_ns)
            .with_tag("route", r.route)
            .with_tag("service", r.service.clone())
            .with_tag("status_code", u64::from(r.status))
            .with_field("request_id", id)
            .with_field("execution_time", r.execution_time);
        for &(name, secs) in r.timings {
            p = p.with_field(name, secs);
        }
        p
    }

    #[test]
    fn request_lines_match_their_points() {
        let shared = Text::Shared("svc,with space".into());
        let plain = Text::Static("luna-handlers");
        let timings = [("save_warps_time", 0.001_25), ("detect_time", 12.5)];
        let cases = [
            RequestLine {
                route: "POST:/extractor",
                service: &plain,
                status: 200,
                request_id: RequestIdField::Given("1700000000,abc"),
                execution_time: 0.25,
                timings: &timings,
                timestamp_ns: 1_700_000_000_123_456_789,
            },
            RequestLine {
                route: "GET:/a b=c",
                service: &shared,
                status: 201,
                request_id: RequestIdField::Generated(0x0123_4567_89ab_cdef_fedc_ba98_7654_3210),
                execution_time: 1e-9,
                timings: &timings[..1],
                timestamp_ns: 1_700_000_001_000_000_000,
            },
            RequestLine {
                route: "GET:/version",
                service: &plain,
                status: 304,
                request_id: RequestIdField::Given("say \"hi\"\\\n"),
                execution_time: 3.0,
                timings: &[],
                timestamp_ns: 5,
            },
        ];
        for dialect in [Dialect::V1, Dialect::V2] {
            // A warm encoder (names cached by the earlier lines) and a fresh one per line.
            let mut warm = Encoder::new(dialect);
            for r in &cases {
                let expected = line(&request_point(r), dialect).unwrap();
                for encoder in [&mut warm, &mut Encoder::new(dialect)] {
                    let mut out = b"earlier\n".to_vec();
                    assert!(encoder.encode_request(r, &mut out));
                    assert_eq!(std::str::from_utf8(&out[8..]).unwrap(), expected);
                }
            }
        }
    }

    #[test]
    fn request_lines_leave_odd_names_to_the_general_path() {
        let service = Text::Static("svc");
        let base = RequestLine {
            route: "GET:/a",
            service: &service,
            status: 200,
            request_id: RequestIdField::Given("x"),
            execution_time: 0.5,
            timings: &[],
            timestamp_ns: 1,
        };
        let empty = Text::Static("");
        let odd_timings: [&[(&'static str, f64)]; 4] = [
            &[("time", 0.1)],
            &[("_x", 0.1)],
            &[("a b", 0.1)],
            &[("", 0.1)],
        ];
        let odd_timings = odd_timings.map(|timings| RequestLine { timings, ..base });
        for r in [
            RequestLine { route: "", ..base },
            RequestLine {
                service: &empty,
                ..base
            },
        ]
        .into_iter()
        .chain(odd_timings)
        {
            let mut out = Vec::new();
            assert!(!Encoder::new(Dialect::V2).encode_request(&r, &mut out));
            assert!(out.is_empty());
        }
    }
}
