//! The lines every encoding benchmark writes, for each encoder compared: the seed's
//! `requests` line and an escape-heavy one. Shared by `encode.rs` and `instructions.rs`.
#![allow(dead_code)]

use std::hint::black_box;
use std::time::Duration;

use influxdb_line_protocol::LineProtocolBuilder;
use monitoring::{FieldValue, Point, TagValue};

pub(crate) const TS: i64 = 1_764_000_000_123_456_789;
pub(crate) const ID: &str = "1764000000,8e2f4d1c-3b6a-4f7e-9c1d-2a5b6c7d8e9f";

/// A `requests` point as the flusher builds it for the seed's extractor (tags in key order;
/// the request id, as in a service, is text built at run time).
pub(crate) fn seed_point() -> Point {
    Point::at("requests", TS)
        .with_tag("route", "POST:/extractor")
        .with_tag("service", "luna-handlers")
        .with_tag("status_code", 201u16)
        .with_field("request_id", String::from(ID))
        .with_field("execution_time", 0.012_345_678)
        .with_field("download_images_time", 0.004_321)
        .with_field("save_warps_time", 0.001_987_654)
}

/// The seed point with every string copied to a new place on the heap, layout `k`
/// (0, 1, ...): a pseudo-random gap before each copy, so that each layout puts the names
/// at other addresses, in other cache sets and other slots of the encoder's
/// static-name cache. The copies are leaked (`&'static str`, as string literals are).
pub(crate) fn seed_point_relocated(k: u64) -> Point {
    let mut state = k.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1;
    let mut place = |s: &str| -> &'static str {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        let gap = (state % 4096) as usize + 1;
        Box::leak(vec![0u8; gap].into_boxed_slice());
        Box::leak(s.to_owned().into_boxed_str())
    };
    Point::at(place("requests"), TS)
        .with_tag(place("route"), place("POST:/extractor"))
        .with_tag(place("service"), place("luna-handlers"))
        .with_tag(place("status_code"), 201u16)
        .with_field(place("request_id"), String::from(ID))
        .with_field(place("execution_time"), 0.012_345_678)
        .with_field(place("download_images_time"), 0.004_321)
        .with_field(place("save_warps_time"), 0.001_987_654)
}

/// 5,000 seed-shaped points with distinct ids, times and durations, two routes: one
/// batch as the flusher sends it.
pub(crate) fn batch_points() -> Vec<Point> {
    (0..5000)
        .map(|i| {
            Point::at("requests", TS + i)
                .with_tag("service", "luna-handlers")
                .with_tag(
                    "route",
                    if i % 3 == 0 {
                        "POST:/extractor"
                    } else {
                        "POST:/detector"
                    },
                )
                .with_tag("status_code", 201u16)
                .with_field(
                    "request_id",
                    format!("1764000000,{:032x}", (i as u128) * 0x9E37_79B9_7F4A_7C15),
                )
                // Durations as the runtime measures them: whole nanoseconds.
                .with_field(
                    "execution_time",
                    Duration::from_nanos(10_000_000 + i as u64 * 1_000),
                )
                .with_field(
                    "save_warps_time",
                    Duration::from_nanos(1_000_000 + i as u64 * 100),
                )
        })
        .collect()
}

/// Every element needs escaping.
pub(crate) fn hostile_point() -> Point {
    Point::at("my series,1", TS)
        .with_tag("k e,y=1", "v a,l=u e")
        .with_tag("path", "C:\\data\\x")
        .with_field("m s,g=", "say \"hi\" \\ bye")
        .with_field("n", 42i64)
}

/// The escape-heavy point with every string built at run time (no static-name cache).
pub(crate) fn hostile_shared_point() -> Point {
    run_time_point([
        "my series,1",
        "k e,y=1",
        "v a,l=u e",
        "path",
        "C:\\data\\x",
        "m s,g=",
        "say \"hi\" \\ bye",
        "n",
    ])
}

/// The escape-heavy point's shape with nothing to escape, every string built at run
/// time: what the line costs apart from escaping.
pub(crate) fn plain_shared_point() -> Point {
    run_time_point([
        "my_series_1",
        "k_e_y_1",
        "v_a_l_u_e",
        "path",
        "C:_data_x",
        "m_s_g_",
        "say _hi_ _ bye",
        "n",
    ])
}

/// The escape-heavy point's shape from `texts` (series, two tags, a string field and
/// an integer field's key), each copied to a run-time string.
fn run_time_point(texts: [&str; 8]) -> Point {
    let [series, k1, v1, k2, v2, k3, v3, k4] = texts.map(String::from);
    Point::at(series, TS)
        .with_tag(k1, v1)
        .with_tag(k2, v2)
        .with_field(k3, v3)
        .with_field(k4, 42i64)
}

