//! Procedural macros of the [`monitoring`](https://docs.rs/monitoring) crate. Use them
//! through `monitoring`, which re-exports them with their documentation.
//!
//! | macro | argument grammar | expansion |
//! |---|---|---|
//! | `#[monitored]` | `attr.rs` | `expand/monitored.rs` |
//! | `#[timed_field]` | `attr.rs` | `expand/timed_field.rs` |
//! | `#[derive(UsageStatistics)]` | `ast.rs` | `expand/usage.rs` |
//! | `#[derive(MonitoringPoint)]` | `ast.rs` | `expand/point.rs` |
//!
//! Checks shared by all of them (routes, names) live in `valid.rs`.

mod ast;
mod attr;
mod expand;
mod valid;

use proc_macro::TokenStream;

/// Records a `requests` point (and an `errors` point when the request fails) for every
/// call of an async handler. See the `monitoring` crate for the full reference.
#[proc_macro_attribute]
pub fn monitored(args: TokenStream, item: TokenStream) -> TokenStream {
    expand::monitored::expand(args.into(), item.into()).into()
}

/// Adds the elapsed seconds of a function to a field of the current request's point.
#[proc_macro_attribute]
pub fn timed_field(args: TokenStream, item: TokenStream) -> TokenStream {
    expand::timed_field::expand(args.into(), item.into()).into()
}

/// Turns a struct of unsigned counters into the fields of a `usages_statistic` point.
#[proc_macro_derive(UsageStatistics, attributes(usage))]
pub fn derive_usage_statistics(input: TokenStream) -> TokenStream {
    let input = syn::parse_macro_input!(input as syn::DeriveInput);
    expand::usage::derive(&input)
        .unwrap_or_else(syn::Error::into_compile_error)
        .into()
}

/// Turns a struct into a point of a custom series.
#[proc_macro_derive(MonitoringPoint, attributes(point))]
pub fn derive_monitoring_point(input: TokenStream) -> TokenStream {
    let input = syn::parse_macro_input!(input as syn::DeriveInput);
    expand::point::derive(&input)
        .unwrap_or_else(syn::Error::into_compile_error)
        .into()
}
