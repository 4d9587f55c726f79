//! The on-disk record format of the spool, and reading it back.
//!
//! A segment file (`<20-digit sequence>.seg`) is a run of records, appended and never
//! rewritten. One record is one encoded batch (or part of one):
//!
//! | offset | bytes | field |
//! |---|---|---|
//! | 0 | 4 | magic `MSP1` |
//! | 4 | 4 | length of name + lines (little endian) |
//! | 8 | 4 | points (lines) in the record |
//! | 12 | 1 | dialect: 1 (InfluxDB 1.x) or 2 (2.x) |
//! | 13 | 1 | length of the sink's name |
//! | 14 | 2 | zero |
//! | 16 | 4 | CRC-32 of bytes 4..16 |
//! | 20 | 4 | CRC-32 of what follows |
//! | 24 | n | the sink's name, then the lines, each ending in `\n` |
//!
//! The header has its own checksum, so a damaged record whose header is intact is
//! skipped whole and its points counted; where a header itself is damaged, reading
//! resynchronises at the next intact header. A record cut short by a crash is found by
//! its length (and the payload checksum).

use std::io::{self, Read, Seek, SeekFrom};

use crate::line_protocol::Dialect;

pub(super) const MAGIC: [u8; 4] = *b"MSP1";
pub(super) const HEADER: usize = 24;
/// The longest record read back (a batch is far smaller): a larger length is damage.
const MAX_RECORD: u32 = 1 << 30;

/// The bytes of one record.
pub(super) fn encode(sink: &str, dialect: Dialect, points: u32, lines: &[u8]) -> Vec<u8> {
    let name = &sink.as_bytes()[..sink.len().min(255)];
    let len = (name.len() + lines.len()) as u32;
    let mut out = Vec::with_capacity(HEADER + len as usize);
    out.extend_from_slice(&MAGIC);
    out.extend_from_slice(&len.to_le_bytes());
    out.extend_from_slice(&points.to_le_bytes());
    out.push(dialect_byte(dialect));
    out.push(name.len() as u8);
    out.extend_from_slice(&[0, 0]);
    let header_crc = crc32fast::hash(&out[4..16]);
    out.extend_from_slice(&header_crc.to_le_bytes());
    let mut payload = crc32fast::Hasher::new();
    payload.update(name);
    payload.update(lines);
    out.extend_from_slice(&payload.finalize().to_le_bytes());
    out.extend_from_slice(name);
    out.extend_from_slice(lines);
    out
}

pub(super) fn dialect_byte(dialect: Dialect) -> u8 {
    match dialect {
        Dialect::V1 => 1,
        Dialect::V2 => 2,
    }
}

/// A record's header, checked.
struct Header {
    len: u32,
    points: u32,
    dialect: u8,
    name_len: usize,
    payload_crc: u32,
}

fn header(bytes: &[u8; HEADER]) -> Option<Header> {
    let word = |i: usize| u32::from_le_bytes(bytes[i..i + 4].try_into().expect("4 bytes"));
    if bytes[..4] != MAGIC || crc32fast::hash(&bytes[4..16]) != word(16) {
        return None;
    }
    let header = Header {
        len: word(4),
        points: word(8),
        dialect: bytes[12],
        name_len: usize::from(bytes[13]),
        payload_crc: word(20),
    };
    (header.len <= MAX_RECORD && header.name_len <= header.len as usize).then_some(header)
}

/// What is at an offset of a segment.
#[derive(Debug)]
pub(super) enum Entry {
    /// An intact record: its lines, their number, and where the next record starts.
    Record {
        dialect: u8,
        points: u32,
        lines: Vec<u8>,
        next: u64,
    },
    /// A damaged stretch: the points known lost (from an intact header; 0 when none
    /// was), the bytes skipped, and where reading goes on.
    Damaged { points: u64, bytes: u64, next: u64 },
    /// Nothing more up to `end`.
    End,
}

