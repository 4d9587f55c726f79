//! One file per macro; each returns tokens, with errors already folded in.

pub(crate) mod monitored;
pub(crate) mod point;
pub(crate) mod timed_field;
pub(crate) mod usage;

use proc_macro2::TokenStream;
use quote::quote;

/// On error, the user's item is still emitted unchanged next to the error, so the user
/// sees one error and not a cascade of "cannot find function" ones.
pub(crate) fn with_fallback(error: syn::Error, item: TokenStream) -> TokenStream {
    let error = error.into_compile_error();
    quote!(#error #item)
}

/// The annotated item as a function, or the fallback output: a function whose body
/// does not parse (a user mid-edit) unchanged, so that rustc's own error is the only
/// one (as tracing-attributes does); anything else unchanged next to an error saying
/// what the attribute applies to.
pub(crate) fn parse_fn(item: &TokenStream, applies_to: &str) -> Result<syn::ItemFn, TokenStream> {
    syn::parse2::<syn::ItemFn>(item.clone()).map_err(|_| {
        if crate::fn_shape::is_fn_item(item) {
            return item.clone();
        }
        with_fallback(
            syn::Error::new(proc_macro2::Span::call_site(), applies_to),
            item.clone(),
        )
    })
}
