//! Reading back a `zc bench --export results.json` file, for `zc explain --results`.
//!
//! Only the part explain shows is read (which machine, which cache state, and per row the
//! mode, chunk and metrics), through a small read-only view of the layout that
//! `crate::report::json` writes; everything else in the file is ignored. A file that is not
//! such a result is refused with a message that names the problem and says how to make a
//! good one, before anything is printed.

use std::path::Path;

use clap::ValueEnum;
use serde::Deserialize;

use crate::bench::results::SCHEMA;
use crate::error::UsageError;
use crate::transfer::Mode;

/// A measured value or why there is none, as [`crate::measure::Reading`] serializes it.
#[derive(Clone, Debug, Deserialize)]
#[serde(untagged)]
pub enum Read<T> {
    Missing { unavailable: String },
    Value(T),
}

#[derive(Clone, Debug, Deserialize)]
pub struct Stat {
    pub median: f64,
    pub min: f64,
    pub max: f64,
    pub runs: usize,
}

#[derive(Clone, Debug, Deserialize)]
pub struct Metric {
    pub key: String,
    pub label: String,
    pub unit: String,
    pub source: String,
    pub value: Read<Stat>,
}

#[derive(Clone, Debug, Deserialize)]
struct RawRow {
    mode: String,
    chunk: usize,
    metrics: Vec<Metric>,
}

/// One measured row: a mode at a chunk size.
#[derive(Clone, Debug)]
pub struct Row {
    pub mode: Mode,
    pub chunk: usize,
    pub metrics: Vec<Metric>,
}

impl Row {
    pub fn metric(&self, key: &str) -> Option<&Metric> {
        self.metrics.iter().find(|m| m.key == key)
    }
}

#[derive(Clone, Debug, Deserialize)]
struct Environment {
    kernel_release: Read<String>,
    cpu_model: Read<String>,
    cpus_online: Read<usize>,
}

#[derive(Clone, Debug, Deserialize)]
struct Setup {
    zc_version: String,
    environment: Environment,
    cache: String,
    runs: u32,
    sink: String,
    congestion: String,
    consumers: u32,
}

#[derive(Clone, Debug, Deserialize)]
struct Raw {
    setup: Setup,
    rows: Vec<RawRow>,
}

/// What explain needs from a results file.
#[derive(Clone, Debug)]
pub struct Results {
    /// The file name, as the user gave it, to say where the figures come from.
    pub file: String,
    /// One line naming the machine and the conditions: CPU, kernel, cache, sink, runs.
    pub provenance: String,
    pub rows: Vec<Row>,
}

impl Results {
    /// The rows of `mode`, in file order (one per chunk size).
    pub fn rows_of(&self, mode: Mode) -> Vec<&Row> {
        self.rows.iter().filter(|r| r.mode == mode).collect()
    }
}

/// How to make a file this reads, appended to every complaint.
const HOW: &str = "make one with `zc bench --export results.json`";

/// Reads and checks `path`. Every failure is a [`UsageError`]: the argument names a file
/// that cannot be used, and the message says why and what to do.
pub fn load(path: &Path) -> Result<Results, UsageError> {
    let shown = path.display().to_string();
    let bad = |why: String| UsageError(format!("--results {shown}: {why}; {HOW}"));
    let text = std::fs::read_to_string(path).map_err(|e| bad(format!("cannot read it ({e})")))?;
    let value: serde_json::Value = serde_json::from_str(&text).map_err(|e| {
        let ext = path
            .extension()
            .map(|e| e.to_string_lossy().to_ascii_lowercase());
        let hint = match ext.as_deref() {
            Some("csv" | "md" | "markdown") => " (explain reads the .json export, not .csv or .md)",
            _ => "",
        };
        bad(format!("not valid JSON{hint}: {e}"))
    })?;
    if value.get("kind").and_then(|k| k.as_str()) == Some("write") {
        return Err(bad(
            "a `zc bench write` result (the write path); explain reads `zc bench` results, \
             the send path"
                .into(),
        ));
    }
    let schema = match value.get("schema") {
        None => {
            return Err(bad(
                "not a zc bench result: it has no \"schema\" field".into()
            ));
        }
        Some(s) => s.as_u64(),
    };
    if schema != Some(u64::from(SCHEMA)) {
        let found = value["schema"].to_string();
        let zc = value["setup"]["zc_version"]
            .as_str()
            .unwrap_or("an unknown zc");
        return Err(bad(format!(
            "written with results schema {found} (by zc {zc}), but this zc {} reads schema \
             {SCHEMA}: re-run the benchmark with this zc",
            env!("CARGO_PKG_VERSION")
        )));
    }
    let raw: Raw = serde_json::from_value(value).map_err(|e| {
        bad(format!(
            "a schema {SCHEMA} file with a missing or malformed field ({e})"
        ))
    })?;
    let mut rows = Vec::with_capacity(raw.rows.len());
    for row in raw.rows {
        let mode = Mode::from_str(&row.mode, false)
            .map_err(|_| bad(format!("unknown mode {:?} in rows", row.mode)))?;
        rows.push(Row {
            mode,
            chunk: row.chunk,
            metrics: row.metrics,
        });
    }
    if rows.is_empty() {
        return Err(bad(
            "it holds no measured rows (the benchmark stopped before its first round)".into(),
        ));
    }
    Ok(Results {
        file: shown,
        provenance: provenance(&raw.setup),
        rows,
    })
}

