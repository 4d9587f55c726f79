//! A sink never dies: every call into an exporter (a plugin's `initialize`,
//! `flush_points` and `close`, or our own writers) runs under `catch_unwind`. A panic
//! costs the batch in hand, counted as `panicked` and logged as an ERROR naming the sink
//! and the panic message; the sink goes on with the next batch. A task that ends anyway
//! is seen by the flusher (`SinkQueue::watch`), which counts what it held.

use std::any::Any;
use std::future::Future;
use std::panic::AssertUnwindSafe;

use futures_util::FutureExt;

/// Runs `work`; `Err(message)` when it panicked.
pub(super) async fn caught<F: Future>(work: F) -> Result<F::Output, String> {
    AssertUnwindSafe(work)
        .catch_unwind()
        .await
        .map_err(|panic| message(&*panic))
}

/// The text a panic carries (`panic!("...")` gives a `&str` or a `String`).
pub(super) fn message(panic: &(dyn Any + Send)) -> String {
    let text = panic
        .downcast_ref::<&str>()
        .copied()
        .or_else(|| panic.downcast_ref::<String>().map(String::as_str))
        .unwrap_or("a panic without a message");
    // A plugin's message is bounded like a server's.
    let mut end = text.len().min(300);
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    text[..end].to_owned()
}

/// The ERROR for a panic outside a batch (`initialize`, `close`): nothing is lost.
pub(super) fn log_panic(sink: &str, during: &str, message: &str) {
    tracing::error!(
        target: "monitoring",
        sink,
        panic = message,
        "monitoring sink panicked in {during}; it goes on"
    );
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn panics_become_their_message() {
        let out = caught(async { panic!("boom {}", 7) }).await;
        assert_eq!(out, Err::<(), _>("boom 7".to_owned()));
        let out = caught(async { panic!("static") }).await;
        assert_eq!(out, Err::<(), _>("static".to_owned()));
        assert_eq!(caught(async { 5 }).await, Ok(5));
        let long = "é".repeat(400);
        let out = caught(async move { panic!("{long}") }).await.unwrap_err();
        assert!(out.len() <= 300 && out.starts_with('é'));
    }
}
