//! Encoder round trip: 100,000 generated points (1,000 proptest cases of 100 points)
//! encoded and parsed back with `influxdb-line-protocol`, InfluxData's own parser (the
//! one InfluxDB 3 uses), equal the originals as the documented policy says they are
//! stored; points the policy drops are not emitted at all. The same points with every
//! text a `&'static str` (which the encoder caches as written) encode to the same bytes
//! and counts, line after line.

use std::collections::HashMap;

use influxdb_line_protocol::{parse_lines, FieldValue as Parsed};
use monitoring::__private::{stored_field_key, stored_series, stored_text};
use monitoring::line_protocol::MAX_STRING_FIELD_BYTES;
use monitoring::line_protocol::{Dialect, EncodeIssues, Encoder};
use monitoring::{FieldValue, Point, TagValue, Text};
use proptest::prelude::*;

fn hostile_char() -> impl Strategy<Value = char> {
    prop_oneof![
        4 => prop::sample::select(vec![
            ',', '=', ' ', '"', '\\', '\'', '\n', '\r', '\t', '\0', '#', '_', 'é', '日', '🚀', '\u{7f}', '\u{1}'
        ]),
        4 => prop::char::range('a', 'z'),
        1 => any::<char>(),
    ]
}

fn text(max: usize) -> impl Strategy<Value = String> {
    prop::collection::vec(hostile_char(), 0..max).prop_map(|c| c.into_iter().collect())
}

fn name() -> impl Strategy<Value = String> {
    prop_oneof![
        8 => text(10),
        1 => Just("time".to_owned()),
        1 => Just("_reserved".to_owned()),
        1 => Just("#comment".to_owned()),
    ]
}

fn field_value() -> impl Strategy<Value = FieldValue> {
    prop_oneof![
        any::<i64>().prop_map(FieldValue::Int),
        any::<u64>().prop_map(FieldValue::UInt),
        any::<f64>().prop_map(FieldValue::Float),
        prop_oneof![
            Just(f64::NAN),
            Just(f64::INFINITY),
            Just(-0.0),
            Just(f64::MIN_POSITIVE)
        ]
        .prop_map(FieldValue::Float),
        any::<bool>().prop_map(FieldValue::Bool),
        text(30).prop_map(|s| FieldValue::Str(s.into())),
    ]
}

fn point() -> impl Strategy<Value = Point> {
    (
        name(),
        any::<i64>(),
        prop::collection::vec((name(), text(12)), 0..5),
        prop::collection::vec((name(), field_value()), 0..5),
    )
        .prop_map(|(series, ts, tags, fields)| {
            let mut p = Point::at(series, ts);
            for (k, v) in tags {
                p.add_tag(k, v);
            }
            for (k, v) in fields {
                p.add_field(k, v);
            }
            p
        })
}

fn reserved(name: &str) -> bool {
    name == "time" || name.starts_with('_')
}

/// What the policy says a point becomes, or `None` when it is dropped.
#[allow(clippy::type_complexity)]
fn expected(
    p: &Point,
) -> Option<(
    String,
    Vec<(String, String)>,
    Vec<(String, FieldValue)>,
    i64,
)> {
    if p.series().is_empty() || p.series().starts_with('_') {
        return None;
    }
    let mut tags: Vec<(String, String)> = Vec::new();
    let mut valid: Vec<&(monitoring::Text, TagValue)> = p
        .tags()
        .iter()
        .filter(|(k, v)| {
            !k.is_empty() && !reserved(k) && !matches!(v, TagValue::Text(t) if t.is_empty())
        })
        .collect();
    // Ordered by the key as written (stored, then `,`, ` `, `=` escaped); of equal
    // written keys the last one is kept.
    let written = |k: &str| {
        let mut w = String::new();
        for c in stored_text(k).chars() {
            if matches!(c, ',' | ' ' | '=') {
                w.push('\\');
            }
            w.push(c);
        }
        w
    };
    valid.sort_by_cached_key(|t| written(t.0.as_str()));
    for (i, (k, v)) in valid.iter().enumerate() {
        if valid
            .get(i + 1)
            .is_some_and(|n| written(&n.0) == written(k))
        {
            continue;
        }
        let TagValue::Text(v) = v else { unreachable!() };
        tags.push((stored_text(k), stored_text(v)));
    }
    let fields: Vec<(String, FieldValue)> = p
        .fields()
        .iter()
        .filter(|(k, v)| {
            !k.is_empty() && !reserved(k) && !matches!(v, FieldValue::Float(f) if !f.is_finite())
        })
        .map(|(k, v)| {
            let v = match v {
                FieldValue::Str(s) => {
                    let mut s = s.replace(['\n', '\r'], "\u{FFFD}");
                    if s.len() > MAX_STRING_FIELD_BYTES {
                        unreachable!("generated strings are short");
                    }
                    s.shrink_to_fit();
                    FieldValue::Str(s.into())
                }
                other => other.clone(),
            };
            (stored_field_key(k), v)
        })
        .collect();
    // Of fields whose keys are stored alike, the last one is kept.
    let fields: Vec<(String, FieldValue)> = fields
        .iter()
        .enumerate()
        .filter(|(i, (k, _))| !fields[i + 1..].iter().any(|(later, _)| later == k))
        .map(|(_, f)| f.clone())
        .collect();
    if fields.is_empty() {
        return None;
    }
    Some((stored_series(p.series()), tags, fields, p.timestamp_ns()))
}

