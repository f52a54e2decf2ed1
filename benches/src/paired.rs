//! Paired, interleaved timing: robust ratios on a shared, noisy machine.
//!
//! Criterion measures one function for seconds, then the next. On a 2-core machine shared with
//! compiles, the background load changes between those windows, and the same function's median
//! moved by up to 2x from one run to the next, so ratios of two criterion medians are not
//! trustworthy. Here every round times one short batch of each contender back to back (in a
//! rotating order), so the contenders of a round see the same load; the ratio of two contenders
//! is the median over rounds of their per-round ratio.

use std::hint::black_box;
use std::time::{Duration, Instant};

/// The command line of a paired-ratio bench target: `[-- ROUNDS] [FILTER]`.
#[derive(Debug, Clone)]
pub struct RunArgs {
    /// Rounds per contender (default 300; 2 in a smoke run).
    pub rounds: usize,
    /// The batch each contender runs per round (2 ms; 50 µs in a smoke run).
    pub batch: Duration,
    /// Only the groups whose name contains this (empty: all).
    pub filter: String,
}

impl RunArgs {
    /// Reads the process's arguments. `cargo bench` passes `--bench`; without it
    /// (`cargo test --benches`) the run is a quick smoke run. A bare number is the round count;
    /// another bare word filters the groups by name.
    pub fn from_env() -> Self {
        let args: Vec<String> = std::env::args().skip(1).collect();
        let benching = args.iter().any(|a| a == "--bench");
        RunArgs {
            rounds: args
                .iter()
                .find_map(|a| a.parse().ok())
                .unwrap_or(if benching { 300 } else { 2 }),
            batch: Duration::from_micros(if benching { 2000 } else { 50 }),
            filter: args
                .iter()
                .find(|a| !a.starts_with('-') && a.parse::<usize>().is_err())
                .cloned()
                .unwrap_or_default(),
        }
    }
}

impl RunArgs {
    /// Measures each of `groups` the filter selects, in order, with these rounds and batch.
    pub fn measure_groups(
        &self,
        groups: Vec<crate::groups::Group>,
    ) -> Vec<(&'static str, Vec<Measured>)> {
        groups
            .into_iter()
            .filter(|g| g.name.contains(self.filter.as_str()))
            .map(|mut g| (g.name, measure(&mut g.contenders, self.rounds, self.batch)))
            .collect()
    }
}

/// One contender: given an iteration count, runs that many iterations and returns the time
/// they took (so it can leave setup, such as cloning owned inputs, out of the timed part).
pub type Contender<'a> = (String, Box<dyn FnMut(u64) -> Duration + 'a>);

/// Times `n` calls of `f`, black-boxing each result and dropping it inside the timed part.
pub fn timed<R>(n: u64, mut f: impl FnMut() -> R) -> Duration {
    let start = Instant::now();
    for _ in 0..n {
        black_box(f());
    }
    start.elapsed()
}

/// Builds `n` inputs with `setup` (untimed), then times `routine` on each of them.
pub fn timed_batched<I, R>(
    n: u64,
    mut setup: impl FnMut() -> I,
    mut routine: impl FnMut(I) -> R,
) -> Duration {
    let inputs: Vec<I> = (0..n).map(|_| setup()).collect();
    let start = Instant::now();
    for input in inputs {
        black_box(routine(input));
    }
    start.elapsed()
}

/// The result for one contender.
#[derive(Debug, Clone)]
pub struct Measured {
    /// The contender's name.
    pub name: String,
    /// Median time of one iteration over the rounds, in nanoseconds.
    pub median_ns: f64,
    /// Per-round time of one iteration, in nanoseconds.
    pub rounds_ns: Vec<f64>,
}

impl Measured {
    /// Median over rounds of `self / other`, both timed in the same round.
    pub fn ratio_to(&self, other: &Measured) -> f64 {
        median(
            self.rounds_ns
                .iter()
                .zip(&other.rounds_ns)
                .map(|(a, b)| a / b)
                .collect(),
        )
    }
}

/// Median of `values` (the mean of the two middle ones for an even count); NaN when empty.
pub fn median(mut values: Vec<f64>) -> f64 {
    if values.is_empty() {
        return f64::NAN;
    }
    values.sort_by(f64::total_cmp);
    let mid = values.len() / 2;
    if values.len() % 2 == 1 {
        values[mid]
    } else {
        (values[mid - 1] + values[mid]) / 2.0
    }
}

/// Measures `contenders` over `rounds` rounds of batches of about `batch` each.
///
/// Each contender's iteration count per batch is calibrated first (with a warm-up of the same
/// length), so that a fast and a slow contender both run for about `batch` per round.
pub fn measure(contenders: &mut [Contender<'_>], rounds: usize, batch: Duration) -> Vec<Measured> {
    let iters: Vec<u64> = contenders
        .iter_mut()
        .map(|(_, run)| calibrate(run, batch))
        .collect();
    let mut rounds_ns = vec![Vec::with_capacity(rounds); contenders.len()];
    let k = contenders.len();
    for round in 0..rounds {
        for j in 0..k {
            // Rotate who goes first, so no contender always runs right after the same one.
            let i = (round + j) % k;
            let elapsed = (contenders[i].1)(iters[i]);
            rounds_ns[i].push(elapsed.as_nanos() as f64 / iters[i] as f64);
        }
    }
    contenders
        .iter()
        .zip(rounds_ns)
        .map(|((name, _), rounds_ns)| Measured {
            name: name.clone(),
            median_ns: median(rounds_ns.clone()),
            rounds_ns,
        })
        .collect()
}

/// Doubles the iteration count until one batch takes at least `batch`.
fn calibrate(run: &mut Box<dyn FnMut(u64) -> Duration + '_>, batch: Duration) -> u64 {
    let mut n = 1u64;
    loop {
        let elapsed = run(n);
        if elapsed >= batch || n >= 1 << 40 {
            // Scale to the target from the last measurement.
            let per_iter = elapsed.as_nanos().max(1) as f64 / n as f64;
            return ((batch.as_nanos() as f64 / per_iter).ceil() as u64).max(1);
        }
        n *= 2;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn median_of_odd_and_even_counts() {
        assert_eq!(median(vec![3.0, 1.0, 2.0]), 2.0);
        assert_eq!(median(vec![4.0, 1.0, 3.0, 2.0]), 2.5);
        assert!(median(Vec::new()).is_nan());
    }

    #[test]
    fn paired_ratio_of_a_contender_twice_as_slow() {
        // Simulated clocks: `slow` always reports twice `fast`, whatever the round.
        let mut contenders: Vec<Contender<'_>> = vec![
            ("fast".into(), Box::new(|n| Duration::from_micros(10 * n))),
            ("slow".into(), Box::new(|n| Duration::from_micros(20 * n))),
        ];
        let m = measure(&mut contenders, 5, Duration::from_millis(1));
        assert_eq!(m[0].name, "fast");
        assert_eq!(m[1].ratio_to(&m[0]), 2.0);
        assert_eq!(m[0].median_ns, 10_000.0);
    }
}