/// The seed line with `influxdb-line-protocol`'s builder, into a reused buffer.
pub(crate) fn line_protocol_builder_seed(out: &mut Vec<u8>) {
    LineProtocolBuilder::new_with(out)
        .measurement("requests")
        .tag("route", black_box("POST:/extractor"))
        .tag("service", "luna-handlers")
        .tag("status_code", itoa::Buffer::new().format(201u16))
        .field("request_id", black_box(ID))
        .field("execution_time", 0.012_345_678)
        .field("download_images_time", 0.004_321)
        .field("save_warps_time", 0.001_987_654)
        .timestamp(TS)
        .close_line()
        .build();
}

/// The seed line with `influxdb2`'s `DataPoint`.
pub(crate) fn influxdb2_seed(out: &mut Vec<u8>) {
    use influxdb2::models::WriteDataPoint;
    influxdb2_seed_point().write_data_point_to(out).unwrap();
}

/// The seed line as an `influxdb2` `DataPoint`, built.
pub(crate) fn influxdb2_seed_point() -> influxdb2::models::DataPoint {
    influxdb2::models::DataPoint::builder("requests")
        .tag("route", black_box("POST:/extractor"))
        .tag("service", "luna-handlers")
        .tag("status_code", 201u16.to_string())
        .field("request_id", black_box(ID))
        .field("execution_time", 0.012_345_678)
        .field("download_images_time", 0.004_321)
        .field("save_warps_time", 0.001_987_654)
        .timestamp(TS)
        .build()
        .unwrap()
}

/// The escape-heavy line with `influxdb-line-protocol`'s builder.
pub(crate) fn line_protocol_builder_hostile(out: &mut Vec<u8>) {
    LineProtocolBuilder::new_with(out)
        .measurement(black_box("my series,1"))
        .tag("k e,y=1", "v a,l=u e")
        .tag("path", "C:\\data\\x")
        .field("m s,g=", "say \"hi\" \\ bye")
        .field("n", 42i64)
        .timestamp(TS)
        .close_line()
        .build();
}

/// The escape-heavy line with `influxdb2`'s `DataPoint`.
pub(crate) fn influxdb2_hostile(out: &mut Vec<u8>) {
    use influxdb2::models::WriteDataPoint;
    influxdb2::models::DataPoint::builder(black_box("my series,1"))
        .tag("k e,y=1", "v a,l=u e")
        .tag("path", "C:\\data\\x")
        .field("m s,g=", "say \"hi\" \\ bye")
        .field("n", 42i64)
        .timestamp(TS)
        .build()
        .unwrap()
        .write_data_point_to(out)
        .unwrap();
}

/// A straightforward hand-written encoder, the baseline a user could write in a few
/// minutes: one byte loop per element escaping what the line-protocol spec says (no
/// policy for line breaks, reserved names or duplicates), `zmij` for floats and `itoa`
/// for integers, as the encoder itself uses.
pub(crate) fn byte_scan_line(p: &Point, out: &mut Vec<u8>) {
    fn escape(out: &mut Vec<u8>, s: &str, special: &[u8]) {
        for b in s.bytes() {
            if special.contains(&b) {
                out.push(b'\\');
            }
            out.push(b);
        }
    }
    let mut ints = itoa::Buffer::new();
    let mut floats = zmij::Buffer::new();
    escape(out, p.series(), b", ");
    for (key, value) in p.tags() {
        out.push(b',');
        escape(out, key, b",= ");
        out.push(b'=');
        match value {
            TagValue::Text(t) => escape(out, t, b",= "),
            TagValue::Int(i) => out.extend_from_slice(ints.format(*i).as_bytes()),
            TagValue::UInt(u) => out.extend_from_slice(ints.format(*u).as_bytes()),
            TagValue::Float(f) => out.extend_from_slice(floats.format(*f).as_bytes()),
            TagValue::Bool(b) => out.extend_from_slice(if *b { b"true" } else { b"false" }),
        }
    }
    for (i, (key, value)) in p.fields().iter().enumerate() {
        out.push(if i == 0 { b' ' } else { b',' });
        escape(out, key, b",= ");
        out.push(b'=');
        match value {
            FieldValue::Str(s) => {
                out.push(b'"');
                escape(out, s, b"\"\\");
                out.push(b'"');
            }
            FieldValue::Int(i) => {
                out.extend_from_slice(ints.format(*i).as_bytes());
                out.push(b'i');
            }
            FieldValue::UInt(u) => {
                out.extend_from_slice(ints.format(*u).as_bytes());
                out.push(b'u');
            }
            FieldValue::Float(f) => out.extend_from_slice(floats.format(*f).as_bytes()),
            FieldValue::Bool(b) => out.extend_from_slice(if *b { b"true" } else { b"false" }),
        }
    }
    out.push(b' ');
    out.extend_from_slice(ints.format(p.timestamp_ns()).as_bytes());
    out.push(b'\n');
}