/// Reads the entry at `offset` of `file`, whose first `end` bytes are written.
pub(super) fn read_at(file: &mut std::fs::File, offset: u64, end: u64) -> io::Result<Entry> {
    if offset >= end {
        return Ok(Entry::End);
    }
    let mut head = [0u8; HEADER];
    let available = end - offset;
    if available < HEADER as u64 {
        // A header cut short: a crash during the last append.
        return Ok(Entry::Damaged {
            points: 0,
            bytes: available,
            next: end,
        });
    }
    file.seek(SeekFrom::Start(offset))?;
    file.read_exact(&mut head)?;
    let Some(h) = header(&head) else {
        let next = resync(file, offset + 1, end)?;
        return Ok(Entry::Damaged {
            points: 0,
            bytes: next - offset,
            next,
        });
    };
    let total = HEADER as u64 + u64::from(h.len);
    if total > available {
        return Ok(Entry::Damaged {
            points: u64::from(h.points),
            bytes: available,
            next: end,
        });
    }
    let mut payload = vec![0u8; h.len as usize];
    file.read_exact(&mut payload)?;
    if crc32fast::hash(&payload) != h.payload_crc {
        return Ok(Entry::Damaged {
            points: u64::from(h.points),
            bytes: total,
            next: offset + total,
        });
    }
    payload.drain(..h.name_len);
    Ok(Entry::Record {
        dialect: h.dialect,
        points: h.points,
        lines: payload,
        next: offset + total,
    })
}

/// The offset of the next intact header at or after `from`, else `end`.
fn resync(file: &mut std::fs::File, from: u64, end: u64) -> io::Result<u64> {
    let mut buf = Vec::new();
    file.seek(SeekFrom::Start(from))?;
    file.take(end - from).read_to_end(&mut buf)?;
    let mut at = 0;
    while let Some(i) = buf[at..].windows(4).position(|w| w == MAGIC) {
        let start = at + i;
        if let Some(head) = buf.get(start..start + HEADER) {
            if header(head.try_into().expect("HEADER bytes")).is_some() {
                return Ok(from + start as u64);
            }
        }
        at = start + 1;
    }
    Ok(end)
}

