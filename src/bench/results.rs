//! What both benchmarks return, figure by figure: plain data, no formatting. Every figure
//! is a [`Metric`]: a named value measured on this machine, with its unit, where it came
//! from (`source`) and whether a stand-in counter gave it ([`Fallback`]). Values that
//! could not be measured stay [`Reading::Unavailable`] with the reason, all the way to the
//! output. The reports of each benchmark are in `send::results` and `write::results`.

use serde::{Deserialize, Serialize};

use crate::measure::Reading;

/// Median, minimum and maximum of one figure over the measured runs.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub struct Stat {
    pub median: f64,
    pub min: f64,
    pub max: f64,
    pub runs: usize,
}

impl Stat {
    /// Summarises `values`; `None` when there are none.
    pub fn of(values: &[f64]) -> Option<Stat> {
        if values.is_empty() {
            return None;
        }
        let mut v = values.to_vec();
        v.sort_by(f64::total_cmp);
        let n = v.len();
        let median = if n % 2 == 1 {
            v[n / 2]
        } else {
            (v[n / 2 - 1] + v[n / 2]) / 2.0
        };
        Some(Stat {
            median,
            min: v[0],
            max: v[n - 1],
            runs: n,
        })
    }

    /// (max - min) / median: how much the runs disagreed.
    pub fn spread(&self) -> f64 {
        if self.median == 0.0 {
            0.0
        } else {
            (self.max - self.min) / self.median
        }
    }
}

/// A figure taken from a stand-in because the preferred kernel counter was unavailable.
/// Reports mark such a figure in its cell, so a table made without root is not mistaken
/// for perf figures; the metric's `source` says the same in words.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Fallback {
    /// getrusage(2) instead of a perf counter (CPU time, scheduler switches, faults).
    Rusage,
    /// zc's own count of its calls instead of the kernel's syscall tracepoints.
    OwnCount,
}

impl Fallback {
    /// The mark a report puts beside the figure.
    pub fn mark(self) -> &'static str {
        match self {
            Fallback::Rusage => "(rusage)",
            Fallback::OwnCount => "(own count)",
        }
    }
}

/// One figure of one row.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Metric {
    /// Stable machine name, one of `send::results::keys` (or `write::results::keys`);
    /// exports use it as the column name.
    pub key: String,
    /// Short human name, e.g. `syscalls / GiB`.
    pub label: String,
    pub unit: String,
    /// Where the numbers come from, e.g. `tracepoint raw_syscalls:sys_enter`.
    pub source: String,
    /// Set when the figure comes from a stand-in for the preferred counter. A figure
    /// that is self-counted by design (user-space copies: no kernel counter exists for
    /// them) is no fallback.
    pub fallback: Option<Fallback>,
    pub value: Reading<Stat>,
}

/// The metric `key` among `metrics`.
pub fn find<'a>(metrics: &'a [Metric], key: &str) -> Option<&'a Metric> {
    metrics.iter().find(|m| m.key == key)
}

/// `a / b` when both are measured, positive and finite; otherwise no ratio is stated.
pub fn ratio(a: Option<f64>, b: Option<f64>) -> Option<f64> {
    let (a, b) = (a?, b?);
    (a > 0.0 && b > 0.0 && a.is_finite() && b.is_finite()).then_some(a / b)
}

/// Ratios this close to 1 are stated as "about the same": runs vary by more than that,
/// and "1.0x fewer" would read as a finding when it is a tie.
pub const SAME_WITHIN: f64 = 0.05;

/// Each distinct item once, in the order first seen: the modes or chunk sizes (or, for
/// `zc bench write`, the ways) present in a report, in report order.
pub fn distinct<T: PartialEq>(items: impl IntoIterator<Item = T>) -> Vec<T> {
    let mut seen = Vec::new();
    for item in items {
        if !seen.contains(&item) {
            seen.push(item);
        }
    }
    seen
}

/// The probe's counter availability, with owned names so that a result can be read back.
pub fn counters(availability: Vec<(&'static str, Reading<()>)>) -> Vec<(String, Reading<()>)> {
    availability
        .into_iter()
        .map(|(name, r)| (name.to_owned(), r))
        .collect()
}
