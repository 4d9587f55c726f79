//! `#[monitored(route = "...")]`: wraps the handler body in the runtime's monitored
//! future. The body itself is moved, never re-printed, so errors inside it keep
//! pointing at the user's lines.

use proc_macro2::TokenStream;
use quote::{quote, quote_spanned};
use syn::spanned::Spanned;
use syn::{ItemFn, ReturnType};

use crate::attr::{self, MonitoredArgs};
use crate::expand::{parse_fn, with_fallback};
use crate::fn_shape::async_trait_block;
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
    match valid::monitored(&args, &mut func) {
        Ok(checked) => expand_fn(&args, &checked, func),
        Err(e) => with_fallback(e, item),
    }
}

/// The handler's `&'static RouteMeta`: one static, or one per method and the request's
/// method choosing among them.
fn route_meta(krate: &TokenStream, checked: &valid::Monitored) -> TokenStream {
    let routes = &checked.routes;
    let Some(method) = &checked.method_param else {
        return quote! {{
            static __MONITORING_ROUTE: #krate::__private::RouteMeta =
                #krate::__private::RouteMeta::new(#(#routes)*, ::core::env!("CARGO_PKG_NAME"));
            &__MONITORING_ROUTE
        }};
    };
    let n = routes.len();
    quote! {{
        static __MONITORING_ROUTES: [#krate::__private::RouteMeta; #n] = [#(
            #krate::__private::RouteMeta::new(#routes, ::core::env!("CARGO_PKG_NAME")),
        )*];
        #krate::__private::route_for_method(&__MONITORING_ROUTES, #method.as_str())
    }}
}

/// Wraps a checked `async fn` (or `#[async_trait]` function) in the monitored future.
fn expand_fn(args: &MonitoredArgs, checked: &valid::Monitored, mut func: ItemFn) -> TokenStream {
    let krate = attr::krate(&args.krate);
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
                quote_spanned!(output_span=> __monitoring_with_id),
                quote! {
                    let __monitoring_request_id =
                        if __monitoring_on { #id } else { ::core::option::Option::None };
                },
                quote!(__monitoring_request_id,),
            )
        }
        None => (
            quote_spanned!(output_span=> __monitoring_monitored),
            quote!(),
            quote!(),
        ),
    };
    let meta = route_meta(&krate, checked);
    // The body gets the return type as its type (`impl Trait` in it erased to `_`), so
    // inference (`?`, integer literals) works as in the original function and errors
    // name the type.
    let body = |block: &dyn quote::ToTokens| match &func.sig.output {
        ReturnType::Type(_, ty) => {
            let ty = crate::fn_shape::nameable(ty);
            quote! {
            async move {
                let __monitoring_output: #ty = #block;
                // Unreachable when the body diverges (a handler that always panics).
                #[allow(unreachable_code)]
                return __monitoring_output;
            }
            }
        }
        _ => quote!(async move #block),
    };
    // The call is spanned on the return type: an unmappable type is reported there.
    // Monitoring off, the future only polls the body: one await either way, so the
    // body's code is in the handler once.
    let call = quote_spanned! {output_span=>
        #monitored(
            __monitoring_on,
            __monitoring_route,
            #id_arg
            __monitoring_body,
            __monitoring_into_status,
        ).await
    };
    // Named through local imports so that the whole call carries the return type's
    // span: that is where an unmappable type is reported, once.
    let into_status = quote_spanned! {output_span=>
        #[allow(unused_imports)]
        use #krate::__private::{
            into_status as __monitoring_into_status, monitored as __monitoring_monitored,
            monitored_with_id as __monitoring_with_id,
        };
    };
    if func.sig.asyncness.is_some() {
        let inner = body(&func.block);
        *func.block = syn::parse_quote! {{
            #into_status
            let __monitoring_on = #krate::__private::monitoring_on();
            let __monitoring_route = #meta;
            #request_id
            let __monitoring_body = #inner;
            #call
        }};
    } else if let Some(inner) = async_trait_block(&mut func.block) {
        let original = inner.clone();
        *inner = syn::parse_quote! {
            async move {
                #into_status
                let __monitoring_on = #krate::__private::monitoring_on();
                let __monitoring_route = #meta;
                #request_id
                let __monitoring_body = #original;
                #call
            }
        };
    }
    quote!(#func)
}
