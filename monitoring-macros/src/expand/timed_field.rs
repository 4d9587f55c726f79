//! `#[timed_field("name")]`: a timer guard as the function's first statement. It adds
//! the elapsed seconds when dropped, so early returns, `?`, panics and cancellation are
//! all timed, for sync and async functions alike.

use proc_macro2::TokenStream;
use quote::quote;
use syn::Stmt;

use crate::attr::{self, TimedFieldArgs};
use crate::expand::{parse_fn, with_fallback};
use crate::fn_shape::async_trait_block;

pub(crate) fn expand(args: TokenStream, item: TokenStream) -> TokenStream {
    let args = match syn::parse2::<TimedFieldArgs>(args) {
        Ok(args) => args,
        Err(e) => return with_fallback(e, item),
    };
    if let Err(e) = crate::valid::timed_field(&args) {
        return with_fallback(e, item);
    }
    let mut func = match parse_fn(
        &item,
        "`#[timed_field]` can only be used on functions; for a block use `monitoring::time_section(\"name\", async { .. })` or `monitoring::FieldTimer`",
    ) {
        Ok(func) => func,
        Err(fallback) => return fallback,
    };
    let krate = attr::krate(&args.krate);
    let name = &args.name;
    // One static per timed function: its field id is looked up once, not per call.
    let timer: Stmt = syn::parse_quote! {
        let __monitoring_timer = {
            static __MONITORING_FIELD: #krate::__private::TimedField =
                #krate::__private::TimedField::new(#name);
            #krate::__private::FieldTimer::start_field(&__MONITORING_FIELD)
        };
    };
    if func.sig.asyncness.is_none() {
        if let Some(inner) = async_trait_block(&mut func.block) {
            inner.block.stmts.insert(0, timer);
            return quote!(#func);
        }
    }
    func.block.stmts.insert(0, timer);
    quote!(#func)
}
