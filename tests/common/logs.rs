//! Captures the library's log events in a test: the events of the test's own thread
//! (current-thread runtimes run their tasks there), whatever other tests of the binary
//! do meanwhile.
//!
//! One process-wide subscriber forwards each event to the capture of the thread it
//! happens on. A global subscriber, rather than a thread-local default per test,
//! because tracing caches per call site whether anyone listens: a call site first hit
//! by a parallel test's thread could otherwise be skipped on this one.
#![allow(dead_code, unreachable_pub)]

use std::cell::RefCell;
use std::fmt::Write;
use std::sync::{Arc, Mutex, Once};

use tracing::field::{Field, Visit};
use tracing_subscriber::layer::{Context, SubscriberExt};
use tracing_subscriber::Layer;

#[derive(Clone, Default)]
pub struct Logs(Arc<Mutex<Vec<String>>>);

thread_local! {
    static CURRENT: RefCell<Option<Logs>> = const { RefCell::new(None) };
}

/// Captures on this thread until dropped.
pub struct Guard(());

impl Drop for Guard {
    fn drop(&mut self) {
        CURRENT.with(|c| c.borrow_mut().take());
    }
}

impl Logs {
    /// Starts capturing this thread's events until the guard is dropped.
    pub fn capture() -> (Logs, Guard) {
        static INSTALL: Once = Once::new();
        INSTALL.call_once(|| {
            let subscriber = tracing_subscriber::registry().with(Forward);
            tracing::subscriber::set_global_default(subscriber)
                .expect("no other global subscriber in a test binary");
        });
        let logs = Logs::default();
        CURRENT.with(|c| *c.borrow_mut() = Some(logs.clone()));
        (logs, Guard(()))
    }

    pub fn all(&self) -> Vec<String> {
        self.0.lock().unwrap().clone()
    }

    pub fn count(&self, needle: &str) -> usize {
        self.all().iter().filter(|l| l.contains(needle)).count()
    }
}

struct Visitor(String);

impl Visit for Visitor {
    fn record_debug(&mut self, field: &Field, value: &dyn std::fmt::Debug) {
        let _ = write!(self.0, "{}={:?} ", field.name(), value);
    }
}

/// Hands each event to the capture of its thread, if any.
struct Forward;

impl<S: tracing::Subscriber> Layer<S> for Forward {
    fn on_event(&self, event: &tracing::Event<'_>, _ctx: Context<'_, S>) {
        let Some(logs) = CURRENT.with(|c| c.borrow().clone()) else {
            return;
        };
        let mut v = Visitor(format!("{} ", event.metadata().level()));
        event.record(&mut v);
        logs.0.lock().unwrap().push(v.0);
    }
}
