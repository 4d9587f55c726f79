//! `#[monitored(route = "...")]`: wraps the handler body in the runtime's monitored
//! future. The body itself is moved, never re-printed, so errors inside it keep
//! pointing at the user's lines.

use proc_macro2::TokenStream;
use quote::{quote, quote_spanned, ToTokens};
use syn::spanned::Spanned;
use syn::{ItemFn, ReturnType};

use crate::attr::{self, MonitoredArgs};
use crate::expand::{async_trait_block, parse_fn, with_fallback};
use crate::valid;

pub(crate) fn expand(args: TokenStream, item: TokenStream) -> TokenStream {
    let args = match syn::parse2::<MonitoredArgs>(args) {
        Ok(args) => args,
        Err(e) => return with_fallback(e, item),
    };
    let mut func = match parse_fn(
        &item,
        "`#[monitored]` can only be used on an `async fn` handler",
    ) {
        Ok(func) => func,
        Err(fallback) => return fallback,
    };
    if let Err(e) = valid::monitored(&args, &mut func) {
        return with_fallback(e, item);
    }
    expand_fn(&args, func)
}

/// Wraps a checked `async fn` (or `#[async_trait]` function) in the monitored future.
fn expand_fn(args: &MonitoredArgs, mut func: ItemFn) -> TokenStream {
    let krate = attr::krate(&args.krate);
    let route = &args.route;
    // Unmappable return types are reported on the return type.
    let output_span = match &func.sig.output {
        ReturnType::Type(_, ty) => ty.span(),
        ReturnType::Default => func.sig.ident.span(),
    };
    // The argument is evaluated only when monitoring is on, before the body takes the
    // parameters it may read.
    let (monitored, request_id, id_arg) = match &args.request_id {
        Some(expr) => {
            let id = quote_spanned!(expr.span()=> #krate::__private::request_id_arg(#expr));
            (
                quote_spanned!(output_span=> #krate::__private::monitored_with_id),
                quote! {
                    let __monitoring_request_id =
                        if __monitoring_on { #id } else { ::core::option::Option::None };
                },
                quote!(__monitoring_request_id,),
            )
        }
        None => (
            quote_spanned!(output_span=> #krate::__private::monitored),
            quote!(),
            quote!(),
        ),
    };
    let meta = quote! {{
        static __MONITORING_ROUTE: #krate::__private::RouteMeta = #krate::__private::RouteMeta {
            route: #route,
            crate_name: ::core::env!("CARGO_PKG_NAME"),
        };
        &__MONITORING_ROUTE
    }};
    // With a nameable return type the body gets it as its type, so inference (`?`,
    // integer literals) works as in the original function and errors name the type.
    let body = |block: &dyn quote::ToTokens| match &func.sig.output {
        ReturnType::Type(_, ty) if !contains_impl(ty) => quote! {
            async move {
                let __monitoring_output: #ty = #block;
                // Unreachable when the body diverges (a handler that always panics).
                #[allow(unreachable_code)]
                return __monitoring_output;
            }
        },
        _ => quote!(async move #block),
    };
    // The call is spanned on the return type: an unmappable type is reported there.
    let call = quote_spanned! {output_span=>
        #monitored(__monitoring_route, #id_arg __monitoring_body)
    };
    if func.sig.asyncness.is_some() {
        let inner = body(&func.block);
        *func.block = syn::parse_quote! {{
            let __monitoring_on = #krate::__private::monitoring_on();
            let __monitoring_route = #meta;
            #request_id
            let __monitoring_body = #inner;
            // Monitoring off: the body runs unwrapped (one more branch than no attribute).
            if !__monitoring_on {
                return __monitoring_body.await;
            }
            #call.await
        }};
    } else if let Some(inner) = async_trait_block(&mut func.block) {
        let original = inner.clone();
        *inner = syn::parse_quote! {
            async move {
                let __monitoring_on = #krate::__private::monitoring_on();
                let __monitoring_route = #meta;
                #request_id
                let __monitoring_body = #original;
                if !__monitoring_on {
                    return __monitoring_body.await;
                }
                #call.await
            }
        };
    }
    quote!(#func)
}

/// `impl Trait` cannot be named in a `let`, so such bodies keep an inferred type.
fn contains_impl(ty: &syn::Type) -> bool {
    ty.to_token_stream()
        .into_iter()
        .any(|t| matches!(t, proc_macro2::TokenTree::Ident(i) if i == "impl"))
        || matches!(ty, syn::Type::ImplTrait(_))
}
