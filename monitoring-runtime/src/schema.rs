//! What a request's points are made of: the names the runtime writes itself.
//!
//! | series | built-in tags | built-in fields |
//! |---|---|---|
//! | `requests` | `service`, `route`, `status_code` | `request_id`, `execution_time` |
//! | `errors` | the same, and `error_code` | the same |
//!
//! A handler cannot replace or repeat them: a tag or field it adds under one of these
//! names ([`add_tag`](crate::add_tag), [`add_field`](crate::add_field),
//! [`add_time`](crate::add_time)) is left out, counted in
//! [`EncodeIssues::builtin_names`](crate::EncodeIssues::builtin_names) and logged
//! once; the built-in value is written. (`#[timed_field]` with such a name is a
//! compile error.)

use crate::point::{FieldValue, TagValue, Text};

/// Tags the runtime writes on a request's points.
pub(crate) const BUILTIN_TAGS: [&str; 4] = ["service", "route", "status_code", "error_code"];
/// Fields the runtime writes on a request's points.
pub(crate) const BUILTIN_FIELDS: [&str; 2] = ["request_id", "execution_time"];

/// Removes a handler's tags and fields named like built-ins: how many, and the first
/// such name (for the log).
pub(crate) fn remove_builtins(
    tags: &mut Vec<(Text, TagValue)>,
    fields: &mut Vec<(Text, FieldValue)>,
) -> (u64, Option<Text>) {
    let mut removed = 0;
    let mut first = None;
    let mut keep = |key: &Text, builtin: &[&str]| {
        if builtin.contains(&key.as_str()) {
            removed += 1;
            first.get_or_insert_with(|| key.clone());
            false
        } else {
            true
        }
    };
    tags.retain(|(key, _)| keep(key, &BUILTIN_TAGS));
    fields.retain(|(key, _)| keep(key, &BUILTIN_FIELDS));
    (removed, first)
}
