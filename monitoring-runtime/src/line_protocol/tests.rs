//! The encoder's unit tests: each row of the policy table, byte for byte.

use super::*;
use crate::point::{FieldValue, Point, Text};

fn line(p: &Point, dialect: Dialect) -> Option<String> {
    Encoder::new(dialect).encode_to_string(p)
}

#[test]
fn seed_shaped_line() {
    let p = Point::at("requests", 1_700_000_000_000_000_001)
        .with_tag("status_code", 200u16)
        .with_tag("service", "luna-handlers")
        .with_tag("route", "POST:/extractor")
        .with_field("request_id", "1700000000,abc")
        .with_field("execution_time", 0.25);
    assert_eq!(
        line(&p, Dialect::V2).unwrap(),
        "requests,route=POST:/extractor,service=luna-handlers,status_code=200 \
         request_id=\"1700000000,abc\",execution_time=0.25 1700000000000000001\n"
    );
}

#[test]
fn long_escape_heavy_text_grows_the_line() {
    // Longer than the scratch buffer, every byte special: tripled by replacements.
    let unit = ", =\\\n\"#";
    let text: String = unit.repeat(400);
    let p = Point::at(text.clone(), 1)
        .with_tag(text.clone(), text.clone())
        .with_field(text.clone(), text.clone());
    let escape = |s: &str, escaped: &str, replaced: &str, name: bool| -> String {
        let chars: Vec<char> = s.chars().collect();
        let mut out = String::new();
        for (i, &c) in chars.iter().enumerate() {
            let ambiguous_backslash = name
                && c == '\\'
                && chars
                    .get(i + 1)
                    .is_none_or(|n| "\\ ,=\n\r\t\0".contains(*n));
            if replaced.contains(c) || ambiguous_backslash {
                out.push('\u{FFFD}');
            } else {
                if escaped.contains(c) {
                    out.push('\\');
                }
                out.push(c);
            }
        }
        out
    };
    let series = escape(&text, ", ", "\n\r\t\0", true);
    let series = series.replacen('#', "\u{FFFD}", usize::from(text.starts_with('#')));
    let name = escape(&text, ",= ", "\n\r\t\0", true);
    let key = escape(&text, ",= ", "\n\r\t\0\"", true);
    let value = escape(&text, "\"\\", "\n\r", false);
    assert_eq!(
        line(&p, Dialect::V2).unwrap(),
        format!("{series},{name}={name} {key}=\"{value}\" 1\n")
    );
}

#[test]
fn escaping_and_policy() {
    let p = Point::at("my series,x", 5)
        .with_tag("k=1", "a b,c=d")
        .with_tag("path", "C:\\data")
        .with_tag("trail", "end\\")
        .with_tag("empty", "")
        .with_tag("time", "x")
        .with_field("s", "say \"hi\"\\\nbye")
        .with_field("nan", f64::NAN)
        .with_field("u", u64::MAX)
        .with_field("b", true);
    let mut enc = Encoder::new(Dialect::V1);
    let l = enc.encode_to_string(&p).unwrap();
    assert_eq!(
        l,
        "my\\ series\\,x,k\\=1=a\\ b\\,c\\=d,path=C:\\data,trail=end\u{FFFD} \
         s=\"say \\\"hi\\\"\\\\\u{FFFD}bye\",b=true 5\n"
    );
    let issues = enc.take_issues();
    assert_eq!(issues.tags_omitted, 1);
    assert_eq!(issues.reserved_names, 1);
    assert_eq!(issues.fields_dropped, 2);
    assert_eq!(issues.sanitized, 2);
    assert_eq!(
        line(&Point::at("m", 1).with_field("u", u64::MAX), Dialect::V2).unwrap(),
        "m u=18446744073709551615u 1\n"
    );
}

#[test]
fn timestamps_are_written_in_full_whatever_the_previous_one() {
    let mut enc = Encoder::new(Dialect::V2);
    let cases = [
        1_700_000_000_000_000_001,
        1_700_000_000_999_999_999,
        1_700_000_000_000_000_000,
        1_700_000_001_000_000_007,
        0,
        -5,
        999_999_999,
        1_000_000_000,
        1_000_000_001,
        i64::MAX,
        i64::MIN,
        1_700_000_001_000_000_007,
    ];
    for ts in cases {
        let line = enc
            .encode_to_string(&Point::at("m", ts).with_field("f", 1i64))
            .unwrap();
        assert_eq!(line, format!("m f=1i {ts}\n"));
    }
}

#[test]
fn duplicate_tags_keep_the_last_and_points_without_fields_drop() {
    let p = Point::at("m", 1)
        .with_tag("a", "1")
        .with_tag("a", "2")
        .with_field("f", 1i64);
    assert_eq!(line(&p, Dialect::V2).unwrap(), "m,a=2 f=1i 1\n");
    let mut enc = Encoder::new(Dialect::V2);
    let mut out = b"keep".to_vec();
    assert!(!enc.encode(&Point::at("m", 1).with_field("f", f64::INFINITY), &mut out));
    assert_eq!(out, b"keep");
    assert_eq!(enc.issues().points_dropped, 1);
}

