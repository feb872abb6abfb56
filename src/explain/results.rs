//! Reading back a `zc bench --export results.json` file, for `zc explain --results`.
//!
//! The file is read into the very types `zc bench` wrote it from
//! ([`crate::bench::send::results`]); explain shows a part of it (which machine, which cache
//! state, and per row the mode, chunk and metrics). A file that is not such a result is
//! refused with a message that names the problem and says how to make a good one, before
//! anything is printed.

use std::path::Path;

use crate::bench::send::results::{BenchReport, CacheState, Row, SCHEMA, Setup};
use crate::error::UsageError;
use crate::report::provenance::reading_text;
use crate::transfer::Mode;

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
    let report: BenchReport = serde_json::from_value(value).map_err(|e| {
        bad(format!(
            "a schema {SCHEMA} file with a missing or malformed field ({e})"
        ))
    })?;
    if report.rows.is_empty() {
        return Err(bad(
            "it holds no measured rows (the benchmark stopped before its first round)".into(),
        ));
    }
    Ok(Results {
        file: shown,
        provenance: provenance(&report.setup),
        rows: report.rows,
    })
}

fn provenance(s: &Setup) -> String {
    let cache = match s.cache {
        CacheState::Warm => "warm cache (read from the page cache)",
        CacheState::Cold => "cold cache (read from storage)",
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
        reading_text(&s.environment.cpu_model),
        reading_text(&s.environment.cpus_online),
        reading_text(&s.environment.kernel_release),
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
    use crate::bench::send::sample::sample_report;
    use crate::measure::Reading;
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
            Reading::Value(_)
        ));
        assert!(matches!(
            row.metric("cycles_per_gib").unwrap().value,
            Reading::Unavailable(_)
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
