//! `#[derive(UsageStatistics)]`: each unsigned counter becomes an integer field of the
//! `usages_statistic` point.

use proc_macro2::TokenStream;
use quote::quote;
use syn::DeriveInput;

use crate::ast::{Container, Derive, Errors};
use crate::attr;
use crate::valid::{self, Counter};

/// Parse, check, expand; on errors, the errors and a stand-in impl (so a caller's
/// `.record()` adds no second, confusing error).
pub(crate) fn derive(input: &DeriveInput) -> TokenStream {
    let mut errors = Errors::default();
    let container = Container::from_ast(input, Derive::Usage, &mut errors);
    let krate = attr::krate(&container.as_ref().and_then(|c| c.attrs.krate.clone()));
    let counters = container.as_ref().map(|c| valid::usage(c, &mut errors));
    match (errors.finish(), counters) {
        (Ok(()), Some(counters)) => expand(input, &krate, &counters),
        (result, _) => {
            let error = result.err().map(syn::Error::into_compile_error);
            let stand_in = expand(input, &krate, &[]);
            quote!(#error #stand_in)
        }
    }
}

fn expand(input: &DeriveInput, krate: &TokenStream, counters: &[Counter<'_>]) -> TokenStream {
    let calls = counters
        .iter()
        .map(|Counter { name, ident }| quote!(__monitoring_counter(#name, self.#ident as u64);));
    let ident = &input.ident;
    let (impl_generics, ty_generics, where_clause) = input.generics.split_for_impl();
    quote! {
        #[automatically_derived]
        impl #impl_generics #krate::__private::UsageStatistics for #ident #ty_generics #where_clause {
            fn for_each_counter(&self, __monitoring_counter: &mut dyn ::core::ops::FnMut(&'static str, u64)) {
                #(#calls)*
            }
        }
    }
}
