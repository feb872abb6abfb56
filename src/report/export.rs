//! `zc bench --export FILE` (and `zc bench write --export FILE`): picks the format from
//! the file's extension and writes the report so that the file is always whole.
//!
//! The runner calls [`write()`] after every round of runs, so a crash or a Ctrl-C late in a
//! long benchmark still leaves the rounds that finished (the habit comes from hyperfine's
//! exporters). That only helps if a write interrupted halfway cannot leave half a file in
//! place of the last good one, hence the classic atomic replace:
//!
//! ```text
//! write everything to .results.json.XXXXXX   (a temp file in the same directory)
//! rename(.results.json.XXXXXX, results.json) (atomic: readers see old or new, never half)
//! ```
//!
//! The temp file must be in the same directory: `rename(2)` is atomic only within one
//! filesystem. There is no `fsync`: this protects against the process dying, not against
//! power loss, and a flush to disk between rounds would add storage I/O next to the very
//! counters being measured.

use std::fmt;
use std::fs::Permissions;
use std::io::Write as _;
use std::os::unix::fs::PermissionsExt as _;
use std::path::Path;

use anyhow::Context as _;

/// An export format, chosen by extension.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Format {
    /// `.json`: the whole report, including every run (see [`super::json`]).
    Json,
    /// `.csv`: one line per figure, measured and model (see [`super::send::csv`]).
    Csv,
    /// `.md` or `.markdown`: tables to paste into docs (see [`super::send::markdown`]).
    Markdown,
    /// `.svg`: a bar chart of throughput and CPU per GiB (see [`super::send::chart`]).
    Svg,
    /// `.svg` whose name ends in `profile` or `flame` (`profile.svg`, `run-flame.svg`): a
    /// flame graph of the sampled call chains (see [`super::send::flame`]).
    FlameGraph,
    /// `.html` or `.htm`: one self-contained page, chart and diagrams included (see
    /// [`super::send::html`]).
    Html,
}

impl fmt::Display for Format {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Format::Json => "JSON",
            Format::Csv => "CSV",
            Format::Markdown => "Markdown",
            Format::Svg => "SVG chart",
            Format::FlameGraph => "flame graph",
            Format::Html => "HTML page",
        })
    }
}

const ACCEPTED: &str = ".json, .csv, .md, .markdown, .svg or .html";

/// The format for `path`, from its extension (any case). The error names what was found
/// and what is accepted, ready to show to the user.
pub fn format_for(path: &Path) -> Result<Format, String> {
    let Some(ext) = path.extension() else {
        return Err(format!(
            "{} has no extension, so the export format is unknown; use {ACCEPTED}",
            path.display()
        ));
    };
    match ext.to_string_lossy().to_ascii_lowercase().as_str() {
        "json" => Ok(Format::Json),
        "csv" => Ok(Format::Csv),
        "md" | "markdown" => Ok(Format::Markdown),
        "svg" if names_a_profile(path) => Ok(Format::FlameGraph),
        "svg" => Ok(Format::Svg),
        "html" | "htm" => Ok(Format::Html),
        _ => Err(format!(
            "cannot export to {}: unknown extension .{}; use {ACCEPTED}",
            path.display(),
            ext.to_string_lossy()
        )),
    }
}

/// `profile.svg`, `run1-profile.svg`, `flame.svg`, `FlameGraph.svg`: the name asks for
/// the call chains rather than the bar chart.
fn names_a_profile(path: &Path) -> bool {
    let stem = path
        .file_stem()
        .map(|s| s.to_string_lossy().to_ascii_lowercase())
        .unwrap_or_default();
    ["profile", "flame", "flamegraph"]
        .iter()
        .any(|end| stem.ends_with(end))
}

/// A result that can be exported: `zc bench`'s and `zc bench write`'s.
pub trait Exportable {
    /// The result in `format`, as the bytes of the file; an error for a format this kind
    /// of result has no rendering in.
    fn render(&self, format: Format) -> anyhow::Result<Vec<u8>>;
}

/// Writes `report` to `path` in the format its extension names, replacing any existing
/// file atomically (see the module docs).
pub fn write(report: &impl Exportable, path: &Path) -> anyhow::Result<()> {
    let format = format_for(path).map_err(anyhow::Error::msg)?;
    let bytes = report.render(format)?;
    let dir = match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p,
        _ => Path::new("."),
    };
    let name = path
        .file_name()
        .with_context(|| format!("{} names no file", path.display()))?;
    // 0o666 before the umask, like any file the user creates; tempfile's default 0o600
    // would make a results file unreadable to the rest of the class.
    let mut tmp = tempfile::Builder::new()
        .prefix(&format!(".{}.", name.to_string_lossy()))
        .permissions(Permissions::from_mode(0o666))
        .tempfile_in(dir)
        .with_context(|| format!("cannot create a temporary file in {}", dir.display()))?;
    tmp.write_all(&bytes).with_context(|| {
        format!(
            "cannot write {} results to {}",
            format,
            tmp.path().display()
        )
    })?;
    // On failure the temp file is dropped, which deletes it: nothing is left behind.
    tmp.persist(path).map_err(|e| e.error).with_context(|| {
        format!(
            "cannot replace {} with the new {format} results",
            path.display()
        )
    })?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::bench::send::sample::sample_report;

    #[test]
    fn format_follows_the_extension() {
        assert_eq!(format_for(Path::new("r.json")), Ok(Format::Json));
        assert_eq!(format_for(Path::new("dir/r.CSV")), Ok(Format::Csv));
        assert_eq!(format_for(Path::new("r.md")), Ok(Format::Markdown));
        assert_eq!(format_for(Path::new("r.markdown")), Ok(Format::Markdown));
        assert_eq!(format_for(Path::new("chart.SVG")), Ok(Format::Svg));
        assert_eq!(format_for(Path::new("profile.svg")), Ok(Format::FlameGraph));
        assert_eq!(
            format_for(Path::new("out/sendfile-flamegraph.SVG")),
            Ok(Format::FlameGraph)
        );
        assert_eq!(format_for(Path::new("profiles/chart.svg")), Ok(Format::Svg));
        let err = format_for(Path::new("r.txt")).unwrap_err();
        assert!(err.contains(".txt") && err.contains(ACCEPTED), "{err}");
        let err = format_for(Path::new("results")).unwrap_err();
        assert!(
            err.contains("no extension") && err.contains(ACCEPTED),
            "{err}"
        );
    }

    #[test]
    fn write_replaces_the_file_and_leaves_no_temp_file() {
        let dir = tempfile::tempdir().expect("temp dir");
        let path = dir.path().join("results.json");
        std::fs::write(&path, "old contents").expect("seed");
        write(&sample_report(), &path).expect("write");
        let written = std::fs::read(&path).expect("read back");
        assert_eq!(written, sample_report().render(Format::Json).unwrap());
        let names: Vec<_> = std::fs::read_dir(dir.path())
            .expect("list")
            .map(|e| e.expect("entry").file_name())
            .collect();
        assert_eq!(names, ["results.json"]);
    }

    #[test]
    fn write_refuses_an_unknown_extension_before_touching_anything() {
        let dir = tempfile::tempdir().expect("temp dir");
        let err = write(&sample_report(), &dir.path().join("results.txt")).unwrap_err();
        assert!(err.to_string().contains(".txt"), "{err}");
        assert_eq!(std::fs::read_dir(dir.path()).expect("list").count(), 0);
    }
}
