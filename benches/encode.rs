//! Line-protocol encoding per line, ours against `influxdb-line-protocol`'s
//! `LineProtocolBuilder` and `influxdb2`'s `DataPoint`, all in one process; and a
//! 5,000-line batch encoded and gzipped at the default level.
//!
//! `cargo bench -p monitoring-benches --bench encode`

use std::hint::black_box;

use monitoring::line_protocol::{Dialect, Encoder};
use monitoring::Point;

#[global_allocator]
static ALLOC: divan::AllocProfiler = divan::AllocProfiler::system();

mod lines;
use lines::{
    batch_points, hostile_point, influxdb2_hostile, influxdb2_seed, line_protocol_builder_hostile,
    line_protocol_builder_seed, seed_point,
};

/// Our encoder on an existing point, into a reused buffer; bytes per line as throughput.
fn bench_ours(b: divan::Bencher, point: Point) {
    let mut enc = Encoder::new(Dialect::V2);
    let mut out = Vec::with_capacity(512);
    b.counter(divan::counter::BytesCount::new(
        enc.encode_to_string(&point).unwrap().len(),
    ))
    .bench_local(|| {
        out.clear();
        enc.encode(black_box(&point), &mut out);
        black_box(&out);
    });
}

/// A baseline encoder writing one line into a reused buffer.
fn bench_writer(b: divan::Bencher, write: fn(&mut Vec<u8>)) {
    let mut out = Vec::with_capacity(512);
    b.bench_local(|| {
        out.clear();
        write(&mut out);
        black_box(&out);
    });
}

mod seed_line {
    use super::*;

    #[divan::bench(sample_count = 300, sample_size = 1000)]
    fn ours_encode(b: divan::Bencher) {
        bench_ours(b, seed_point());
    }

    #[divan::bench(sample_count = 300, sample_size = 1000)]
    fn ours_build_and_encode(b: divan::Bencher) {
        let mut enc = Encoder::new(Dialect::V2);
        let mut out = Vec::with_capacity(512);
        b.bench_local(|| {
            out.clear();
            enc.encode(&seed_point(), &mut out);
            black_box(&out);
        });
    }

    #[divan::bench(sample_count = 300, sample_size = 1000)]
    fn line_protocol_builder(b: divan::Bencher) {
        bench_writer(b, line_protocol_builder_seed);
    }

    #[divan::bench(sample_count = 300, sample_size = 1000)]
    fn influxdb2_data_point(b: divan::Bencher) {
        bench_writer(b, influxdb2_seed);
    }
}

mod escape_heavy_line {
    use super::*;

    #[divan::bench(sample_count = 300, sample_size = 1000)]
    fn ours_encode(b: divan::Bencher) {
        bench_ours(b, hostile_point());
    }

    #[divan::bench(sample_count = 300, sample_size = 1000)]
    fn line_protocol_builder(b: divan::Bencher) {
        bench_writer(b, line_protocol_builder_hostile);
    }

    #[divan::bench(sample_count = 300, sample_size = 1000)]
    fn influxdb2_data_point(b: divan::Bencher) {
        bench_writer(b, influxdb2_hostile);
    }
}

/// 5,000 seed-shaped lines (distinct ids and times) encoded, then gzipped at level 1
/// (the default) and level 6; divide by 5,000 for the cost per line.
mod batch_5000 {
    use super::*;

    fn encode_all(enc: &mut Encoder, points: &[Point], out: &mut Vec<u8>) {
        out.clear();
        for p in points {
            enc.encode(p, out);
        }
    }

    #[divan::bench(sample_count = 30)]
    fn encode_only(b: divan::Bencher) {
        let points = batch_points();
        let mut enc = Encoder::new(Dialect::V2);
        let mut out = Vec::with_capacity(1 << 20);
        b.bench_local(|| encode_all(&mut enc, &points, &mut out));
    }

    #[divan::bench(sample_count = 30, args = [1, 6])]
    fn encode_and_gzip(b: divan::Bencher, level: u32) {
        let points = batch_points();
        let mut enc = Encoder::new(Dialect::V2);
        let mut out = Vec::with_capacity(1 << 20);
        encode_all(&mut enc, &points, &mut out);
        // The runtime's own compressor, kept between batches as the HTTP sinks keep it.
        let gzip = monitoring::__private::Gzip::new(level);
        let compressed = gzip.compress(&out).len();
        eprintln!(
            "batch_5000: {} bytes raw, {} gzipped at level {level} (ratio {:.1})",
            out.len(),
            compressed,
            out.len() as f64 / compressed as f64
        );
        b.bench_local(|| {
            encode_all(&mut enc, &points, &mut out);
            black_box(gzip.compress(&out));
        });
    }
}

fn main() {
    divan::main();
}
