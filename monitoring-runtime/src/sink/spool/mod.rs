//! The disk buffer of an InfluxDB sink (`spool_dir`): what the sink cannot deliver is
//! kept in append-only segment files and delivered oldest-first once the database
//! answers, also by the next process that opens the same directory.
//!
//! - **When.** While the database answers, nothing touches the disk. The first failed
//!   write (an outage, a 5xx, a 429), a shutdown deadline reached during a write, or
//!   the memory bound (`max_buffered_points` / `max_buffered_bytes`) switches the sink
//!   to spooling: the batch in hand and everything queued behind it are appended to
//!   the spool, and so is every later batch, until the spool has been delivered.
//! - **Who writes.** One thread per spool (`writer.rs`) appends the records, so the
//!   flusher and the request path never wait for the disk: a batch handed over is on
//!   its way to the file at once, and a crash loses at most what the flusher had not
//!   handed over yet (one flushing period) and the writer's current append.
//! - **Who reads.** The sink's own task replays one record at a time (read on tokio's
//!   blocking pool), retrying it with backoff for as long as it takes: a spooled batch
//!   is never given up for `max_retry_time`, only for `max_spool_bytes`.
//! - **Bounds.** Beyond `max_spool_bytes` the oldest segments are deleted and their
//!   points counted (`spool_full`). A damaged record (a torn tail after a crash, a
//!   flipped bit) is found by its checksums, counted (`spool_corrupt`) and skipped; the
//!   rest is delivered.
//! - **Durability (fsync policy).** A record is written to the file (the OS page
//!   cache) as soon as it is handed over, so it survives the process being killed. A
//!   segment is fsynced when it is full (the writer moves to the next) and when the
//!   monitor shuts down; a machine crash or power loss can lose what was spooled since
//!   the last of those.
//! - **Replays.** Delivered records are forgotten when their segment is consumed; a
//!   crash between delivering a record and forgetting it delivers it again on restart,
//!   which InfluxDB absorbs (same series, tags and timestamp overwrite).
//! - **A failing disk.** A record the writer cannot append (disk full, read-only,
//!   EIO) goes back to the sink's memory queue, where the memory bounds apply (what they
//!   cannot keep is counted `spool_error`), and the sink delivers from memory, as without
//!   a spool, for [`DISK_RETRY`]; then the disk is tried again. While the writer is
//!   behind, what waits for it is bounded by `max_buffered_bytes`: beyond it the newest
//!   batch is dropped (`buffer_full`).
//! - **Foreign files.** Files in the sink's directory that are not segments (a stray
//!   `1.seg`, a directory, an unreadable file) are left alone with one WARN; a segment
//!   of an unknown format version is kept, never read or deleted, with one WARN.
//! - **Modes.** Segments are created `0600` and directories `0700` (Unix).
//! - **One process per directory.** `spool_dir/LOCK` is locked (`flock`) for the
//!   monitor's life; a second monitor on the same directory fails to start.
//!
//! Layout: `spool_dir/<sink name>/<20-digit sequence>.seg` (record format in
//! `segment.rs`).
//!
//! | file | what it holds |
//! |---|---|
//! | `mod.rs` | this design, the spool's state and its reading side (delivery, skipping, close) |
//! | `dir.rs` | the directory: created private, locked |
//! | `writer.rs` | the writer thread |
//! | `append.rs` | appending a record, the segment bound, refused writes back to memory |
//! | `recover.rs` | what an earlier process left, foreign files |
//! | `segment.rs` | the record format and reading it back |

mod append;
mod dir;
mod recover;
mod segment;
mod writer;

pub(crate) use dir::SpoolDir;

use std::collections::VecDeque;
use std::fs::File;
use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, Ordering::Relaxed};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use tokio::sync::Notify;

use super::Lines;
use crate::error::Error;
use crate::line_protocol::Dialect;
use crate::stats::{DropCounters, DropReason};

/// How long a sink delivers from memory after a failed spool write before it tries
/// the disk again.
pub(crate) const DISK_RETRY: Duration = Duration::from_secs(10);

