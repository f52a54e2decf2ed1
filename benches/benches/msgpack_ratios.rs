//! Paired ratios for the msgpack parser's groups (`benches::mp_groups`): ours against
//! socketioxide's msgpack parser and rmp_serde alone, then a summary against issue 18's target
//! (within 1.3x of rmp_serde, and faster than socketioxide, on every case).
//!
//! Run: `cargo bench -p benches --bench msgpack_ratios [-- ROUNDS] [FILTER]` (default 300
//! rounds of 2 ms batches per contender).

use benches::paired::{Measured, RunArgs};

/// Within this factor of rmp_serde alone.
const TARGET: f64 = 1.3;

fn main() {
    let args = RunArgs::from_env();

    let mut rows: Vec<[String; 7]> = Vec::new();
    println!("| group | contender | median |");
    println!("|---|---|---:|");
    for (name, results) in args.measure_groups(benches::mp_groups::all()) {
        for m in &results {
            println!("| {name} | {} | {:.1} ns |", m.name, m.median_ns);
        }
        let find = |name: &str| results.iter().find(|r| r.name == name);
        let r = |a: &str, b: &str| {
            find(a)
                .zip(find(b))
                .map(|(a, b): (&Measured, &Measured)| a.ratio_to(b))
        };
        let (op, case) = name.split_once('/').unwrap_or((name, ""));
        let (ours, limit, peer) = if op == "msgpack_decode" {
            (
                r("ours_typed", "limit"),
                r("socketioxide_typed", "ours_typed"),
                r("socketioxide_value", "ours_value"),
            )
        } else {
            (r("ours", "limit"), r("socketioxide", "ours"), None)
        };
        let met = match (ours, limit) {
            (Some(o), Some(p)) if o <= TARGET && p > 1.0 => "met",
            (Some(_), Some(_)) => "**missed**",
            _ => "-",
        };
        rows.push([
            op.trim_start_matches("msgpack_").to_owned(),
            case.to_owned(),
            fmt(ours),
            fmt(r("ours_typed", "limit_borrowed")),
            fmt(limit),
            fmt(peer),
            met.to_owned(),
        ]);
    }
    println!();
    println!(
        "| op | case | ours / rmp_serde (typed) | ours / rmp_serde borrowing binary | socketioxide / ours (typed) | socketioxide / ours (Value) | target ≤ {TARGET}x and faster |"
    );
    println!("|---|---|---:|---:|---:|---:|---:|");
    for row in rows {
        println!("| {} |", row.join(" | "));
    }
}

fn fmt(r: Option<f64>) -> String {
    r.map_or_else(|| "-".to_owned(), |r| format!("{r:.2}x"))
}
