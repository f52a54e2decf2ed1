//! Paired ratios for the Engine.IO codec groups: every contender of a group timed in
//! interleaved short batches, so ratios hold on a shared, noisy machine (see
//! `benches::paired`). Prints a Markdown table.
//!
//! Run: `cargo bench -p benches --bench engineio_ratios [-- ROUNDS]` (default 300 rounds of
//! 2 ms batches per contender).

use benches::paired::{measure, Measured, RunArgs};

fn main() {
    let RunArgs { rounds, batch, .. } = RunArgs::from_env();
    println!("| group | contender | median | time / bare limit | engineioxide-core time / this |");
    println!("|---|---|---:|---:|---:|");
    for mut group in benches::groups::all() {
        let results = measure(&mut group.contenders, rounds, batch);
        for m in &results {
            let prefix = m.name.rsplit_once('/').map_or("", |(p, _)| p);
            let peer = |suffix: &str| {
                let full = if prefix.is_empty() {
                    suffix.to_owned()
                } else {
                    format!("{prefix}/{suffix}")
                };
                results.iter().find(|r| r.name == full)
            };
            println!(
                "| {} | {} | {} | {} | {} |",
                group.name,
                m.name,
                time(m.median_ns),
                ratio(Some(m), peer("bare_limit")),
                ratio(peer("engineioxide_core"), Some(m)),
            );
        }
    }
}

fn time(ns: f64) -> String {
    if ns >= 1000.0 {
        format!("{:.2} µs", ns / 1000.0)
    } else {
        format!("{ns:.1} ns")
    }
}

/// `a / b` paired over rounds, or `-` when either is missing or they are the same contender.
fn ratio(a: Option<&Measured>, b: Option<&Measured>) -> String {
    match (a, b) {
        (Some(a), Some(b)) if a.name != b.name => format!("{:.2}x", a.ratio_to(b)),
        _ => "-".to_owned(),
    }
}
