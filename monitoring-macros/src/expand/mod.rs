//! One file per macro; each returns tokens, with errors already folded in.

pub(crate) mod monitored;
pub(crate) mod point;
pub(crate) mod timed_field;
pub(crate) mod usage;

use proc_macro2::TokenStream;
use quote::quote;
use syn::{Block, Expr, ExprAsync, Stmt};

/// On error, the user's item is still emitted unchanged next to the error, so the user
/// sees one error and not a cascade of "cannot find function" ones.
pub(crate) fn with_fallback(error: syn::Error, item: TokenStream) -> TokenStream {
    let error = error.into_compile_error();
    quote!(#error #item)
}

/// The annotated item as a function, or the fallback output (the item unchanged next
/// to an error saying what the attribute applies to).
pub(crate) fn parse_fn(item: &TokenStream, applies_to: &str) -> Result<syn::ItemFn, TokenStream> {
    syn::parse2::<syn::ItemFn>(item.clone()).map_err(|_| {
        with_fallback(
            syn::Error::new(proc_macro2::Span::call_site(), applies_to),
            item.clone(),
        )
    })
}

/// The `async move { .. }` block of a function written the way `#[async_trait]`
/// expands `async fn`s: a plain `fn` whose body ends in `Box::pin(async move { .. })`.
pub(crate) fn async_trait_block(block: &mut Block) -> Option<&mut ExprAsync> {
    let Some(Stmt::Expr(Expr::Call(call), None)) = block.stmts.last_mut() else {
        return None;
    };
    let Expr::Path(path) = &*call.func else {
        return None;
    };
    if path.path.segments.last()?.ident != "pin" || call.args.len() != 1 {
        return None;
    }
    match call.args.first_mut()? {
        Expr::Async(block) => Some(block),
        _ => None,
    }
}