/// A sink's counters of its spool.
#[derive(Debug, Default)]
pub(crate) struct SpoolCounters {
    /// Points in the spool now (on disk, not yet delivered).
    pub(crate) spooled: AtomicU64,
    /// Points handed to the writer, not yet on disk.
    pub(crate) pending: AtomicU64,
    /// Points delivered (written or rejected) from the spool.
    pub(crate) replayed: AtomicU64,
    /// Points found in the spool at start (left by an earlier process).
    pub(crate) recovered: AtomicU64,
}

impl SpoolCounters {
    /// `n` spooled points left the spool (delivered, dropped or skipped).
    pub(crate) fn unspool(&self, n: u64) {
        let _ = self
            .spooled
            .fetch_update(Relaxed, Relaxed, |s| Some(s.saturating_sub(n)));
    }
}

/// One segment file.
#[derive(Debug)]
struct Segment {
    seq: u64,
    /// Bytes written and complete.
    len: u64,
    /// Points in it not yet delivered.
    points: u64,
    /// No more appends (full, or left by an earlier process).
    sealed: bool,
}

#[derive(Debug, Default)]
struct State {
    /// New batches go to the spool (it holds something, or the sink is failing).
    spooling: bool,
    /// Oldest first; only the last may be unsealed.
    segments: VecDeque<Segment>,
    /// Where the next record of the first segment starts.
    read_offset: u64,
    /// The record being delivered: its segment and points (not counted twice if its
    /// segment is deleted meanwhile).
    in_delivery: Option<(u64, u64)>,
    /// Points handed to the writer, not yet on disk.
    pending: u64,
    /// Bytes of all segments.
    bytes: u64,
    next_seq: u64,
    /// Bytes handed to the writer, not yet on disk (bounded by `max_pending_bytes`).
    pending_bytes: usize,
    /// Records the writer could not append, on their way back to memory (their
    /// points stay in `counters.pending` until the sink takes them).
    returned: VecDeque<Arc<Lines>>,
    /// The disk failed: until then the sink delivers from memory.
    disk_failed_until: Option<Instant>,
    /// Why the disk failed, for the sink's WARN (taken once per failure).
    disk_error: Option<String>,
}

/// A record read back, ready to deliver.
pub(crate) struct Spooled {
    pub(crate) lines: Arc<Lines>,
    seq: u64,
    next: u64,
    points: u64,
}

impl Spooled {
    /// The record's points.
    pub(crate) fn points(&self) -> u64 {
        self.points
    }
}

/// A sink's spool; see the module docs.
pub(crate) struct Spool {
    dir: PathBuf,
    sink: String,
    dialect: Dialect,
    max_bytes: u64,
    segment_bytes: u64,
    state: Mutex<State>,
    writer: writer::Handle,
    /// The sink task's wake-up (new records on disk).
    wake: Arc<Notify>,
    pub(crate) counters: SpoolCounters,
    drops: Arc<DropCounters>,
    spool_dir: Arc<SpoolDir>,
    /// The most bytes waiting for the writer (`max_buffered_bytes`).
    max_pending_bytes: usize,
}

impl std::fmt::Debug for Spool {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Spool").field("dir", &self.dir).finish()
    }
}

