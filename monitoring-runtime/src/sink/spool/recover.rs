//! What an earlier process left in the spool: the segments it finds at start, and the
//! files it leaves alone.

use std::fs::File;
use std::path::Path;

use super::{segment, Segment, State};

/// The segments left in `dir` by an earlier process (all sealed), their points (those
/// of damaged records included: they are counted as dropped when reading reaches
/// them) and length. Files that are not segments of this format are left alone, with
/// one WARN; new segments are numbered past every segment-named file.
pub(super) fn recover(dir: &Path) -> std::io::Result<State> {
    let mut seqs = Vec::new();
    let mut foreign = Vec::new();
    let mut next_seq = 0u64;
    for entry in std::fs::read_dir(dir)? {
        let entry = entry?;
        let name = entry.file_name().to_string_lossy().into_owned();
        let is_file = entry.file_type().is_ok_and(|t| t.is_file());
        let seq = segment_seq(&name);
        if let Some(seq) = seq {
            // Never written over, whatever it is.
            next_seq = next_seq.max(seq.saturating_add(1));
        }
        match seq {
            Some(seq) if is_file => seqs.push(seq),
            _ => foreign.push(name),
        }
    }
    seqs.sort_unstable();
    let mut state = State {
        next_seq,
        ..State::default()
    };
    for seq in seqs {
        match recover_segment(&dir.join(format!("{seq:020}.seg")))? {
            Recovered::Segment { len, points } => {
                state.bytes += len;
                state.segments.push_back(Segment {
                    seq,
                    len,
                    points,
                    sealed: true,
                });
            }
            Recovered::Foreign(why) => foreign.push(format!("{seq:020}.seg ({why})")),
        }
    }
    if !foreign.is_empty() {
        foreign.truncate(8);
        tracing::warn!(
            target: "monitoring",
            dir = %dir.display(),
            files = ?foreign,
            "files in the spool directory that are not segments of this version were left \
             alone (move them away to silence this)"
        );
    }
    state.spooling = !state.segments.is_empty();
    Ok(state)
}

/// The sequence number of a segment's file name: exactly 20 digits and `.seg`.
fn segment_seq(name: &str) -> Option<u64> {
    let digits = name.strip_suffix(".seg")?;
    if digits.len() != 20 || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    digits.parse().ok()
}

enum Recovered {
    Segment {
        len: u64,
        points: u64,
    },
    /// Not ours to read: unreadable, or another format version.
    Foreign(String),
}

fn recover_segment(path: &Path) -> std::io::Result<Recovered> {
    let mut file = match File::open(path) {
        Ok(file) => file,
        Err(e) => return Ok(Recovered::Foreign(e.to_string())),
    };
    let len = file.metadata()?.len();
    let mut magic = [0u8; 4];
    if len >= 4 && std::io::Read::read_exact(&mut file, &mut magic).is_ok() {
        let ours = &segment::MAGIC;
        if magic[..3] == ours[..3] && magic[3] != ours[3] {
            return Ok(Recovered::Foreign(format!(
                "format version {}",
                String::from_utf8_lossy(&magic[3..])
            )));
        }
    }
    let (mut offset, mut points) = (0, 0);
    loop {
        match segment::read_at(&mut file, offset, len) {
            Ok(segment::Entry::Record {
                points: n, next, ..
            }) => {
                points += u64::from(n);
                offset = next;
            }
            Ok(segment::Entry::Damaged {
                points: n, next, ..
            }) => {
                points += n;
                offset = next;
            }
            Ok(segment::Entry::End) => break,
            Err(e) => return Ok(Recovered::Foreign(e.to_string())),
        }
    }
    Ok(Recovered::Segment { len, points })
}
