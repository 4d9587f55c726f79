//! Compile-time checks of routes and series, tag and field names.

use syn::{Error, LitStr, Result};

/// HTTP methods a route may start with.
const METHODS: [&str; 9] = [
    "GET", "POST", "PUT", "DELETE", "PATCH", "HEAD", "OPTIONS", "CONNECT", "TRACE",
];

/// Names the runtime writes itself on `requests` / `errors` points.
pub(crate) const BUILT_IN: [&str; 6] = [
    "service",
    "route",
    "status_code",
    "error_code",
    "request_id",
    "execution_time",
];

/// `METHOD:/path`, templates like `{handler_id}` allowed, no whitespace.
pub(crate) fn route(lit: &LitStr) -> Result<()> {
    let value = lit.value();
    let Some((method, path)) = value.split_once(':') else {
        return Err(Error::new(
            lit.span(),
            format!("expected a route like \"POST:/extractor\", found \"{value}\""),
        ));
    };
    if !METHODS.contains(&method) {
        let hint = if METHODS.contains(&method.to_ascii_uppercase().as_str()) {
            format!(
                "; write it in upper case: `{}`",
                method.to_ascii_uppercase()
            )
        } else {
            String::new()
        };
        return Err(Error::new(
            lit.span(),
            format!(
                "unknown HTTP method `{method}` in route, expected one of {}{hint}",
                METHODS.join(", ")
            ),
        ));
    }
    if !path.starts_with('/') {
        return Err(Error::new(
            lit.span(),
            format!("the path of a route must start with `/`, found \"{path}\""),
        ));
    }
    if let Some(c) = path.chars().find(|c| c.is_whitespace() || c.is_control()) {
        return Err(Error::new(
            lit.span(),
            format!("a route must not contain whitespace or control characters, found {c:?}"),
        ));
    }
    if let Some(c) = path.chars().find(|c| matches!(c, '?' | '#')) {
        return Err(Error::new(
            lit.span(),
            format!("a route is a resource template without query or fragment, found `{c}`"),
        ));
    }
    let mut rest = path;
    while let Some(open) = rest.find(['{', '}']) {
        if &rest[open..=open] == "}" {
            return Err(Error::new(lit.span(), "unmatched `}` in route template"));
        }
        let after = &rest[open + 1..];
        let Some(close) = after.find('}') else {
            return Err(Error::new(lit.span(), "unclosed `{` in route template"));
        };
        let name = &after[..close];
        if name.is_empty() || !name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_') {
            return Err(Error::new(
                lit.span(),
                format!("route template parameters are identifiers like `{{handler_id}}`, found `{{{name}}}`"),
            ));
        }
        rest = &after[close + 1..];
    }
    Ok(())
}

/// What a name is used for, for error messages.
#[derive(Clone, Copy)]
pub(crate) enum NameKind {
    Series,
    Tag,
    Field,
}

impl NameKind {
    fn as_str(self) -> &'static str {
        match self {
            NameKind::Series => "series",
            NameKind::Tag => "tag",
            NameKind::Field => "field",
        }
    }
}

/// A series, tag or field name: not empty, no leading `_`, not `time`, no line breaks.
pub(crate) fn name(value: &str, span: proc_macro2::Span, kind: NameKind) -> Result<()> {
    let what = kind.as_str();
    if value.is_empty() {
        return Err(Error::new(span, format!("{what} name must not be empty")));
    }
    if value.starts_with('_') {
        return Err(Error::new(
            span,
            format!("{what} name `{value}` must not start with `_` (reserved by InfluxDB 2)"),
        ));
    }
    if value == "time" && !matches!(kind, NameKind::Series) {
        return Err(Error::new(
            span,
            format!("`time` cannot be a {what} name (InfluxDB 1 rejects it)"),
        ));
    }
    if value.chars().any(|c| c == '\n' || c == '\r') {
        return Err(Error::new(
            span,
            format!("{what} name must not contain a line break"),
        ));
    }
    Ok(())
}

/// A field added to `requests` points must not overwrite a built-in one.
pub(crate) fn not_built_in(value: &str, span: proc_macro2::Span) -> Result<()> {
    if BUILT_IN.contains(&value) {
        return Err(Error::new(
            span,
            format!("`{value}` is written by `#[monitored]` itself; choose another field name"),
        ));
    }
    Ok(())
}
