//! Procedural macros of the [`monitoring`](https://docs.rs/monitoring) crate. Use them
//! through `monitoring`, which re-exports them with their documentation.
//!
//! Each macro runs parse → validate → expand: its input is parsed as written, every
//! check runs and their errors are reported together, and only a checked model is
//! expanded (pure code generation). A failed derive still emits a stand-in impl, so a
//! user sees its errors and not a cascade; a failed attribute emits the item unchanged.
//!
//! | macro | parse | validate | expand |
//! |---|---|---|---|
//! | `#[monitored]` | `attr.rs` | `valid::monitored` | `expand/monitored.rs` |
//! | `#[timed_field]` | `attr.rs` | `valid::timed_field` | `expand/timed_field.rs` |
//! | `#[derive(UsageStatistics)]` | `ast.rs` | `valid::usage` | `expand/usage.rs` |
//! | `#[derive(MonitoringPoint)]` | `ast.rs` | `valid::point` | `expand/point.rs` |

mod ast;
mod attr;
mod expand;
mod fn_shape;
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
    expand::usage::derive(&input).into()
}

/// Turns a struct into a point of a custom series.
#[proc_macro_derive(MonitoringPoint, attributes(point))]
pub fn derive_monitoring_point(input: TokenStream) -> TokenStream {
    let input = syn::parse_macro_input!(input as syn::DeriveInput);
    expand::point::derive(&input).into()
}