/// `p` with every text a leaked `&'static str`, one per distinct text (so that the same
/// static text also comes as several elements).
fn as_static(p: &Point, leaked: &mut HashMap<String, &'static str>) -> Point {
    let mut leak = |t: &str| {
        Text::Static(
            leaked
                .entry(t.to_owned())
                .or_insert_with(|| Box::leak(t.to_owned().into_boxed_str())),
        )
    };
    let mut s = Point::at(leak(p.series()), p.timestamp_ns());
    for (k, v) in p.tags() {
        let k = leak(k);
        match v {
            TagValue::Text(t) => s.add_tag(k, TagValue::Text(leak(t))),
            v => s.add_tag(k, v.clone()),
        }
    }
    for (k, v) in p.fields() {
        let k = leak(k);
        match v {
            FieldValue::Str(t) => s.add_field(k, FieldValue::Str(leak(t))),
            v => s.add_field(k, v.clone()),
        }
    }
    s
}

/// Each point encoded twice in a row, as a batch: the bytes and what was counted.
fn encode_twice(points: &[Point]) -> (Vec<u8>, EncodeIssues) {
    let mut encoder = Encoder::new(Dialect::V2);
    let mut body = Vec::new();
    for p in points {
        encoder.encode(p, &mut body);
        encoder.encode(p, &mut body);
    }
    (body, encoder.take_issues())
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 200, ..ProptestConfig::default() })]

    #[test]
    fn static_text_encodes_as_run_time_text(points in prop::collection::vec(point(), 50)) {
        let mut leaked = HashMap::new();
        let statics: Vec<Point> = points.iter().map(|p| as_static(p, &mut leaked)).collect();
        let (shared, static_) = (encode_twice(&points), encode_twice(&statics));
        prop_assert_eq!(String::from_utf8_lossy(&static_.0), String::from_utf8_lossy(&shared.0));
        prop_assert_eq!(static_.1, shared.1);
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 1000, ..ProptestConfig::default() })]

    #[test]
    fn parsed_lines_equal_the_policy(points in prop::collection::vec(point(), 100)) {
        let mut encoder = Encoder::new(Dialect::V2);
        let mut body = Vec::new();
        let mut kept = Vec::new();
        for p in &points {
            let emitted = encoder.encode(p, &mut body);
            let want = expected(p);
            prop_assert_eq!(emitted, want.is_some(), "{:?}", p);
            if let Some(w) = want {
                kept.push(w);
            }
        }
        let body = String::from_utf8(body).unwrap();
        prop_assert_eq!(body.matches('\n').count(), kept.len());
        let parsed: Vec<_> = parse_lines(&body).collect::<Result<_, _>>().map_err(|e| {
            TestCaseError::fail(format!("{e}\n{body}"))
        })?;
        prop_assert_eq!(parsed.len(), kept.len());
        for (line, (series, tags, fields, ts)) in parsed.iter().zip(kept) {
            prop_assert_eq!(line.series.measurement.as_str(), series.as_str());
            let got_tags: Vec<(String, String)> = line
                .series
                .tag_set
                .iter()
                .flatten()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect();
            prop_assert_eq!(got_tags, tags);
            prop_assert_eq!(line.field_set.len(), fields.len());
            for ((k, v), (wk, wv)) in line.field_set.iter().zip(&fields) {
                prop_assert_eq!(k.as_str(), wk.as_str());
                match (v, wv) {
                    (Parsed::I64(a), FieldValue::Int(b)) => prop_assert_eq!(a, b),
                    (Parsed::U64(a), FieldValue::UInt(b)) => prop_assert_eq!(a, b),
                    (Parsed::F64(a), FieldValue::Float(b)) => prop_assert_eq!(a.to_bits(), b.to_bits()),
                    (Parsed::Boolean(a), FieldValue::Bool(b)) => prop_assert_eq!(a, b),
                    (Parsed::String(a), FieldValue::Str(b)) => prop_assert_eq!(a.as_str(), b.as_str()),
                    (a, b) => prop_assert!(false, "type mismatch {:?} vs {:?}", a, b),
                }
            }
            prop_assert_eq!(line.timestamp, Some(ts));
        }
    }
}

#[test]
fn long_strings_are_cut_at_a_character_boundary() {
    let long = "é".repeat(MAX_STRING_FIELD_BYTES);
    let p = Point::at("m", 1).with_field("s", long);
    let mut enc = Encoder::new(Dialect::V1);
    let line = enc.encode_to_string(&p).unwrap();
    let parsed = parse_lines(&line).next().unwrap().unwrap();
    let Parsed::String(s) = &parsed.field_set[0].1 else {
        panic!()
    };
    assert!(s.len() <= MAX_STRING_FIELD_BYTES && s.len() > MAX_STRING_FIELD_BYTES - 4);
    assert_eq!(enc.issues().truncated, 1);
}
