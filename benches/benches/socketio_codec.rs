//! Socket.IO codec throughput with criterion: our `socketio-proto` decoding to handler data (a
//! typed struct and `serde_json::Value`) and encoding, against `socketioxide-parser-common`
//! doing the same work and against the serde_json limit, one group per case and direction.
//!
//! The groups and contenders are defined once in `benches::sio_groups` and run here through
//! `iter_custom`; `socketio_ratios` runs the same contenders interleaved for paired ratios.
//!
//! Run: `cargo bench -p benches --bench socketio_codec -- --warm-up-time 1 --measurement-time 3`

use criterion::{criterion_group, criterion_main, Criterion, Throughput};

fn codec(c: &mut Criterion) {
    for mut group in benches::sio_groups::all() {
        let mut g = c.benchmark_group(group.name);
        let throughput: Vec<u64> = group
            .contenders
            .iter()
            .map(|(name, _)| group.throughput_of(name))
            .collect();
        for ((name, run), bytes) in group.contenders.iter_mut().zip(throughput) {
            g.throughput(Throughput::Bytes(bytes));
            g.bench_function(name.as_str(), |b| b.iter_custom(&mut *run));
        }
        g.finish();
    }
}

/// The criterion group; its generated `pub fn` cannot carry a doc comment.
#[allow(missing_docs)]
mod group {
    use super::*;

    criterion_group!(socketio, codec);
}
criterion_main!(group::socketio);
