//! Parsing the arguments of `#[monitored(...)]` and `#[timed_field(...)]`: their
//! grammar only (what the values mean is checked in `valid.rs`).

use proc_macro2::Span;
use syn::parse::{Parse, ParseStream};
use syn::{Error, Expr, LitStr, Path, Result, Token};

mod kw {
    syn::custom_keyword!(route);
    syn::custom_keyword!(request_id);
}

/// `#[monitored(route = "POST:/extractor", request_id = <expr>, crate = "path")]`
pub(crate) struct MonitoredArgs {
    pub(crate) route: LitStr,
    pub(crate) request_id: Option<Expr>,
    pub(crate) krate: Option<Path>,
}

impl Parse for MonitoredArgs {
    fn parse(input: ParseStream<'_>) -> Result<Self> {
        let mut route: Option<LitStr> = None;
        let mut request_id = None;
        let mut krate = None;
        while !input.is_empty() {
            let lookahead = input.lookahead1();
            if lookahead.peek(kw::route) {
                let key: kw::route = input.parse()?;
                if route.is_some() {
                    return Err(Error::new(
                        key.span,
                        "expected only a single `route` argument",
                    ));
                }
                input.parse::<Token![=]>()?;
                route = Some(input.parse::<LitStr>()?);
            } else if lookahead.peek(kw::request_id) {
                let key: kw::request_id = input.parse()?;
                if request_id.is_some() {
                    return Err(Error::new(
                        key.span,
                        "expected only a single `request_id` argument",
                    ));
                }
                input.parse::<Token![=]>()?;
                request_id = Some(input.parse::<Expr>()?);
            } else if lookahead.peek(Token![crate]) {
                krate = Some(parse_crate(input, krate.is_some())?);
            } else {
                return Err(lookahead.error());
            }
            if input.is_empty() {
                break;
            }
            input.parse::<Token![,]>()?;
        }
        let Some(route) = route else {
            return Err(Error::new(
                Span::call_site(),
                "missing `route` argument, e.g. #[monitored(route = \"POST:/extractor\")]",
            ));
        };
        Ok(MonitoredArgs {
            route,
            request_id,
            krate,
        })
    }
}

/// `#[timed_field("save_warps_time")]` or `#[timed_field("name", crate = "path")]`
pub(crate) struct TimedFieldArgs {
    pub(crate) name: LitStr,
    pub(crate) krate: Option<Path>,
}

impl Parse for TimedFieldArgs {
    fn parse(input: ParseStream<'_>) -> Result<Self> {
        if input.is_empty() {
            return Err(Error::new(
                Span::call_site(),
                "missing field name, e.g. #[timed_field(\"save_warps_time\")]",
            ));
        }
        let lookahead = input.lookahead1();
        if !lookahead.peek(LitStr) {
            return Err(lookahead.error());
        }
        let name: LitStr = input.parse()?;
        let mut krate = None;
        while !input.is_empty() {
            input.parse::<Token![,]>()?;
            if input.is_empty() {
                break;
            }
            let lookahead = input.lookahead1();
            if lookahead.peek(Token![crate]) {
                krate = Some(parse_crate(input, krate.is_some())?);
            } else if lookahead.peek(LitStr) {
                let extra: LitStr = input.parse()?;
                return Err(Error::new(
                    extra.span(),
                    "expected a single field name; time each field with its own attribute",
                ));
            } else {
                return Err(lookahead.error());
            }
        }
        Ok(TimedFieldArgs { name, krate })
    }
}

/// `crate = "path"`, for crates that re-export `monitoring` under another name.
pub(crate) fn parse_crate(input: ParseStream<'_>, duplicate: bool) -> Result<Path> {
    let key: Token![crate] = input.parse()?;
    if duplicate {
        return Err(Error::new(
            key.span,
            "expected only a single `crate` argument",
        ));
    }
    input.parse::<Token![=]>()?;
    let lit: LitStr = input.parse()?;
    lit.parse::<Path>().map_err(|_| {
        Error::new(
            lit.span(),
            format!(
                "expected a path like \"::monitoring\", found \"{}\"",
                lit.value()
            ),
        )
    })
}

/// The path expansions use to reach the runtime.
pub(crate) fn krate(path: &Option<Path>) -> proc_macro2::TokenStream {
    match path {
        Some(p) => quote::quote!(#p),
        None => quote::quote!(::monitoring),
    }
}
