//! The measured figures of a report as a grid of formatted cells, one row per metric and
//! one column per mode (or way), with where each figure came from and the reasons of the
//! `n/a` cells, numbered. The Markdown and HTML exports lay out the same grid, so a figure,
//! its fallback mark and its `n/a [k]` read the same in both.

use crate::bench::results::{Metric, find};
use crate::bench::send::results::keys;
use crate::measure::Reading;
use crate::report::table::{NOT_MEASURED, stat_inline};

/// A laid-out table: the header (`metric`, `unit`, one per column, `source`), one row of
/// cells per metric, and the distinct reasons of the `n/a [k]` cells, `k` from 1.
pub(crate) struct MetricGrid {
    pub header: Vec<String>,
    pub rows: Vec<Vec<String>>,
    pub reasons: Vec<String>,
}

/// One row per metric (in the order of the first column that has it), one column per
/// `(name, metrics)`, then the sources. `zc bench` names its columns by mode, `zc bench
/// write` by way.
pub(crate) fn metric_grid(columns: &[(String, &[Metric])]) -> MetricGrid {
    let mut keys: Vec<&str> = Vec::new();
    for (_, metrics) in columns {
        for m in metrics.iter() {
            if !keys.contains(&m.key.as_str()) {
                keys.push(&m.key);
            }
        }
    }
    let mut header = vec!["metric".to_owned(), "unit".to_owned()];
    header.extend(columns.iter().map(|(name, _)| name.clone()));
    header.push("source".to_owned());

    let mut reasons: Vec<String> = Vec::new();
    let mut rows = Vec::new();
    for key in keys {
        let first = columns
            .iter()
            .find_map(|(_, metrics)| find(metrics, key))
            .expect("key from a column");
        let mut row = vec![
            first.label.to_owned(),
            display_unit(key, &first.unit).to_owned(),
        ];
        let mut sources: Vec<&str> = Vec::new();
        for (_, metrics) in columns {
            let text = match find(metrics, key) {
                Some(m) => {
                    if !sources.contains(&m.source.as_str()) {
                        sources.push(&m.source);
                    }
                    match &m.value {
                        Reading::Value(stat) => {
                            let text = stat_inline(key, stat);
                            // As in the terminal: a fallback figure is not a perf figure.
                            match m.fallback {
                                Some(fallback) => format!("{text} {}", fallback.mark()),
                                None => text,
                            }
                        }
                        Reading::Unavailable(why) => na(&mut reasons, why),
                    }
                }
                None => na(&mut reasons, NOT_MEASURED),
            };
            row.push(text);
        }
        row.push(sources.join("; "));
        rows.push(row);
    }
    MetricGrid {
        header,
        rows,
        reasons,
    }
}

/// The unit of the cells as [`stat_inline`] formats them: those that carry their own unit
/// (`4.2 MiB`, `100%`) say what the figure is per.
fn display_unit<'a>(key: &str, unit: &'a str) -> &'a str {
    match key {
        keys::STORAGE_READ_BYTES => "per run",
        keys::RESIDENCY_BEFORE => "% of the fixture",
        _ => unit,
    }
}

/// `n/a [k]`, numbering each distinct reason once.
fn na(reasons: &mut Vec<String>, why: &str) -> String {
    let k = match reasons.iter().position(|r| r == why) {
        Some(i) => i + 1,
        None => {
            reasons.push(why.to_owned());
            reasons.len()
        }
    };
    format!("n/a [{k}]")
}
