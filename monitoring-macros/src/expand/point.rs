//! `#[derive(MonitoringPoint)]`: a struct becomes a point of `#[point(series = "...")]`;
//! fields are fields unless marked `#[point(tag)]` or `#[point(timestamp)]`; `Option`
//! values are omitted when `None`.

use proc_macro2::TokenStream;
use quote::{quote, quote_spanned};
use syn::spanned::Spanned;
use syn::DeriveInput;

use crate::ast::{Container, Derive, Errors};
use crate::attr;
use crate::valid::{self, Member, PointModel};

/// Parse, check, expand; on errors, the errors and a stand-in impl (so a caller's
/// `.record()` adds no second, confusing error).
pub(crate) fn derive(input: &DeriveInput) -> TokenStream {
    let mut errors = Errors::default();
    let container = Container::from_ast(input, Derive::Point, &mut errors);
    let krate = attr::krate(&container.as_ref().and_then(|c| c.attrs.krate.clone()));
    let model = container
        .as_ref()
        .and_then(|c| valid::point(input, c, &mut errors));
    match (errors.finish(), model) {
        (Ok(()), Some(model)) => expand(input, &krate, &model),
        (result, _) => {
            let error = result.err().map(syn::Error::into_compile_error);
            let stand_in = stand_in(input, &krate);
            quote!(#error #stand_in)
        }
    }
}

fn expand(input: &DeriveInput, krate: &TokenStream, model: &PointModel<'_>) -> TokenStream {
    let statements = model.members.iter().map(|member| {
        let Member {
            name,
            ident,
            ty,
            tag,
        } = member;
        let (convert, add) = if *tag {
            (quote!(ToTagValue::to_tag_value), quote!(add_tag))
        } else {
            (quote!(ToFieldValue::to_field_value), quote!(add_field))
        };
        let value = quote_spanned!(ty.span()=> #krate::__private::#convert(&self.#ident));
        quote! {
            if let ::core::option::Option::Some(__v) = #value {
                __monitoring_point.#add(#name, __v);
            }
        }
    });
    let timestamp = match model.timestamp {
        Some(ident) => quote!(#krate::__private::ToTimestamp::to_timestamp_ns(&self.#ident)),
        None => quote!(#krate::__private::now_ns()),
    };
    let series = &model.series;
    let ident = &input.ident;
    let (impl_generics, ty_generics, where_clause) = input.generics.split_for_impl();
    quote! {
        #[automatically_derived]
        impl #impl_generics #krate::__private::MonitoringPoint for #ident #ty_generics #where_clause {
            const SERIES: &'static str = #series;
            fn to_point(&self) -> #krate::__private::Point {
                let mut __monitoring_point = #krate::__private::Point::at(#series, #timestamp);
                #(#statements)*
                __monitoring_point
            }
        }
    }
}

/// What a failed derive emits next to its errors: never run (the crate does not build).
fn stand_in(input: &DeriveInput, krate: &TokenStream) -> TokenStream {
    let ident = &input.ident;
    let (impl_generics, ty_generics, where_clause) = input.generics.split_for_impl();
    quote! {
        #[automatically_derived]
        impl #impl_generics #krate::__private::MonitoringPoint for #ident #ty_generics #where_clause {
            const SERIES: &'static str = "";
            fn to_point(&self) -> #krate::__private::Point {
                ::core::unreachable!()
            }
        }
    }
}
