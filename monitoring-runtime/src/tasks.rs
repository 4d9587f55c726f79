//! Work a request hands to other tasks: [`spawn`], [`spawn_blocking`] and
//! [`.in_request()`](InRequestExt::in_request) carry the current request's context
//! into it, so that what the work adds (tags, fields, timings, usage counters, an error
//! code) before the request finishes is on the request's points. What it adds after
//! the request finished is left out and counted (`Stats::late_additions`), never
//! attached to another request.
//!
//! ```
//! # #[tokio::main(flavor = "current_thread")] async fn main() {
//! # use monitoring_runtime as monitoring;
//! async fn handler() {
//!     let warps = monitoring::spawn(async {
//!         monitoring::add_tag("warps", "saved");
//!     });
//!     warps.await.unwrap();
//! }
//! # handler().await;
//! # }
//! ```
//!
//! Each spawned piece collects into a context of its own while it is polled and hands
//! it to the request after every poll; the request merges what it was handed when it
//! finishes. A request that spawns nothing pays nothing for this.

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

use crate::context;
use crate::record::{Link, RequestContext};

pin_project_lite::pin_project! {
    /// A future whose additions go to the request that made it; see
    /// [`InRequestExt::in_request`].
    #[must_use = "futures do nothing unless awaited"]
    pub struct InRequest<F> {
        #[pin]
        inner: F,
        link: Option<Arc<Link>>,
        context: RequestContext,
        panicked: bool,
    }
}

/// Carries the current request's context into a future run elsewhere.
pub trait InRequestExt: Future + Sized {
    /// This future, adding to the current request wherever it is polled; outside a
    /// monitored request it is returned as is.
    fn in_request(self) -> InRequest<Self> {
        InRequest {
            inner: self,
            link: context::link(),
            context: RequestContext::default(),
            panicked: false,
        }
    }
}

impl<F: Future> InRequestExt for F {}

impl<F: Future> Future for InRequest<F> {
    type Output = F::Output;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<F::Output> {
        let this = self.project();
        match this.link.as_ref() {
            Some(link) => collect(link, this.context, this.panicked, || this.inner.poll(cx)),
            None => this.inner.poll(cx),
        }
    }
}

/// Runs `work` with `context` as the current request's, then hands what it collected
/// to the request over `link`.
fn collect<R>(
    link: &Link,
    context: &mut RequestContext,
    panicked: &mut bool,
    work: impl FnOnce() -> R,
) -> R {
    let guard = context::enter_request(context, panicked, false);
    let out = work();
    guard.leave();
    link.deliver(std::mem::take(context));
    out
}

/// `tokio::spawn` of `future` with the current request's context (see the module
/// docs).
pub fn spawn<F>(future: F) -> tokio::task::JoinHandle<F::Output>
where
    F: Future + Send + 'static,
    F::Output: Send + 'static,
{
    tokio::spawn(future.in_request())
}

/// `tokio::task::spawn_blocking` of `f` with the current request's context (see the
/// module docs).
pub fn spawn_blocking<F, R>(f: F) -> tokio::task::JoinHandle<R>
where
    F: FnOnce() -> R + Send + 'static,
    R: Send + 'static,
{
    let link = context::link();
    tokio::task::spawn_blocking(move || {
        let Some(link) = link else { return f() };
        collect(&link, &mut RequestContext::default(), &mut false, f)
    })
}
