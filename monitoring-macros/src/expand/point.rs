//! `#[derive(MonitoringPoint)]`: a struct becomes a point of `#[point(series = "...")]`;
//! fields are fields unless marked `#[point(tag)]` or `#[point(timestamp)]`; `Option`
//! values are omitted when `None`.

use proc_macro2::TokenStream;
use quote::{quote, quote_spanned};
use syn::spanned::Spanned;
use syn::{DeriveInput, Error};

use crate::ast::{Container, Derive, Errors};
use crate::attr;
use crate::valid::{self, NameKind};

pub(crate) fn derive(input: &DeriveInput) -> syn::Result<TokenStream> {
    let mut errors = Errors::default();
    let Some(container) = Container::from_ast(input, Derive::Point, &mut errors) else {
        errors.finish()?;
        unreachable!("an error was pushed");
    };
    let krate = attr::krate(&container.attrs.krate);
    let series = match &container.attrs.series {
        Some(lit) => {
            if let Err(e) = valid::name(&lit.value(), lit.span(), NameKind::Series) {
                errors.push(e);
            }
            Some(lit.clone())
        }
        None => {
            errors.push(Error::new(
                input.ident.span(),
                "missing series name: add #[point(series = \"...\")] to the struct",
            ));
            None
        }
    };
    let mut timestamp = None;
    let mut statements = Vec::new();
    let mut field_count = 0;
    let mut seen: Vec<(String, bool)> = Vec::new();
    for field in &container.fields {
        let a = &field.attrs;
        if a.skip {
            continue;
        }
        let ident = field.ident;
        if a.timestamp {
            if a.tag || a.rename.is_some() {
                errors.push(Error::new(
                    ident.span(),
                    "a `timestamp` field cannot also be a `tag` or be renamed",
                ));
            } else if timestamp.is_some() {
                errors.push(Error::new(
                    ident.span(),
                    "expected only a single `timestamp` field",
                ));
            } else {
                timestamp =
                    Some(quote!(#krate::__private::ToTimestamp::to_timestamp_ns(&self.#ident)));
            }
            continue;
        }
        let (name, span) = field.name();
        let kind = if a.tag {
            NameKind::Tag
        } else {
            NameKind::Field
        };
        if let Err(e) = valid::name(&name, span, kind) {
            errors.push(e);
            continue;
        }
        if seen.iter().any(|(n, tag)| *n == name && *tag == a.tag) {
            errors.push(Error::new(span, format!("duplicate name `{name}`")));
            continue;
        }
        seen.push((name.clone(), a.tag));
        if a.tag {
            let convert = quote_spanned!(field.ty.span()=> #krate::__private::ToTagValue::to_tag_value(&self.#ident));
            statements.push(quote! {
                if let ::core::option::Option::Some(__v) = #convert {
                    __monitoring_point.add_tag(#name, __v);
                }
            });
        } else {
            field_count += 1;
            let convert = quote_spanned!(field.ty.span()=> #krate::__private::ToFieldValue::to_field_value(&self.#ident));
            statements.push(quote! {
                if let ::core::option::Option::Some(__v) = #convert {
                    __monitoring_point.add_field(#name, __v);
                }
            });
        }
    }
    if field_count == 0 {
        errors.push(Error::new(
            input.ident.span(),
            "a point needs at least one field: mark only some members #[point(tag)]",
        ));
    }
    errors.finish()?;
    let series = series.expect("checked above");
    let timestamp = timestamp.unwrap_or_else(|| quote!(#krate::__private::now_ns()));
    let ident = &input.ident;
    let (impl_generics, ty_generics, where_clause) = input.generics.split_for_impl();
    Ok(quote! {
        #[automatically_derived]
        impl #impl_generics #krate::__private::MonitoringPoint for #ident #ty_generics #where_clause {
            const SERIES: &'static str = #series;
            fn to_point(&self) -> #krate::__private::Point {
                let mut __monitoring_point = #krate::__private::Point::at(#series, #timestamp);
                #(#statements)*
                __monitoring_point
            }
        }
    })
}
