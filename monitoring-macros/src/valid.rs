//! Every compile-time check, between parsing and expansion: routes, series, tag and
//! field names, the shape of a monitored function, the members of the derives. Each
//! macro's checks run in full and their errors are reported together; what passes is
//! a checked model that the expansion turns into code without further checks.

use syn::{DeriveInput, Error, Ident, ItemFn, LitStr, Result, Type};

use crate::ast::{Container, Errors};
use crate::attr::{MonitoredArgs, TimedFieldArgs};

/// HTTP methods a route may start with.
const METHODS: [&str; 9] = [
    "GET", "POST", "PUT", "DELETE", "PATCH", "HEAD", "OPTIONS", "CONNECT", "TRACE",
];

/// Names the runtime writes itself on `requests` / `errors` points: the same list as
/// the runtime's `schema.rs` (a unit test below compares them).
pub(crate) const BUILT_IN: [&str; 6] = [
    "service",
    "route",
    "status_code",
    "error_code",
    "request_id",
    "execution_time",
];

/// A checked `#[monitored]`: the route of each method it serves, and the parameter
/// that tells them apart at run time when there are several.
pub(crate) struct Monitored {
    /// `METHOD:/path`, one per method, in the attribute's order.
    pub(crate) routes: Vec<String>,
    /// The handler's `http::Method` parameter (several methods only).
    pub(crate) method_param: Option<Ident>,
}

/// `METHOD:/path` or `GET|POST:/path`, templates like `{handler_id}` allowed, no
/// whitespace. Returns one route per method.
pub(crate) fn route(lit: &LitStr) -> Result<Vec<String>> {
    let value = lit.value();
    let Some((methods, path)) = value.split_once(':') else {
        return Err(Error::new(
            lit.span(),
            format!("expected a route like \"POST:/extractor\", found \"{value}\""),
        ));
    };
    let mut seen = Vec::new();
    for method in methods.split('|') {
        self::method(lit, method)?;
        if seen.contains(&method) {
            return Err(Error::new(
                lit.span(),
                format!("method `{method}` is listed twice in the route"),
            ));
        }
        seen.push(method);
    }
    self::path(lit, path)?;
    Ok(seen.iter().map(|m| format!("{m}:{path}")).collect())
}

fn method(lit: &LitStr, method: &str) -> Result<()> {
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
    Ok(())
}

/// The resource template of a route.
fn path(lit: &LitStr, path: &str) -> Result<()> {
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
        // `{*path}`: axum 0.8's wildcard, the rest of the path; only at the end.
        let (wildcard, ident) = match name.strip_prefix('*') {
            Some(ident) => (true, ident),
            None => (false, name),
        };
        if ident.is_empty() || !ident.chars().all(|c| c.is_ascii_alphanumeric() || c == '_') {
            return Err(Error::new(
                lit.span(),
                format!("route template parameters are identifiers like `{{handler_id}}` (or a wildcard `{{*path}}`), found `{{{name}}}`"),
            ));
        }
        rest = &after[close + 1..];
        if wildcard && !rest.is_empty() {
            return Err(Error::new(
                lit.span(),
                format!(
                    "a wildcard `{{{name}}}` takes the rest of the path: it must end the route"
                ),
            ));
        }
    }
    old_syntax(lit, path)
}

/// axum 0.7's `/:id` and `/*path`, which axum 0.8 writes `{id}` and `{*path}`.
fn old_syntax(lit: &LitStr, path: &str) -> Result<()> {
    for segment in path.split('/') {
        if let Some(name) = segment
            .strip_prefix(':')
            .or_else(|| segment.strip_prefix('*'))
        {
            let hint = if segment.starts_with(':') {
                format!("{{{name}}}")
            } else {
                format!("{{*{name}}}")
            };
            return Err(Error::new(
                lit.span(),
                format!("`{segment}` is axum 0.7's template syntax; routes are written as in axum 0.8: `{hint}`"),
            ));
        }
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

/// `#[monitored]`: its route, and a function it can wrap (an `async fn`, or a function
/// as `#[async_trait]` expands one).
pub(crate) fn monitored(args: &MonitoredArgs, func: &mut ItemFn) -> Result<Monitored> {
    let mut errors = Errors::default();
    let routes = route(&args.route).unwrap_or_else(|e| {
        errors.push(e);
        Vec::new()
    });
    let mut method_param = None;
    if routes.len() > 1 {
        match self::method_param(func) {
            Ok(Some(ident)) => method_param = Some(ident),
            Ok(None) => errors.push(Error::new(
                args.route.span(),
                "a route of several methods needs the request's method to record the right \
                 one: add a parameter `method: http::Method` to the handler (axum extracts \
                 it), or leave the route to `MonitoringLayer`, which reads it from the request",
            )),
            Err(e) => errors.push(e),
        }
    }
    if func.sig.asyncness.is_none() && crate::fn_shape::async_trait_block(&mut func.block).is_none()
    {
        errors.push(Error::new(
            func.sig.fn_token.span,
            "`#[monitored]` can only be used on an `async fn` (or a function expanded by `#[async_trait]`)",
        ));
    }
    errors.finish()?;
    Ok(Monitored {
        routes,
        method_param,
    })
}

/// The name of the handler's parameter of type `Method` (or `&Method`), if it has one.
fn method_param(func: &ItemFn) -> Result<Option<Ident>> {
    for input in &func.sig.inputs {
        let syn::FnArg::Typed(arg) = input else {
            continue;
        };
        let ty = match &*arg.ty {
            Type::Reference(r) => &*r.elem,
            ty => ty,
        };
        let Type::Path(path) = ty else { continue };
        if path
            .path
            .segments
            .last()
            .is_none_or(|s| s.ident != "Method")
        {
            continue;
        }
        return match &*arg.pat {
            syn::Pat::Ident(pat) => Ok(Some(pat.ident.clone())),
            pat => Err(Error::new_spanned(
                pat,
                "bind the `Method` parameter to a name (`method: Method`): `#[monitored]` \
                 reads it to record the route of the request's method",
            )),
        };
    }
    Ok(None)
}

/// `#[timed_field]`: a field name a request's point can take.
pub(crate) fn timed_field(args: &TimedFieldArgs) -> Result<()> {
    let (value, span) = (args.name.value(), args.name.span());
    name(&value, span, NameKind::Field)?;
    not_built_in(&value, span)
}

/// A counter of `#[derive(UsageStatistics)]`, checked.
pub(crate) struct Counter<'a> {
    pub(crate) name: String,
    pub(crate) ident: &'a Ident,
}

const UNSIGNED: [&str; 5] = ["u8", "u16", "u32", "u64", "usize"];

/// `#[derive(UsageStatistics)]`: unsigned counters with valid, distinct names.
pub(crate) fn usage<'a>(container: &Container<'a>, errors: &mut Errors) -> Vec<Counter<'a>> {
    let mut counters: Vec<Counter<'a>> = Vec::new();
    for field in container.fields.iter().filter(|f| !f.attrs.skip) {
        if !is_unsigned(field.ty) {
            errors.push(Error::new_spanned(
                field.ty,
                "a usage counter must be an unsigned integer (`u8`, `u16`, `u32`, `u64` or `usize`); skip other fields with #[usage(skip)]",
            ));
            continue;
        }
        let (name, span) = field.name();
        if let Err(e) = self::name(&name, span, NameKind::Field) {
            errors.push(e);
        } else if counters.iter().any(|c| c.name == name) {
            errors.push(Error::new(span, format!("duplicate counter name `{name}`")));
        } else {
            counters.push(Counter {
                name,
                ident: field.ident,
            });
        }
    }
    counters
}

