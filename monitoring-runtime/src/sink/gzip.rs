//! Gzip compression of request bodies, as the InfluxDB sinks send them.

use std::sync::Mutex;

/// A gzip compressor kept between batches: reset, not rebuilt, for each body (a new
/// one allocates and zeroes a few hundred KiB of window and hash tables, page faults
/// included, for every batch).
///
/// ```
/// let gzip = monitoring_runtime::__private::Gzip::new(1);
/// let body = gzip.compress(b"requests,route=GET:/a execution_time=0.25 1\n");
/// assert_eq!(&body[..2], &[0x1f, 0x8b]);
/// ```
pub struct Gzip {
    compress: Mutex<flate2::Compress>,
}

impl std::fmt::Debug for Gzip {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Gzip").finish_non_exhaustive()
    }
}

impl Gzip {
    /// A compressor at `level` (1 fastest .. 9 smallest).
    pub fn new(level: u32) -> Gzip {
        Gzip {
            compress: Mutex::new(flate2::Compress::new_gzip(
                flate2::Compression::new(level.clamp(1, 9)),
                15,
            )),
        }
    }

    /// `raw` as one gzip member.
    pub fn compress(&self, raw: &[u8]) -> Vec<u8> {
        let mut compress = self.compress.lock().unwrap_or_else(|e| e.into_inner());
        compress.reset();
        let mut out = Vec::with_capacity(raw.len() / 4 + 64);
        let mut input = raw;
        loop {
            let consumed = compress.total_in();
            let status = compress
                .compress_vec(input, &mut out, flate2::FlushCompress::Finish)
                .expect("deflating into memory cannot fail");
            input = &input[(compress.total_in() - consumed) as usize..];
            if status == flate2::Status::StreamEnd {
                return out;
            }
            // `compress_vec` writes only into spare capacity.
            out.reserve(out.capacity().max(4096));
        }
    }
}

#[cfg(test)]
mod tests {
    use std::io::Read;

    #[test]
    fn round_trips_and_is_reusable() {
        let gzip = super::Gzip::new(1);
        // Larger than the first output guess, incompressible enough to need more room.
        let big: Vec<u8> = (0..300_000u32)
            .map(|i| (i.wrapping_mul(2_654_435_761) >> 13) as u8)
            .collect();
        for raw in [&b""[..], b"a line\n", &big, b"again\n"] {
            let body = gzip.compress(raw);
            let mut back = Vec::new();
            flate2::read::GzDecoder::new(&body[..])
                .read_to_end(&mut back)
                .unwrap();
            assert_eq!(back, raw);
        }
    }
}
