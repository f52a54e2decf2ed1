//! Paired ratios for WebSocket framing (`benches::ws_groups`): engineio-proto's codec against
//! tungstenite's, reading client frames and writing server frames.
//!
//! Run: `cargo bench -p benches --bench websocket_ratios [-- ROUNDS] [FILTER]` (default 300
//! rounds of 2 ms batches per contender).

use benches::paired::RunArgs;

fn main() {
    let args = RunArgs::from_env();
    let mut rows = Vec::new();
    println!("| group | contender | median |");
    println!("|---|---|---:|");
    for (name, results) in args.measure_groups(benches::ws_groups::all()) {
        for m in &results {
            println!("| {name} | {} | {:.1} ns |", m.name, m.median_ns);
        }
        if let [ours, theirs] = &results[..] {
            rows.push((name, theirs.ratio_to(ours)));
        }
    }
    println!();
    println!("| group | tungstenite / ours (time; above 1: ours is faster) |");
    println!("|---|---:|");
    for (name, r) in rows {
        println!("| {name} | {r:.2}x |");
    }
}
