//! `zc bench --export report.html`: the whole report as one self-contained page that a
//! student can open without root, without Linux and without a network.
//!
//! Everything is inside the file: the styles in a `<style>` element, the chart as inline
//! SVG ([`super::chart`]), each mode's diagram as preformatted text (the same text
//! `zc explain` prints, from [`crate::explain`]). No script, no external font, stylesheet
//! or image: the page reads the same from a USB stick as from a web server. The order is
//! the order a student reads in: what the run shows, the chart, the measured tables with
//! the model beside them, where the bytes go in each mode, the warnings, and the setup the
//! figures were measured on (the provenance).
//!
//! The tables are the Markdown export's ([`crate::report::grid`]): same cells, same
//! fallback marks, same numbered `n/a` reasons. Every text from the report is escaped.

use crate::bench::results::Metric;
use crate::bench::send::analysis::summary;
use crate::bench::send::results::{BenchReport, Row, chunks, modes};
use crate::explain;
use crate::report::grid::metric_grid;
use crate::report::provenance::{setup_facts, shown_warnings};
use crate::text::count;
use crate::units::format_size;

use super::chart;
use super::terminal::{MODEL_TITLE, SWITCHES_LEGEND};

/// The width the diagrams are drawn at: `zc explain`'s own 80 columns.
const DIAGRAM_COLUMNS: usize = 80;

