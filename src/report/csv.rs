//! The long CSV layout of every export (`zc bench` names its lines by `mode,chunk`,
//! `zc bench write` by `way,batch`): one line per figure, measured or model, with its
//! unit, origin and source; numbers in full, an unavailable figure with empty numbers and
//! its reason in the last column, never a fake 0. See [`crate::report::send::csv`] for the
//! layout.
//!
//! Written by hand (RFC 4180 quoting is a few lines) rather than with the `csv` crate:
//! the writer is the only CSV code zc needs.

use std::fmt::Write as _;

use crate::bench::results::Metric;
use crate::measure::Reading;

/// The naming fields of a line (`mode,chunk` here, `way,batch` for `zc bench write`),
/// quoted where needed and joined.
pub(crate) fn names(fields: &[&str]) -> String {
    fields
        .iter()
        .map(|f| field(f))
        .collect::<Vec<_>>()
        .join(",")
}

/// One line per measured metric, each starting with `names`.
pub(crate) fn metric_lines(out: &mut String, names: &str, metrics: &[Metric]) {
    for m in metrics {
        // Every metric is measured; model figures are written as their own lines.
        let origin = "measured";
        let (numbers, reason) = match &m.value {
            Reading::Value(s) => (
                [
                    number(s.median),
                    number(s.min),
                    number(s.max),
                    s.runs.to_string(),
                ],
                "",
            ),
            Reading::Unavailable(why) => (Default::default(), why.as_str()),
        };
        line(
            out,
            names,
            &[&m.key, &m.label, &m.unit, origin, &m.source],
            &numbers,
            reason,
        );
    }
}

/// One textbook-model figure as a line with origin `model`: one exact figure, so median
/// = min = max, and no runs.
pub(crate) fn model_line(out: &mut String, names: &str, text: [&str; 4], value: &str) {
    let [key, label, unit, source] = text;
    let v = value.to_owned();
    line(
        out,
        names,
        &[key, label, unit, "model", source],
        &[v.clone(), v.clone(), v, String::new()],
        "",
    );
}

/// Appends one line: the names, the five descriptive fields, the four numbers, the reason.
fn line(out: &mut String, names: &str, text: &[&str; 5], numbers: &[String; 4], reason: &str) {
    let _ = write!(out, "{names}");
    for t in text {
        let _ = write!(out, ",{}", field(t));
    }
    for n in numbers {
        let _ = write!(out, ",{n}");
    }
    let _ = writeln!(out, ",{}", field(reason));
}

/// A finite number in full; empty for NaN or infinity, which spreadsheets cannot read.
fn number(x: f64) -> String {
    if x.is_finite() {
        x.to_string()
    } else {
        String::new()
    }
}

/// RFC 4180: a field containing a comma, a quote or a line break is quoted, with its quotes
/// doubled; any other field is written as is.
fn field(text: &str) -> String {
    if text.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", text.replace('"', "\"\""))
    } else {
        text.to_owned()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quotes_fields_that_need_it() {
        assert_eq!(field("plain"), "plain");
        assert_eq!(field("a,b"), "\"a,b\"");
        assert_eq!(field("say \"hi\""), "\"say \"\"hi\"\"\"");
        assert_eq!(field("two\nlines"), "\"two\nlines\"");
    }
}