fn text<T: ToString>(r: &Read<T>) -> String {
    match r {
        Read::Value(v) => v.to_string(),
        Read::Missing { unavailable } => format!("n/a ({unavailable})"),
    }
}

fn provenance(s: &Setup) -> String {
    let cache = match s.cache.as_str() {
        "warm" => "warm cache (read from the page cache)",
        "cold" => "cold cache (read from storage)",
        other => other,
    };
    let fan_out = if s.consumers > 1 {
        format!(
            ", {} consumers at once (GiB/s is their total, CPU summed over the {} senders)",
            s.consumers, s.consumers
        )
    } else {
        String::new()
    };
    format!(
        "{} ({} CPUs), kernel {}, {}, {} sink, {} congestion control{fan_out}, median of {} \
         runs, zc {}",
        text(&s.environment.cpu_model),
        text(&s.environment.cpus_online),
        text(&s.environment.kernel_release),
        cache,
        s.sink,
        s.congestion,
        s.runs,
        s.zc_version
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::bench::sample::sample_report;
    use crate::report::json;

    fn write(text: &[u8], name: &str) -> (tempfile::TempDir, std::path::PathBuf) {
        let dir = tempfile::tempdir().expect("temp dir");
        let path = dir.path().join(name);
        std::fs::write(&path, text).expect("write");
        (dir, path)
    }

    #[test]
    fn reads_back_what_bench_exports() {
        let (_dir, path) = write(&json::render(&sample_report()), "r.json");
        let results = load(&path).expect("a real export loads");
        let modes: Vec<Mode> = results.rows.iter().map(|r| r.mode).collect();
        assert_eq!(modes, [Mode::ReadWrite, Mode::Mmap, Mode::Sendfile]);
        let row = &results.rows[0];
        assert!(matches!(
            row.metric("throughput").unwrap().value,
            Read::Value(_)
        ));
        assert!(matches!(
            row.metric("cycles_per_gib").unwrap().value,
            Read::Missing { .. }
        ));
        assert!(
            results.provenance.contains("warm cache"),
            "{}",
            results.provenance
        );
    }

    #[test]
    fn refuses_bad_files_naming_the_problem_and_the_fix() {
        let good = String::from_utf8(json::render(&sample_report())).unwrap();
        let cases = [
            ("r.json", "{not json".to_owned(), "not valid JSON"),
            ("r.csv", "mode,chunk\n".to_owned(), "not .csv or .md"),
            ("r.json", "{\"rows\": []}".to_owned(), "no \"schema\" field"),
            (
                "w.json",
                "{\"schema\": 1, \"kind\": \"write\", \"rows\": []}".to_owned(),
                "a `zc bench write` result",
            ),
            (
                "r.json",
                good.replace(&format!("\"schema\": {SCHEMA}"), "\"schema\": 99"),
                "schema 99",
            ),
            (
                "r.json",
                good.replace("\"rows\"", "\"lines\""),
                "missing or malformed",
            ),
            (
                "r.json",
                good.replace("\"mode\": \"mmap\"", "\"mode\": \"dma\""),
                "unknown mode \"dma\"",
            ),
        ];
        for (name, text, want) in cases {
            let (_dir, path) = write(text.as_bytes(), name);
            let err = load(&path).expect_err(want).to_string();
            assert!(err.contains(want), "want {want:?} in {err}");
            assert!(err.contains("zc bench --export"), "{err}");
        }
        let err = load(Path::new("/nonexistent/r.json"))
            .unwrap_err()
            .to_string();
        assert!(err.contains("cannot read it"), "{err}");
    }
}