fn is_unsigned(ty: &Type) -> bool {
    match ty {
        Type::Path(p) if p.qself.is_none() => p
            .path
            .get_ident()
            .is_some_and(|i| UNSIGNED.iter().any(|u| i == u)),
        _ => false,
    }
}

/// `#[derive(MonitoringPoint)]`, checked: its series, at most one timestamp, and tags
/// and fields with valid, distinct names (at least one field).
pub(crate) struct PointModel<'a> {
    pub(crate) series: LitStr,
    pub(crate) timestamp: Option<&'a Ident>,
    pub(crate) members: Vec<Member<'a>>,
}

/// A tag or field of a [`PointModel`].
pub(crate) struct Member<'a> {
    pub(crate) name: String,
    pub(crate) ident: &'a Ident,
    pub(crate) ty: &'a Type,
    pub(crate) tag: bool,
}

/// Checks a `#[derive(MonitoringPoint)]` input; `None` when something is wrong (the
/// errors are in `errors`).
pub(crate) fn point<'a>(
    input: &DeriveInput,
    container: &Container<'a>,
    errors: &mut Errors,
) -> Option<PointModel<'a>> {
    let series = container.attrs.series.clone();
    match &series {
        Some(lit) => {
            if let Err(e) = name(&lit.value(), lit.span(), NameKind::Series) {
                errors.push(e);
            }
        }
        None => errors.push(Error::new(
            input.ident.span(),
            "missing series name: add #[point(series = \"...\")] to the struct",
        )),
    }
    let mut timestamp = None;
    let mut members: Vec<Member<'a>> = Vec::new();
    for field in container.fields.iter().filter(|f| !f.attrs.skip) {
        let a = &field.attrs;
        if a.timestamp {
            if a.tag || a.rename.is_some() {
                errors.push(Error::new(
                    field.ident.span(),
                    "a `timestamp` field cannot also be a `tag` or be renamed",
                ));
            } else if timestamp.is_some() {
                errors.push(Error::new(
                    field.ident.span(),
                    "expected only a single `timestamp` field",
                ));
            } else {
                timestamp = Some(field.ident);
            }
            continue;
        }
        let (name, span) = field.name();
        let kind = if a.tag {
            NameKind::Tag
        } else {
            NameKind::Field
        };
        if let Err(e) = self::name(&name, span, kind) {
            errors.push(e);
        } else if members.iter().any(|m| m.name == name && m.tag == a.tag) {
            errors.push(Error::new(span, format!("duplicate name `{name}`")));
        } else {
            members.push(Member {
                name,
                ident: field.ident,
                ty: field.ty,
                tag: a.tag,
            });
        }
    }
    if !members.iter().any(|m| !m.tag) {
        errors.push(Error::new(
            input.ident.span(),
            "a point needs at least one field: mark only some members #[point(tag)]",
        ));
    }
    Some(PointModel {
        series: series?,
        timestamp,
        members,
    })
}

#[cfg(test)]
mod tests {
    #[test]
    fn built_in_names_are_the_runtimes() {
        let runtime = [
            monitoring_runtime::__private::BUILTIN_TAGS.as_slice(),
            monitoring_runtime::__private::BUILTIN_FIELDS.as_slice(),
        ]
        .concat();
        assert_eq!(super::BUILT_IN.as_slice(), runtime);
    }
}