const STYLE: &str = "
body { font-family: system-ui, sans-serif; max-width: 72rem; margin: 2rem auto; padding: 0 1rem;
       color: #1a1a1a; line-height: 1.45; }
h1 { font-size: 1.6rem; } h2 { margin-top: 2.2rem; border-bottom: 1px solid #ccc; }
table { border-collapse: collapse; margin: 0.8rem 0; font-size: 0.9rem; }
th, td { border: 1px solid #bbb; padding: 0.25rem 0.5rem; vertical-align: top; }
th { background: #eef2f7; text-align: left; }
td.n { text-align: right; white-space: nowrap; font-variant-numeric: tabular-nums; }
td.src { font-size: 0.8rem; color: #555; }
.label { display: inline-block; padding: 0.1rem 0.4rem; border-radius: 0.2rem;
         font-size: 0.75rem; font-weight: bold; letter-spacing: 0.05em; }
.measured { background: #d9f2e3; color: #11522e; } .model { background: #fde9cf; color: #6b3d00; }
pre { background: #f6f6f6; border: 1px solid #ddd; padding: 0.8rem; overflow-x: auto;
      font-size: 0.8rem; line-height: 1.25; }
figure { margin: 1rem 0; } figure svg { max-width: 100%; height: auto; }
dt { font-weight: bold; } dd { margin: 0 0 0.4rem 1.5rem; }
";

/// The report as one HTML5 document (UTF-8).
pub fn render(report: &BenchReport) -> anyhow::Result<Vec<u8>> {
    let mut out = String::from(
        "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n\
         <title>zc bench results</title>\n",
    );
    out.push_str(&format!("<style>{STYLE}</style>\n</head>\n<body>\n"));
    out.push_str("<h1>zc bench: the same log sent to a TCP socket, measured</h1>\n");
    out.push_str(
        "<p>Figures labelled <span class=\"label measured\">MEASURED</span> were counted on \
         the machine described under <a href=\"#setup\">Setup</a>; figures labelled \
         <span class=\"label model\">MODEL</span> are the textbook's prediction, not \
         measured.</p>\n",
    );

    out.push_str(&heading("summary", "What this run shows", Some(true)));
    for paragraph in summary(report) {
        out.push_str(&format!("<p>{}</p>\n", escape(&paragraph)));
    }

    out.push_str(&heading("chart", "Chart", Some(true)));
    let svg = String::from_utf8(chart::render(report)?)?;
    out.push_str("<figure>\n");
    out.push_str(svg.trim_start_matches(|c| c != '<'));
    out.push_str(
        "\n<figcaption>Throughput and sender CPU per GiB, per mode and chunk size: medians, \
         whiskers from the fastest to the slowest run.</figcaption>\n</figure>\n",
    );

    out.push_str(&heading("measured", "Measured on this machine", Some(true)));
    out.push_str(&format!(
        "<p>Median of {}, min–max in brackets. {}</p>\n",
        count(report.setup.runs as usize, "run", "runs"),
        escape(SWITCHES_LEGEND)
    ));
    for chunk in chunks(&report.rows) {
        let at: Vec<&Row> = report.rows.iter().filter(|r| r.chunk == chunk).collect();
        out.push_str(&format!(
            "<h3>{} chunks</h3>\n",
            escape(&format_size(chunk as u64))
        ));
        out.push_str(&measured_table(&at));
    }

    out.push_str(&heading("model", MODEL_TITLE, Some(false)));
    out.push_str(&model_table(report));

    out.push_str(&heading(
        "paths",
        "Where the bytes go, mode by mode",
        Some(false),
    ));
    let shown = modes(&report.rows);
    let (legend, sections) = explain::plain_sections(&shown, DIAGRAM_COLUMNS);
    out.push_str(&format!("<pre>{}</pre>\n", escape(legend.trim_end())));
    for (mode, text) in shown.iter().zip(sections) {
        out.push_str(&format!(
            "<h3 id=\"mode-{mode}\">{mode}</h3>\n<pre>{}</pre>\n",
            escape(text.trim_end())
        ));
    }

    let warnings = shown_warnings(report);
    if !warnings.is_empty() {
        out.push_str(&heading("warnings", "Warnings", None));
        out.push_str("<ul>\n");
        for w in warnings {
            out.push_str(&format!(
                "<li><strong>warning:</strong> {}<br><strong>fix:</strong> {}</li>\n",
                escape(&w.message()),
                escape(&w.remedy())
            ));
        }
        out.push_str("</ul>\n");
    }

    out.push_str(&heading(
        "setup",
        "Setup (where these figures come from)",
        None,
    ));
    out.push_str("<dl>\n");
    for (name, fact) in setup_facts(report) {
        out.push_str(&format!(
            "<dt>{}</dt><dd>{}</dd>\n",
            escape(name),
            escape(&fact)
        ));
    }
    out.push_str("</dl>\n</body>\n</html>\n");
    Ok(out.into_bytes())
}

/// A section heading, labelled MEASURED (`Some(true)`), MODEL (`Some(false)`) or neither.
fn heading(id: &str, title: &str, measured: Option<bool>) -> String {
    let label = match measured {
        Some(true) => " <span class=\"label measured\">MEASURED</span>",
        Some(false) => " <span class=\"label model\">MODEL</span>",
        None => "",
    };
    format!("<h2 id=\"{id}\">{}{label}</h2>\n", escape(title))
}

/// One row per metric, one column per mode, then the sources; the `n/a` reasons beneath.
fn measured_table(at: &[&Row]) -> String {
    let columns: Vec<(String, &[Metric])> = at
        .iter()
        .map(|r| (r.mode.to_string(), &r.metrics[..]))
        .collect();
    let grid = metric_grid(&columns);
    let last = grid.header.len() - 1;
    let mut out = String::from("<table>\n<thead><tr>");
    for name in &grid.header {
        out.push_str(&format!("<th scope=\"col\">{}</th>", escape(name)));
    }
    out.push_str("</tr></thead>\n<tbody>\n");
    for row in &grid.rows {
        out.push_str("<tr>");
        for (i, cell) in row.iter().enumerate() {
            let class = match i {
                0 | 1 => "",
                i if i == last => " class=\"src\"",
                _ => " class=\"n\"",
            };
            out.push_str(&format!("<td{class}>{}</td>", escape(cell)));
        }
        out.push_str("</tr>\n");
    }
    out.push_str("</tbody>\n</table>\n");
    if !grid.reasons.is_empty() {
        out.push_str("<ul>\n");
        for (i, why) in grid.reasons.iter().enumerate() {
            out.push_str(&format!("<li>n/a [{}] {}</li>\n", i + 1, escape(why)));
        }
        out.push_str("</ul>\n");
    }
    out
}

/// The textbook model of every mode in the report, with its notes.
fn model_table(report: &BenchReport) -> String {
    let mut out = String::from(
        "<table>\n<thead><tr><th>mode</th><th>DMA copies</th><th>CPU copies</th>\
         <th>user&lt;-&gt;kernel mode switches</th><th>syscalls</th>\
         <th>user-space copies / byte</th><th>note</th></tr></thead>\n<tbody>\n",
    );
    for mode in modes(&report.rows) {
        let m = mode.model();
        out.push_str(&format!(
            "<tr><td>{mode}</td><td class=\"n\">{}</td><td class=\"n\">{}</td>\
             <td class=\"n\">{}</td><td class=\"n\">{}</td><td class=\"n\">{}</td>\
             <td>{}</td></tr>\n",
            m.dma_copies,
            m.cpu_copies,
            m.mode_switches,
            m.syscalls_per_chunk,
            m.user_copies_per_byte,
            escape(m.note)
        ));
    }
    out.push_str("</tbody>\n</table>\n");
    out
}

/// Text safe in HTML content and attribute values.
fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            c => out.push(c),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::bench::send::sample::sample_report;

    fn page() -> String {
        String::from_utf8(render(&sample_report()).expect("renders")).expect("utf-8")
    }

    #[test]
    fn one_self_contained_page_with_every_part() {
        let page = page();
        assert!(page.starts_with("<!DOCTYPE html>"), "{}", &page[..40]);
        assert!(page.trim_end().ends_with("</html>"));
        // Self-contained: nothing fetched, nothing run.
        for never in ["<script", "<link", "<img", "<iframe", "@import", "src=\""] {
            assert!(!page.contains(never), "{never}");
        }
        assert!(
            !page.contains("href=\"http"),
            "no link out is needed to read it"
        );
        // Each part, in reading order.
        let order = [
            "id=\"summary\"",
            "<svg",
            "id=\"measured\"",
            MODEL_TITLE,
            "id=\"paths\"",
            "id=\"setup\"",
        ];
        let at: Vec<usize> = order
            .iter()
            .map(|part| page.find(part).unwrap_or_else(|| panic!("no {part}")))
            .collect();
        assert!(at.windows(2).all(|w| w[0] < w[1]), "{at:?}");
        for mode in ["read-write", "mmap", "sendfile"] {
            assert!(page.contains(&format!("id=\"mode-{mode}\"")), "{mode}");
        }
        // The diagram is explain's, box-drawing characters and all, escaped.
        assert!(page.contains("USER SPACE (our program)"));
        assert!(page.contains("│"));
        assert!(page.contains("&lt;-&gt;"));
    }

    #[test]
    fn report_text_is_escaped() {
        assert_eq!(escape("a<b>&\"c\""), "a&lt;b&gt;&amp;&quot;c&quot;");
    }
}