/// A point with `tags` and `fields` exactly as given (the builders would
/// already replace equal keys).
fn raw(tags: &[(&'static str, &'static str)], fields: &[(&'static str, i64)]) -> Point {
    let mut p = Point::at("m", 1);
    p.tags = tags
        .iter()
        .map(|&(k, v)| (Text::Static(k), v.into()))
        .collect();
    p.fields = fields
        .iter()
        .map(|&(k, v)| (Text::Static(k), v.into()))
        .collect();
    p
}

#[test]
fn tags_are_deduplicated_and_sorted_by_their_key_as_written() {
    let mut enc = Encoder::new(Dialect::V2);
    // Both keys are written `a\u{FFFD}b`: the later one wins, counted.
    let p = raw(&[("a\tb", "1"), ("a\nb", "2")], &[("f", 1)]);
    assert_eq!(enc.encode_to_string(&p).unwrap(), "m,a\u{FFFD}b=2 f=1i 1\n");
    assert_eq!((enc.issues().duplicates, enc.issues().sanitized), (1, 2));
    // Ordered by the written bytes: `~` (0x7E) before U+FFFD (0xEF ...).
    let p = raw(&[("a\tb", "1"), ("a~", "2")], &[("f", 1)]);
    assert_eq!(
        enc.encode_to_string(&p).unwrap(),
        "m,a~=2,a\u{FFFD}b=1 f=1i 1\n"
    );
    // Escaping orders too: `a\ b` sorts after `a!` although ' ' < '!'.
    let p = raw(&[("a b", "1"), ("a!", "2")], &[("f", 1)]);
    assert_eq!(enc.encode_to_string(&p).unwrap(), "m,a!=2,a\\ b=1 f=1i 1\n");
}

#[test]
fn fields_are_deduplicated_by_their_key_as_written() {
    let mut enc = Encoder::new(Dialect::V2);
    // Both are written `a\u{FFFD}b`: the later one wins, counted.
    let p = raw(&[], &[("a\nb", 1), ("x", 2), ("a\rb", 3)]);
    assert_eq!(
        enc.encode_to_string(&p).unwrap(),
        "m x=2i,a\u{FFFD}b=3i 1\n"
    );
    let issues = enc.take_issues();
    assert_eq!((issues.duplicates, issues.sanitized), (1, 1));
    // A key written with U+FFFD as it is meets a sanitized one.
    let p = raw(&[], &[("a\u{FFFD}b", 1), ("a\tb", 2)]);
    assert_eq!(enc.encode_to_string(&p).unwrap(), "m a\u{FFFD}b=2i 1\n");
    assert_eq!(enc.take_issues().duplicates, 1);
    // Sanitized keys that stay apart are all written, nothing counted.
    let p = raw(&[], &[("a\nb", 1), ("a\nc", 2)]);
    assert_eq!(
        enc.encode_to_string(&p).unwrap(),
        "m a\u{FFFD}b=1i,a\u{FFFD}c=2i 1\n"
    );
    assert_eq!(enc.take_issues().duplicates, 0);
    // A later value the dialect cannot write does not hide an earlier one's key.
    let mut p = raw(&[], &[("a\nb", 1)]);
    p.fields
        .push((Text::Static("a\rb"), FieldValue::Float(f64::NAN)));
    assert_eq!(enc.encode_to_string(&p).unwrap(), "m a\u{FFFD}b=1i 1\n");
    assert_eq!(enc.take_issues().fields_dropped, 1);
}

#[test]
fn the_builders_replace_equal_keys() {
    let p = Point::at("m", 1)
        .with_tag("t", "1")
        .with_tag("t", "2")
        .with_field("a", 1i64)
        .with_field("a", 2i64);
    assert_eq!((p.tags().len(), p.fields().len()), (1, 1));
    assert_eq!(line(&p, Dialect::V2).unwrap(), "m,t=2 a=2i 1\n");
}

#[test]
fn the_policy_table_holds_for_series_backslashes_and_key_length() {
    let mut enc = Encoder::new(Dialect::V1);
    // A series named `time` is written; one starting with `_` is dropped.
    let p = Point::at("time", 1).with_field("f", 1i64);
    assert_eq!(enc.encode_to_string(&p).unwrap(), "time f=1i 1\n");
    assert!(enc
        .encode_to_string(&Point::at("_m", 1).with_field("f", 1i64))
        .is_none());
    // A backslash before a line break, tab or NUL is replaced, and so is that byte.
    for (value, written) in [
        ("a\\\n", "a\u{FFFD}\u{FFFD}"),
        ("a\\\tb", "a\u{FFFD}\u{FFFD}b"),
        ("a\\\0", "a\u{FFFD}\u{FFFD}"),
    ] {
        let p = Point::at("m", 1).with_tag("t", value).with_field("f", 1i64);
        assert_eq!(
            enc.encode_to_string(&p).unwrap(),
            format!("m,t={written} f=1i 1\n"),
            "{value:?}"
        );
    }
    // The series key (series name and tags as written) may be 65,000 bytes.
    let tag = |n: usize| {
        Point::at("m", 1)
            .with_tag("t", "x".repeat(n))
            .with_field("f", 1i64)
    };
    let fits = MAX_SERIES_KEY_BYTES - "m,t=".len();
    assert!(enc.encode_to_string(&tag(fits)).is_some());
    assert!(enc.encode_to_string(&tag(fits + 1)).is_none());
}
