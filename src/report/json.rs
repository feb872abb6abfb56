//! `zc bench --export results.json`: the whole [`BenchReport`] as pretty-printed JSON.
//!
//! This is the complete record: every metric of every row with its unit, origin
//! (measured or model) and source, every run's raw sample, the warnings and the setup
//! (provenance). The other formats are views of it; this one is what `zc explain` and
//! scripts read back. Unavailable figures serialize as `{"unavailable": "<reason>"}`,
//! never as a fake 0. `schema` says which version of this layout a file uses.

use crate::bench::send::results::BenchReport;

/// Pretty JSON of `report`, newline-terminated (a text file ends with a newline).
pub fn render(report: &BenchReport) -> Vec<u8> {
    render_any(report)
}

/// Any serializable report (`zc bench write`'s too) as pretty JSON with a final newline.
pub fn render_any(report: &impl serde::Serialize) -> Vec<u8> {
    // serde_json fails only on maps with non-string keys or on a Serialize impl that
    // reports an error; the reports have neither (their maps are keyed by counter names),
    // so a failure here is a bug in the result types, not a condition to handle.
    let mut out =
        serde_json::to_vec_pretty(report).expect("reports serialize: all map keys are strings");
    out.push(b'\n');
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::bench::send::sample::{NO_PMU, sample_report};

    #[test]
    fn parses_back_with_schema_modes_and_reasons() {
        let bytes = render(&sample_report());
        assert_eq!(bytes.last(), Some(&b'\n'));
        let text = String::from_utf8(bytes).expect("utf-8");
        assert!(text.contains("\"schema\": 3"), "{text}");
        let value: serde_json::Value = serde_json::from_str(&text).expect("valid JSON");
        let modes: Vec<&str> = value["rows"]
            .as_array()
            .expect("rows")
            .iter()
            .map(|r| r["mode"].as_str().expect("mode"))
            .collect();
        assert_eq!(modes, ["read-write", "mmap", "sendfile"]);
        let cycles = value["rows"][0]["metrics"]
            .as_array()
            .expect("metrics")
            .iter()
            .find(|m| m["key"] == "cycles_per_gib")
            .expect("cycles metric");
        assert_eq!(cycles["value"]["unavailable"], NO_PMU);
        assert_eq!(value["rows"][0]["model"]["dma_copies"], 2);
        assert_eq!(value["warnings"][0]["kind"], "counter_unavailable");
        assert_eq!(value["warnings"][1]["kind"], "storage_reads");
    }
}
