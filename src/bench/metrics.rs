//! From raw runs to figures, for both benchmarks: a [`Spec`] says how to compute one
//! metric from each run of a row; [`build`] summarises it over the runs. Each benchmark
//! lists its own specs (`send::metrics`, `write::metrics`).

use super::results::{Fallback, Metric, Stat};
use crate::measure::{Reading, Sample};

/// One per-run figure: a value, or why it is missing. Generic over the kind of run, so
/// `zc bench write` (`super::write`) derives its figures the same way.
pub(crate) type PerRun<R> = Box<dyn Fn(&R) -> Reading<f64>>;

/// How to compute one metric from each run of a row.
pub(crate) struct Spec<R> {
    pub key: &'static str,
    pub label: &'static str,
    pub unit: &'static str,
    pub source: String,
    /// Set when `source` is a stand-in for the preferred counter.
    pub fallback: Option<Fallback>,
    pub per_run: PerRun<R>,
}

/// Each spec summarised over `runs`: median, min and max, or why it is unavailable.
pub(crate) fn build<R>(runs: &[R], specs: Vec<Spec<R>>) -> Vec<Metric> {
    specs
        .into_iter()
        .map(|s| Metric {
            key: s.key.to_owned(),
            label: s.label.to_owned(),
            unit: s.unit.to_owned(),
            source: s.source,
            fallback: s.fallback,
            value: summarise(runs, &s.per_run),
        })
        .collect()
}

fn summarise<R>(runs: &[R], per_run: &PerRun<R>) -> Reading<Stat> {
    let mut values = Vec::with_capacity(runs.len());
    for run in runs {
        match per_run(run) {
            Reading::Value(v) => values.push(v),
            Reading::Unavailable(why) => return Reading::Unavailable(why),
        }
    }
    match Stat::of(&values) {
        Some(stat) => Reading::Value(stat),
        None => Reading::unavailable("no measured runs yet"),
    }
}

/// Whether every run has the preferred reading; decides the source for the whole row so
/// that one row never mixes two sources.
pub(crate) fn all_have<R, T>(runs: &[R], get: impl Fn(&R) -> Reading<T>) -> bool {
    !runs.is_empty() && runs.iter().all(|r| get(r).value().is_some())
}

/// `fallback` when the preferred counter (`preferred`, from [`all_have`]) was not had.
pub(crate) fn unless(preferred: bool, fallback: Fallback) -> Option<Fallback> {
    (!preferred).then_some(fallback)
}

/// Said when perf's context-switch count is refused and getrusage stands in for it.
pub(crate) const SCHED_SWITCHES_FALLBACK: &str =
    "getrusage voluntary + involuntary switches (perf context-switches unavailable)";

/// Scheduler switches of a run's sample: perf's count when the row has it (`perf`, from
/// [`all_have`]), else getrusage's voluntary + involuntary ([`SCHED_SWITCHES_FALLBACK`]).
pub(crate) fn sched_switches(sample: &Sample, perf: bool) -> Reading<u64> {
    if perf {
        sample.sched_switches.clone()
    } else {
        let ru = &sample.rusage;
        Reading::Value(ru.voluntary_sched_switches + ru.involuntary_sched_switches)
    }
}