/// The byte offsets where each line of `lines` ends.
pub(super) fn line_ends(lines: &[u8]) -> Vec<usize> {
    let mut ends = Vec::with_capacity(lines.len() / 128 + 1);
    ends.extend(
        lines
            .iter()
            .enumerate()
            .filter(|(_, b)| **b == b'\n')
            .map(|(i, _)| i + 1),
    );
    ends
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;

    fn file_with(bytes: &[u8]) -> (tempfile::TempDir, std::fs::File) {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("s.seg");
        std::fs::File::create(&path)
            .unwrap()
            .write_all(bytes)
            .unwrap();
        let file = std::fs::File::open(&path).unwrap();
        (dir, file)
    }

    #[test]
    fn records_read_back_and_damage_is_skipped_and_counted() {
        let a = encode("influx_v1", Dialect::V1, 2, b"m a=1 1\nm a=2 2\n");
        let b = encode("influx_v1", Dialect::V1, 1, b"m a=3 3\n");
        let c = encode("influx_v1", Dialect::V1, 3, b"m a=4 4\nm a=5 5\nm a=6 6\n");
        let mut bytes = [a.clone(), b.clone(), c.clone()].concat();
        // Damage b's payload: a and c are delivered, b's point counted.
        let b_payload = a.len() + HEADER + 12;
        bytes[b_payload] ^= 0xff;
        let end = bytes.len() as u64;
        let (_dir, mut file) = file_with(&bytes);
        let mut offset = 0;
        let mut got = Vec::new();
        loop {
            match read_at(&mut file, offset, end).unwrap() {
                Entry::Record {
                    points,
                    lines,
                    next,
                    ..
                } => {
                    assert_eq!(line_ends(&lines).len(), points as usize);
                    got.push(("ok", points));
                    offset = next;
                }
                Entry::Damaged { points, next, .. } => {
                    got.push(("bad", points as u32));
                    offset = next;
                }
                Entry::End => break,
            }
        }
        assert_eq!(got, [("ok", 2), ("bad", 1), ("ok", 3)]);

        // A damaged header: reading resynchronises at c.
        let mut bytes = [a.clone(), b.clone(), c.clone()].concat();
        bytes[a.len() + 5] ^= 0xff;
        let (_dir, mut file) = file_with(&bytes);
        let Entry::Damaged {
            points: 0, next, ..
        } = read_at(&mut file, a.len() as u64, bytes.len() as u64).unwrap()
        else {
            panic!("damaged header");
        };
        assert_eq!(next, (a.len() + b.len()) as u64);

        // Cut mid-record (a crash during an append): the torn record's points counted.
        let cut = a.len() + b.len() + HEADER + 5;
        let (_dir, mut file) = file_with(&bytes[..cut]);
        let entry = read_at(&mut file, (a.len() + b.len()) as u64, cut as u64).unwrap();
        assert!(
            matches!(entry, Entry::Damaged { points: 3, .. }),
            "{entry:?}"
        );
    }

    /// Reads every entry of a file of `end` bytes: the entries' extents and outcomes.
    fn read_all(file: &mut std::fs::File, end: u64) -> Vec<(u64, u64, Option<Vec<u8>>)> {
        let mut offset = 0;
        let mut out = Vec::new();
        loop {
            let (next, lines) = match read_at(file, offset, end).unwrap() {
                Entry::Record { lines, next, .. } => (next, Some(lines)),
                Entry::Damaged { bytes, next, .. } => {
                    assert_eq!(bytes, next - offset, "a damaged stretch's size");
                    (next, None)
                }
                Entry::End => return out,
            };
            assert!(next > offset && next <= end, "{offset} -> {next} of {end}");
            out.push((offset, next, lines));
            offset = next;
        }
    }

    proptest::proptest! {
        #![proptest_config(proptest::prelude::ProptestConfig::with_cases(300))]

        /// Random damage to a segment (a cut, flipped bytes, junk in between, or
        /// nothing but junk): reading never panics or fails, every byte is either in a
        /// delivered record or in a counted damaged stretch, and what is delivered is
        /// exactly what was written, never invented.
        #[test]
        fn damaged_segments_never_panic_and_every_byte_is_accounted_for(
            records in proptest::collection::vec(proptest::collection::vec(b'a'..=b'z', 0..40), 0..8),
            cut in proptest::prelude::any::<proptest::sample::Index>(),
            flips in proptest::collection::vec((proptest::prelude::any::<proptest::sample::Index>(), 1u8..=255), 0..4),
            junk in proptest::collection::vec(proptest::prelude::any::<u8>(), 0..64),
            junk_at in proptest::prelude::any::<proptest::sample::Index>(),
        ) {
            let written: Vec<Vec<u8>> = records
                .iter()
                .map(|r| [r.as_slice(), b"\n"].concat())
                .collect();
            let mut bytes: Vec<u8> = written
                .iter()
                .flat_map(|lines| encode("influx_v1", Dialect::V1, 1, lines))
                .collect();
            let at = junk_at.index(bytes.len() + 1);
            bytes.splice(at..at, junk.iter().copied());
            for (i, x) in &flips {
                if !bytes.is_empty() {
                    let i = i.index(bytes.len());
                    bytes[i] ^= x;
                }
            }
            bytes.truncate(cut.index(bytes.len() + 1));
            let (_dir, mut file) = file_with(&bytes);
            let entries = read_all(&mut file, bytes.len() as u64);
            let covered: u64 = entries.iter().map(|(a, b, _)| b - a).sum();
            proptest::prop_assert_eq!(covered, bytes.len() as u64);
            for (_, _, lines) in entries {
                if let Some(lines) = lines {
                    proptest::prop_assert!(written.contains(&lines), "{:?}", lines);
                }
            }
        }
    }
}
