//! Parsing the derives' input: a struct with named fields and its `#[usage(..)]` /
//! `#[point(..)]` attributes, as written (checks are `valid.rs`'s). Every error of an
//! input is collected and reported at once.

use syn::{Data, DeriveInput, Error, Fields, Ident, LitStr, Path, Result, Type};

/// Attributes a field may carry (which ones are allowed depends on the derive).
#[derive(Default)]
pub(crate) struct FieldAttrs {
    pub(crate) rename: Option<LitStr>,
    pub(crate) skip: bool,
    pub(crate) tag: bool,
    pub(crate) timestamp: bool,
}

pub(crate) struct Field<'a> {
    pub(crate) ident: &'a Ident,
    pub(crate) ty: &'a Type,
    pub(crate) attrs: FieldAttrs,
}

impl Field<'_> {
    /// The stored name: the rename, else the field's identifier (without `r#`).
    pub(crate) fn name(&self) -> (String, proc_macro2::Span) {
        match &self.attrs.rename {
            Some(lit) => (lit.value(), lit.span()),
            None => {
                let s = self.ident.to_string();
                (s.trim_start_matches("r#").to_owned(), self.ident.span())
            }
        }
    }
}

#[derive(Default)]
pub(crate) struct ContainerAttrs {
    pub(crate) series: Option<LitStr>,
    pub(crate) krate: Option<Path>,
}

pub(crate) struct Container<'a> {
    pub(crate) attrs: ContainerAttrs,
    pub(crate) fields: Vec<Field<'a>>,
}

/// Which derive is parsing: decides the attribute name and the allowed keys.
#[derive(Clone, Copy, PartialEq, Eq)]
pub(crate) enum Derive {
    Usage,
    Point,
}

impl Derive {
    fn attr(self) -> &'static str {
        match self {
            Derive::Usage => "usage",
            Derive::Point => "point",
        }
    }

    fn name(self) -> &'static str {
        match self {
            Derive::Usage => "UsageStatistics",
            Derive::Point => "MonitoringPoint",
        }
    }
}

/// Collects errors so a derive reports all of them at once.
#[derive(Default)]
pub(crate) struct Errors(Option<Error>);

impl Errors {
    pub(crate) fn push(&mut self, e: Error) {
        match &mut self.0 {
            Some(all) => all.combine(e),
            None => self.0 = Some(e),
        }
    }

    pub(crate) fn finish(self) -> Result<()> {
        self.0.map_or(Ok(()), Err)
    }
}

impl<'a> Container<'a> {
    /// The struct's attributes and named fields; `None` (with an error pushed) for
    /// anything else.
    pub(crate) fn from_ast(
        input: &'a DeriveInput,
        derive: Derive,
        errors: &mut Errors,
    ) -> Option<Self> {
        let named = match &input.data {
            Data::Struct(s) => match &s.fields {
                Fields::Named(named) => Some(named),
                _ => None,
            },
            _ => None,
        };
        let Some(named) = named else {
            errors.push(Error::new(
                input.ident.span(),
                format!(
                    "`#[derive({})]` works on structs with named fields",
                    derive.name()
                ),
            ));
            return None;
        };
        let attrs = container_attrs(input, derive, errors);
        let fields = (named.named.iter())
            .map(|field| Field {
                ident: field.ident.as_ref().expect("named field"),
                ty: &field.ty,
                attrs: field_attrs(field, derive, errors),
            })
            .collect();
        Some(Container { attrs, fields })
    }
}

/// The derive's own container attributes (`#[point(series = "..", crate = "..")]`).
pub(crate) fn container_attrs(
    input: &DeriveInput,
    derive: Derive,
    errors: &mut Errors,
) -> ContainerAttrs {
    let mut attrs = ContainerAttrs::default();
    for attr in &input.attrs {
        if !attr.path().is_ident(derive.attr()) {
            continue;
        }
        let result = attr.parse_nested_meta(|meta| {
            if meta.path.is_ident("crate") {
                if attrs.krate.is_some() {
                    return Err(meta.error("expected only a single `crate` argument"));
                }
                let lit: LitStr = meta.value()?.parse()?;
                attrs.krate = Some(lit.parse()?);
                Ok(())
            } else if derive == Derive::Point && meta.path.is_ident("series") {
                if attrs.series.is_some() {
                    return Err(meta.error("expected only a single `series` argument"));
                }
                attrs.series = Some(meta.value()?.parse()?);
                Ok(())
            } else {
                let expected = match derive {
                    Derive::Usage => "`crate`",
                    Derive::Point => "`series` or `crate`",
                };
                Err(meta.error(format!(
                    "unknown `{}` container attribute, expected {expected}",
                    derive.attr()
                )))
            }
        });
        if let Err(e) = result {
            errors.push(e);
        }
    }
    attrs
}

/// One field's attributes (`#[point(tag)]`, `#[usage(rename = "..")]`, ...).
fn field_attrs(field: &syn::Field, derive: Derive, errors: &mut Errors) -> FieldAttrs {
    let mut fa = FieldAttrs::default();
    for attr in &field.attrs {
        if !attr.path().is_ident(derive.attr()) {
            continue;
        }
        let result = attr.parse_nested_meta(|meta| {
            let flag = |set: &mut bool, name: &str| {
                if *set {
                    Err(meta.error(format!("duplicate `{name}` attribute")))
                } else {
                    *set = true;
                    Ok(())
                }
            };
            if meta.path.is_ident("rename") {
                if fa.rename.is_some() {
                    return Err(meta.error("expected only a single `rename` argument"));
                }
                fa.rename = Some(meta.value()?.parse()?);
                Ok(())
            } else if meta.path.is_ident("skip") {
                flag(&mut fa.skip, "skip")
            } else if derive == Derive::Point && meta.path.is_ident("tag") {
                flag(&mut fa.tag, "tag")
            } else if derive == Derive::Point && meta.path.is_ident("timestamp") {
                flag(&mut fa.timestamp, "timestamp")
            } else {
                let expected = match derive {
                    Derive::Usage => "`rename` or `skip`",
                    Derive::Point => "`tag`, `timestamp`, `rename` or `skip`",
                };
                Err(meta.error(format!(
                    "unknown `{}` field attribute, expected {expected}",
                    derive.attr()
                )))
            }
        });
        if let Err(e) = result {
            errors.push(e);
        }
    }
    fa
}
