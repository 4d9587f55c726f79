//! The spool's writer thread: appends the records handed to it, in order, so that
//! neither the flusher nor the request path ever waits for the disk.

use std::fs::File;
use std::sync::mpsc;
use std::sync::{Arc, Mutex, Weak};
use std::time::Instant;

use tokio::sync::oneshot;

use super::{Lines, Spool};

/// Lines `a..b` of a batch, to append as one record.
pub(super) struct Job {
    pub(super) lines: Arc<Lines>,
    pub(super) a: usize,
    pub(super) b: usize,
}

/// The thread's inbox and its end.
pub(super) struct Handle {
    jobs: Mutex<Option<mpsc::Sender<Job>>>,
    done: Mutex<Option<oneshot::Receiver<()>>>,
}

impl Handle {
    pub(super) fn start(spool: Weak<Spool>, sink: &str) -> Handle {
        let (tx, rx) = mpsc::channel::<Job>();
        let (done_tx, done_rx) = oneshot::channel();
        let spawned = std::thread::Builder::new()
            .name(format!("monitoring-spool-{sink}"))
            .spawn(move || {
                // The segment being appended to.
                let mut file: Option<(u64, File)> = None;
                for job in rx {
                    let Some(spool) = spool.upgrade() else { break };
                    spool.write(&job, &mut file);
                }
                if let Some((_, file)) = file {
                    let _ = file.sync_data();
                }
                let _ = done_tx.send(());
            });
        if let Err(e) = spawned {
            tracing::error!(target: "monitoring", error = %e, "cannot start the spool writer thread");
        }
        Handle {
            jobs: Mutex::new(Some(tx)),
            done: Mutex::new(Some(done_rx)),
        }
    }

    pub(super) fn send(&self, job: Job) {
        let jobs = self.jobs.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(tx) = jobs.as_ref() {
            let _ = tx.send(job);
        }
    }

    /// Lets the thread finish what it holds, fsync and end; false if it has not
    /// ended by `deadline`.
    pub(super) async fn close(&self, deadline: Instant) -> bool {
        drop(self.jobs.lock().unwrap_or_else(|e| e.into_inner()).take());
        let done = self.done.lock().unwrap_or_else(|e| e.into_inner()).take();
        match done {
            Some(done) => tokio::time::timeout_at(deadline.into(), done).await.is_ok(),
            None => true,
        }
    }
}
