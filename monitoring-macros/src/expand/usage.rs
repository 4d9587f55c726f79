//! `#[derive(UsageStatistics)]`: each unsigned counter becomes an integer field of the
//! `usages_statistic` point.

use proc_macro2::TokenStream;
use quote::quote;
use syn::{DeriveInput, Error, Type};

use crate::ast::{Container, Derive, Errors};
use crate::attr;
use crate::valid::{self, NameKind};

const UNSIGNED: [&str; 5] = ["u8", "u16", "u32", "u64", "usize"];

pub(crate) fn derive(input: &DeriveInput) -> syn::Result<TokenStream> {
    let mut errors = Errors::default();
    let Some(container) = Container::from_ast(input, Derive::Usage, &mut errors) else {
        errors.finish()?;
        unreachable!("an error was pushed");
    };
    let mut calls = Vec::new();
    let mut seen: Vec<String> = Vec::new();
    for field in &container.fields {
        if field.attrs.skip {
            continue;
        }
        if !is_unsigned(field.ty) {
            errors.push(Error::new_spanned(
                field.ty,
                "a usage counter must be an unsigned integer (`u8`, `u16`, `u32`, `u64` or `usize`); skip other fields with #[usage(skip)]",
            ));
            continue;
        }
        let (name, span) = field.name();
        if let Err(e) = valid::name(&name, span, NameKind::Field) {
            errors.push(e);
            continue;
        }
        if seen.contains(&name) {
            errors.push(Error::new(span, format!("duplicate counter name `{name}`")));
            continue;
        }
        seen.push(name.clone());
        let ident = field.ident;
        calls.push(quote!(__monitoring_counter(#name, self.#ident as u64);));
    }
    errors.finish()?;
    let krate = attr::krate(&container.attrs.krate);
    let ident = &input.ident;
    let (impl_generics, ty_generics, where_clause) = input.generics.split_for_impl();
    Ok(quote! {
        #[automatically_derived]
        impl #impl_generics #krate::__private::UsageStatistics for #ident #ty_generics #where_clause {
            fn for_each_counter(&self, __monitoring_counter: &mut dyn ::core::ops::FnMut(&'static str, u64)) {
                #(#calls)*
            }
        }
    })
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
