//! The writer side of the spool: appending a record (on the writer thread), the segment
//! to append to, the `max_spool_bytes` bound, and what the disk refuses going back to
//! memory.

use std::fs::File;
use std::io::Write;
use std::sync::atomic::Ordering::Relaxed;
use std::sync::Arc;

use super::dir::private_file;
use super::{segment, writer, Lines, Segment, Spool, State, DISK_RETRY};
use crate::stats::DropReason;

impl Spool {
    /// The writer thread's append of one record.
    pub(super) fn write(&self, job: &writer::Job, file: &mut Option<(u64, File)>) {
        let points = (job.b - job.a) as u64;
        let lines = job.lines.slice(job.a, job.b);
        let bytes = segment::encode(&self.sink, self.dialect, points as u32, lines);
        let seq = self.active_segment();
        let written = (|| {
            if file.as_ref().map(|(s, _)| *s) != Some(seq) {
                if let Some((_, old)) = file.take() {
                    old.sync_data()?;
                }
                let new = private_file()
                    .create(true)
                    .append(true)
                    .open(self.path(seq))?;
                *file = Some((seq, new));
            }
            let (_, f) = file.as_mut().expect("opened above");
            f.write_all(&bytes)
        })();
        let mut st = self.lock();
        st.pending -= points;
        st.pending_bytes = st.pending_bytes.saturating_sub(lines.len());
        let segment = st.segments.iter_mut().find(|s| s.seq == seq);
        match (written, segment) {
            (Ok(()), Some(segment)) => {
                segment.len += bytes.len() as u64;
                segment.points += points;
                st.bytes += bytes.len() as u64;
                self.counters.pending.fetch_sub(points, Relaxed);
                self.counters.spooled.fetch_add(points, Relaxed);
                let lost = self.enforce_bound(&mut st);
                drop(st);
                if lost > 0 {
                    self.count_drop(
                        DropReason::SpoolFull,
                        lost,
                        "the spool reached max_spool_bytes; dropping its oldest segment",
                    );
                }
            }
            (result, segment) => {
                // No more appends to a file whose end is unknown.
                if let Some(segment) = segment {
                    segment.sealed = true;
                }
                *file = None;
                let error = result.err().map(|e| e.to_string()).unwrap_or_default();
                self.give_back(&mut st, job, &error);
            }
        }
        self.wake.notify_one();
    }

    /// A record the disk refused goes back to memory, and the sink delivers from
    /// memory for [`DISK_RETRY`] (the sink's task logs one WARN when the disk starts
    /// failing).
    fn give_back(&self, st: &mut State, job: &writer::Job, error: &str) {
        let slice = job.lines.slice(job.a, job.b);
        let ends = job.lines.ends[job.a..job.b]
            .iter()
            .map(|end| end - (job.lines.ends[job.b - 1] - slice.len()))
            .collect();
        st.returned.push_back(Arc::new(Lines {
            body: slice.to_vec(),
            ends,
        }));
        let was_ok = Self::disk_ok(st);
        st.disk_failed_until = Some(crate::retry::after(DISK_RETRY));
        if st.pending == 0 && st.segments.iter().all(|s| s.points == 0) {
            // Nothing on disk to deliver first: back to memory delivery.
            st.spooling = false;
        }
        if was_ok {
            st.disk_error = Some(error.to_owned());
        }
    }

    /// The segment to append to: the last one, or a new one when it is full or sealed.
    fn active_segment(&self) -> u64 {
        let mut st = self.lock();
        let open = st
            .segments
            .back()
            .filter(|s| !s.sealed && s.len < self.segment_bytes);
        if let Some(segment) = open {
            return segment.seq;
        }
        if let Some(last) = st.segments.back_mut() {
            last.sealed = true;
        }
        if st.segments.is_empty() {
            st.read_offset = 0;
        }
        let seq = st.next_seq;
        st.next_seq += 1;
        st.segments.push_back(Segment {
            seq,
            len: 0,
            points: 0,
            sealed: false,
        });
        seq
    }

    /// Deletes the oldest segments while over `max_spool_bytes` (never the one being
    /// appended to); returns the points lost, which the caller counts.
    fn enforce_bound(&self, st: &mut State) -> u64 {
        let mut lost = 0;
        while st.bytes > self.max_bytes && st.segments.len() > 1 {
            let seq = st.segments[0].seq;
            let mut points = st.segments[0].points;
            if let Some((s, n)) = st.in_delivery {
                if s == seq {
                    // Being delivered: its fate is counted when delivery ends.
                    points -= n.min(points);
                }
            }
            self.remove_first(st);
            lost += points;
        }
        self.counters.unspool(lost);
        lost
    }
}
