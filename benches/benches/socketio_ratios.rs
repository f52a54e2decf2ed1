//! Paired ratios for the Socket.IO codec groups: every contender of a group timed in
//! interleaved short batches, so ratios hold on a shared, noisy machine (see
//! `benches::paired`). Prints one Markdown table per group, then a summary against issue 17's
//! targets: decode to handler data within 1.1x of serde_json's own `from_slice` into the same
//! types (typed and `Value`) and at least 1.3x faster than socketioxide; encode within 1.5x of
//! `serde_json::to_vec`; and the JSON syntax check of received packets against serde_json's.
//!
//! Run: `cargo bench -p benches --bench socketio_ratios [-- ROUNDS] [FILTER]` (default 300
//! rounds of 2 ms batches per contender; only the groups whose name contains FILTER, such as
//! `encode` or `event_64k`).

use benches::paired::{Measured, RunArgs};

/// Decode within this factor of serde_json alone building the same data.
const DECODE_TARGET: f64 = 1.1;
/// socketioxide's decode takes at least this factor of ours.
const PEER_TARGET: f64 = 1.3;
/// Encode within this factor of `serde_json::to_vec`.
const ENCODE_TARGET: f64 = 1.5;

fn main() {
    let args = RunArgs::from_env();

    let mut decode_rows: Vec<[String; 13]> = Vec::new();
    let mut encode_rows: Vec<[String; 5]> = Vec::new();
    let mut validate_rows: Vec<[String; 2]> = Vec::new();
    println!("| group | contender | median | time / limit | socketioxide time / this |");
    println!("|---|---|---:|---:|---:|");
    for (name, results) in args.measure_groups(benches::sio_groups::all()) {
        let find = |name: &str| results.iter().find(|r| r.name == name);
        for m in &results {
            let peer = m
                .name
                .strip_prefix("ours")
                .map(|rest| format!("socketioxide{rest}"));
            println!(
                "| {} | {} | {} | {} | {} |",
                name,
                m.name,
                time(m.median_ns),
                ratio(Some(m), find("limit")),
                ratio(peer.as_deref().and_then(find), Some(m)),
            );
        }
        let r = |a: &str, b: &str| find(a).zip(find(b)).map(|(a, b)| a.ratio_to(b));
        let case = name.split_once('/').map_or(name, |(_, c)| c);
        if name.starts_with("socketio_decode") {
            decode_rows.push([
                case.to_owned(),
                fmt(r("ours_typed", "limit")),
                fmt(r("ours_value", "limit")),
                format!(
                    "{}, {}",
                    met(r("ours_typed", "serde_typed"), DECODE_TARGET),
                    met(r("ours_value", "serde_value"), DECODE_TARGET)
                ),
                fmt(r("socketioxide_typed", "limit")),
                fmt(r("socketioxide_value", "limit")),
                fmt(r("socketioxide_typed", "ours_typed")),
                fmt(r("socketioxide_value", "ours_value")),
                fmt(r("serde_typed", "limit")),
                fmt(r("serde_value", "limit")),
                fmt(r("ours_typed", "serde_typed")),
                fmt(r("ours_value", "serde_value")),
                format!(
                    "{}, {}",
                    met_at_least(r("socketioxide_typed", "ours_typed"), PEER_TARGET),
                    met_at_least(r("socketioxide_value", "ours_value"), PEER_TARGET)
                ),
            ]);
        } else if name.starts_with("socketio_validate") {
            validate_rows.push([case.to_owned(), fmt(r("ours", "serde_json"))]);
        } else {
            encode_rows.push([
                case.to_owned(),
                fmt(r("ours", "limit")),
                met(r("ours", "limit"), ENCODE_TARGET).to_owned(),
                fmt(r("socketioxide", "limit")),
                fmt(r("socketioxide", "ours")),
            ]);
        }
    }

    println!();
    table(
        &[
            "decode case",
            "ours typed / limit",
            "ours Value / limit",
            "socketioxide typed / limit",
            "socketioxide Value / limit",
            "socketioxide / ours (typed)",
            "socketioxide / ours (Value)",
            &format!("target ≥ {PEER_TARGET}x (typed, Value)"),
        ],
        decode_rows.iter().map(|row| {
            [
                &row[0], &row[1], &row[2], &row[4], &row[5], &row[6], &row[7], &row[12],
            ]
        }),
    );
    println!();
    table(
        &[
            "decode case",
            "serde_json typed / limit",
            "serde_json Value / limit",
            "ours typed / serde_json typed",
            "ours Value / serde_json Value",
            &format!("target ≤ {DECODE_TARGET}x (typed, Value)"),
        ],
        decode_rows
            .iter()
            .map(|row| [&row[0], &row[8], &row[9], &row[10], &row[11], &row[3]]),
    );
    println!();
    table(
        &[
            "encode case",
            "ours / to_vec",
            &format!("target ≤ {ENCODE_TARGET}x"),
            "socketioxide / to_vec",
            "socketioxide / ours",
        ],
        encode_rows.iter(),
    );
    println!();
    table(
        &["syntax check case", "ours / serde_json IgnoredAny"],
        validate_rows.iter(),
    );
}

/// Prints a Markdown table; every column but the first is right-aligned.
fn table<R, S>(head: &[&str], rows: impl Iterator<Item = R>)
where
    R: IntoIterator<Item = S>,
    S: AsRef<str>,
{
    println!("| {} |", head.join(" | "));
    let align: Vec<&str> = (0..head.len())
        .map(|i| if i == 0 { "---" } else { "---:" })
        .collect();
    println!("|{}|", align.join("|"));
    for row in rows {
        let cells: Vec<String> = row.into_iter().map(|c| c.as_ref().to_owned()).collect();
        println!("| {} |", cells.join(" | "));
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

fn fmt(r: Option<f64>) -> String {
    r.map_or_else(|| "-".to_owned(), |r| format!("{r:.2}x"))
}

fn met_at_least(r: Option<f64>, target: f64) -> &'static str {
    match r {
        Some(r) if r >= target => "met",
        Some(_) => "**missed**",
        None => "-",
    }
}

fn met(r: Option<f64>, target: f64) -> &'static str {
    match r {
        Some(r) if r <= target => "met",
        Some(_) => "**missed**",
        None => "-",
    }
}