impl Spool {
    /// The spool of sink `sink` in `dir`, with what an earlier process left in it.
    pub(crate) fn open(
        dir: &Arc<SpoolDir>,
        sink: &str,
        dialect: Dialect,
        wake: Arc<Notify>,
        drops: Arc<DropCounters>,
        max_pending_bytes: usize,
    ) -> Result<Arc<Spool>, Error> {
        let path = dir.path.join(sink);
        let io = |source| Error::Spool {
            path: path.clone(),
            source,
        };
        dir::create_private_dir(&path).map_err(io)?;
        let state = recover::recover(&path).map_err(io)?;
        let recovered = state.segments.iter().map(|s| s.points).sum::<u64>();
        let spool = Arc::new_cyclic(|weak| Spool {
            dir: path.clone(),
            sink: sink.to_owned(),
            dialect,
            max_bytes: dir.max_bytes,
            // At least eight segments within the bound, each at most 64 MiB.
            segment_bytes: (dir.max_bytes / 8).clamp(64 << 10, 64 << 20),
            state: Mutex::new(state),
            writer: writer::Handle::start(weak.clone(), sink),
            wake,
            counters: SpoolCounters::default(),
            drops,
            spool_dir: dir.clone(),
            max_pending_bytes,
        });
        spool.counters.spooled.store(recovered, Relaxed);
        spool.counters.recovered.store(recovered, Relaxed);
        if recovered > 0 {
            tracing::info!(
                target: "monitoring",
                sink,
                points = recovered,
                "delivering points an earlier process left in the spool"
            );
        }
        Ok(spool)
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// True while new batches go to the spool (not while the disk is failing).
    pub(crate) fn is_spooling(&self) -> bool {
        let st = self.lock();
        st.spooling && Self::disk_ok(&st)
    }

    /// False for [`DISK_RETRY`] after a failed write: deliver from memory meanwhile.
    pub(crate) fn usable(&self) -> bool {
        Self::disk_ok(&self.lock())
    }

    fn disk_ok(st: &State) -> bool {
        st.disk_failed_until.is_none_or(|t| Instant::now() >= t)
    }

    /// Records the writer could not append, oldest first, for the memory queue (their
    /// points leave `pending`), and the disk's error when it has just started failing.
    pub(crate) fn take_returned(&self) -> (Vec<Arc<Lines>>, Option<String>) {
        let (returned, error) = {
            let mut st = self.lock();
            (
                st.returned.drain(..).collect::<Vec<_>>(),
                st.disk_error.take(),
            )
        };
        let points: usize = returned.iter().map(|l| l.len()).sum();
        self.counters.pending.fetch_sub(points as u64, Relaxed);
        (returned, error)
    }

    /// Hands lines `a..b` of `lines` to the writer; the sink spools from now on (what
    /// comes later follows these lines).
    pub(crate) fn append(&self, lines: Arc<Lines>, a: usize, b: usize) {
        let points = (b - a) as u64;
        if points == 0 {
            return;
        }
        let bytes = lines.slice(a, b).len();
        {
            let mut st = self.lock();
            if st.pending_bytes.saturating_add(bytes) > self.max_pending_bytes {
                drop(st);
                self.count_drop(
                    DropReason::BufferFull,
                    points,
                    "the spool's writer is behind by max_buffered_bytes (a slow disk); \
                     dropping the newest batch",
                );
                return;
            }
            st.spooling = true;
            st.pending += points;
            st.pending_bytes += bytes;
        }
        self.counters.pending.fetch_add(points, Relaxed);
        self.writer.send(writer::Job { lines, a, b });
    }

    /// True when a record waits on disk.
    pub(crate) fn has_unread(&self) -> bool {
        let st = self.lock();
        match st.segments.len() {
            0 => false,
            1 => st.read_offset < st.segments[0].len,
            _ => true,
        }
    }

    /// True when nothing is on its way to the disk.
    pub(crate) fn all_on_disk(&self) -> bool {
        self.lock().pending == 0
    }

    /// True when the spool holds nothing, on disk or on its way there.
    pub(crate) fn is_empty(&self) -> bool {
        let st = self.lock();
        st.pending == 0 && st.returned.is_empty() && st.segments.iter().all(|s| s.points == 0)
    }

    /// The oldest record not yet delivered (damaged ones are counted and skipped);
    /// `None` when nothing is on disk yet.
    pub(crate) async fn next(self: &Arc<Self>) -> Option<Spooled> {
        let spool = self.clone();
        tokio::task::spawn_blocking(move || spool.read_next())
            .await
            .unwrap_or(None)
    }

    fn read_next(&self) -> Option<Spooled> {
        loop {
            let (seq, offset, end) = {
                let mut st = self.lock();
                let first = st.segments.front()?;
                if st.read_offset >= first.len {
                    if !first.sealed {
                        return None;
                    }
                    // Consumed and full: forget it.
                    self.remove_first(&mut st);
                    continue;
                }
                (first.seq, st.read_offset, first.len)
            };
            let entry = File::open(self.path(seq))
                .and_then(|mut file| segment::read_at(&mut file, offset, end));
            match entry {
                Ok(segment::Entry::Record {
                    dialect,
                    points,
                    lines,
                    next,
                }) => {
                    let points = u64::from(points);
                    if dialect != segment::dialect_byte(self.dialect) {
                        self.skip(seq, next, points, "a spooled record of another dialect");
                        continue;
                    }
                    self.lock().in_delivery = Some((seq, points));
                    let ends = segment::line_ends(&lines);
                    return Some(Spooled {
                        lines: Arc::new(Lines { body: lines, ends }),
                        seq,
                        next,
                        points,
                    });
                }
                Ok(segment::Entry::Damaged {
                    points,
                    bytes,
                    next,
                }) => {
                    tracing::warn!(
                        target: "monitoring",
                        sink = %self.sink,
                        bytes,
                        points,
                        "skipping a damaged stretch of the spool"
                    );
                    self.skip(seq, next, points, "damaged spool record");
                }
                Ok(segment::Entry::End) => {
                    // The file is shorter than recorded (removed by hand?): move on.
                    self.skip(seq, end, 0, "spool segment shorter than written");
                }
                Err(e) => {
                    tracing::warn!(target: "monitoring", sink = %self.sink, error = %e, "cannot read the spool; skipping the segment");
                    let points = self.lock().segments.front().map_or(0, |s| s.points);
                    self.skip(seq, end, points, "unreadable spool segment");
                }
            }
        }
    }

    /// Skips to `next` past `points` that cannot be delivered (counted).
    fn skip(&self, seq: u64, next: u64, points: u64, why: &str) {
        self.advance(seq, next, points);
        self.counters.unspool(points);
        if points > 0 {
            self.count_drop(DropReason::SpoolCorrupt, points, why);
        }
    }

    /// The record is delivered (written or definitively dropped, counted by the
    /// caller): it is never read again, and its segment goes once consumed.
    pub(crate) fn delivered(&self, record: &Spooled) {
        self.counters.replayed.fetch_add(record.points, Relaxed);
        self.advance(record.seq, record.next, record.points);
    }

    /// The record's delivery panicked: it is never read again; `lost` of its points
    /// (those not settled before the panic) leave the spool, counted by the caller.
    pub(crate) fn discard(&self, record: &Spooled, lost: u64) {
        self.counters.unspool(lost);
        self.advance(record.seq, record.next, record.points);
    }

    /// The record was not delivered (shutdown): it is read again next time.
    pub(crate) fn undelivered(&self) {
        self.lock().in_delivery = None;
    }

    fn advance(&self, seq: u64, next: u64, points: u64) {
        let mut st = self.lock();
        st.in_delivery = None;
        let Some(first) = st.segments.front_mut() else {
            return;
        };
        if first.seq != seq {
            // Deleted meanwhile (over the bound); its points were counted then.
            return;
        }
        first.points = first.points.saturating_sub(points);
        st.read_offset = next;
        // Everything delivered and nothing on its way: forget the last segment too,
        // and go back to delivering from memory.
        if st.segments.len() == 1 && next >= st.segments[0].len && st.pending == 0 {
            self.remove_first(&mut st);
            st.spooling = false;
        }
    }

    fn remove_first(&self, st: &mut State) {
        if let Some(first) = st.segments.pop_front() {
            st.bytes -= first.len;
            let _ = std::fs::remove_file(self.path(first.seq));
        }
        st.read_offset = 0;
    }

    fn path(&self, seq: u64) -> PathBuf {
        self.dir.join(format!("{seq:020}.seg"))
    }

    fn count_drop(&self, reason: DropReason, n: u64, why: &str) {
        if self.drops.add(reason, n) {
            super::warn_dropped(&self.sink, reason, n, why);
        }
    }

    /// Stops the writer once it has written what it holds, until `deadline`; what is
    /// still on its way then is counted as `shutdown_deadline`.
    pub(crate) async fn close(&self, deadline: Instant) {
        let finished = self.writer.close(deadline).await;
        self.spool_dir.release();
        // The sink's task has ended: what the disk refused can be kept nowhere now.
        let returned: usize = self.take_returned().0.iter().map(|l| l.len()).sum();
        if returned > 0 {
            self.count_drop(
                DropReason::SpoolError,
                returned as u64,
                "the spool could not be written at shutdown",
            );
        }
        if finished {
            return;
        }
        let left = self.counters.pending.swap(0, Relaxed);
        if left > 0 {
            self.count_drop(
                DropReason::ShutdownDeadline,
                left,
                "the spool writer had not written everything at the shutdown deadline",
            );
        }
    }
}
