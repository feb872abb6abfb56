//! `zc bench --export chart.svg`: two bar charts side by side, throughput and sender CPU
//! seconds per GiB, one group of bars per mode and one bar per chunk size, each with its
//! min–max range as a whisker. The title names the machine and the conditions (CPU, kernel,
//! cache state, sink, runs), because a chart passed around without them means nothing.
//!
//! Drawn with plotters' SVG backend (no font or bitmap features: the SVG holds `<text>`
//! elements and the viewer renders them). Only measured medians are drawn; a figure that
//! was not measured gets an `n/a` label where its bar would be, never a zero-height bar.

use plotters::prelude::*;

use crate::bench::send::results::{BenchReport, CacheState, Row, chunks, keys, modes};
use crate::measure::Reading;
use crate::report::table::format_value;
use crate::units::format_size;

const WIDTH: u32 = 1100;
const HEIGHT: u32 = 620;

/// One colour per chunk size (colour-blind-safe Okabe–Ito order).
const COLOURS: [RGBColor; 6] = [
    RGBColor(0, 114, 178),
    RGBColor(230, 159, 0),
    RGBColor(0, 158, 115),
    RGBColor(204, 121, 167),
    RGBColor(86, 180, 233),
    RGBColor(213, 94, 0),
];

/// The two panels: the metric key, the axis title.
const PANELS: [(&str, &str); 2] = [
    (keys::THROUGHPUT, "throughput, GiB/s (higher is better)"),
    (
        keys::SENDER_CPU_PER_GIB,
        "sender CPU seconds per GiB (lower is better)",
    ),
];

/// The chart as the bytes of an SVG file.
pub fn render(report: &BenchReport) -> anyhow::Result<Vec<u8>> {
    let mut svg = String::new();
    draw(report, &mut svg).map_err(|e| anyhow::anyhow!("cannot draw the chart: {e}"))?;
    svg.push('\n');
    Ok(svg.into_bytes())
}

type Failure = Box<dyn std::error::Error>;

fn draw(report: &BenchReport, svg: &mut String) -> Result<(), Failure> {
    let root = SVGBackend::with_string(svg, (WIDTH, HEIGHT)).into_drawing_area();
    root.fill(&WHITE)?;
    let (title, body) = root.split_vertically(78);
    title.draw_text(
        "zc bench: the same log sent to a TCP socket four ways (MEASURED, median; whiskers: min–max)",
        &("sans-serif", 20).into_font().color(&BLACK),
        (12, 8),
    )?;
    for (i, line) in provenance(report).iter().enumerate() {
        title.draw_text(
            line,
            &("sans-serif", 14).into_font().color(&RGBColor(60, 60, 60)),
            (12, 36 + 18 * i as i32),
        )?;
    }
    let (left, right) = body.split_horizontally(WIDTH / 2);
    for (area, (key, axis)) in [left, right].iter().zip(PANELS) {
        panel(area, report, key, axis)?;
    }
    root.present()?;
    Ok(())
}

/// Two lines naming the machine and how it was measured.
pub(super) fn provenance(report: &BenchReport) -> [String; 2] {
    let s = &report.setup;
    let env = &s.environment;
    let text = |r: &Reading<String>| match r {
        Reading::Value(v) => v.clone(),
        Reading::Unavailable(why) => format!("n/a ({why})"),
    };
    let cache = match s.cache {
        CacheState::Warm => "warm cache (log in the page cache)",
        CacheState::Cold => "cold cache (log dropped before every run)",
    };
    [
        format!(
            "machine: {}, {} CPUs online, kernel {}",
            text(&env.cpu_model),
            env.cpus_online
                .value()
                .map_or("n/a".to_owned(), |n| n.to_string()),
            text(&env.kernel_release)
        ),
        format!(
            "{cache}; {} sink ({}); {} congestion control; {} measured runs per bar; log {}; zc {}{}",
            s.sink,
            s.sink_location,
            s.congestion,
            s.runs,
            format_size(s.fixture.bytes),
            s.zc_version,
            if s.consumers > 1 {
                format!(
                    "; {} consumers at once: GiB/s is their total, CPU summed over the senders",
                    s.consumers
                )
            } else {
                String::new()
            }
        ),
    ]
}

/// The median, min and max of `key` in `row`, or why it is missing.
fn figure(row: &Row, key: &str) -> Result<(f64, f64, f64), String> {
    match row.metric(key).map(|m| &m.value) {
        Some(Reading::Value(s)) => Ok((s.median, s.min, s.max)),
        Some(Reading::Unavailable(why)) => Err(why.clone()),
        None => Err("not measured".to_owned()),
    }
}

fn panel<DB: DrawingBackend>(
    area: &DrawingArea<DB, plotters::coord::Shift>,
    report: &BenchReport,
    key: &str,
    axis: &str,
) -> Result<(), Failure>
where
    DB::ErrorType: 'static,
{
    let modes = modes(&report.rows);
    let chunks = chunks(&report.rows);
    let top = report
        .rows
        .iter()
        .filter_map(|r| figure(r, key).ok().map(|(_, _, max)| max))
        .fold(0.0_f64, f64::max);
    // Headroom above the tallest whisker for its label and for the legend (one line per
    // chunk size), so that neither hides a bar.
    let headroom = 1.25 + 0.06 * chunks.len() as f64;
    let top = if top > 0.0 { top * headroom } else { 1.0 };
    let n = modes.len().max(1);

    let mut chart = ChartBuilder::on(area)
        .margin(14)
        .x_label_area_size(48)
        .y_label_area_size(60)
        .build_cartesian_2d(-0.5..(n as f64 - 0.5), 0.0..top)?;
    let mode_label = |x: &f64| -> String {
        let i = x.round();
        if (x - i).abs() < 1e-6 && i >= 0.0 {
            modes
                .get(i as usize)
                .map_or(String::new(), |m| m.name().to_owned())
        } else {
            String::new()
        }
    };
    chart
        .configure_mesh()
        .disable_x_mesh()
        .x_labels(n)
        .x_label_formatter(&mode_label)
        .x_desc("transfer mode")
        .y_desc(axis)
        .label_style(("sans-serif", 14))
        .axis_desc_style(("sans-serif", 15))
        .draw()?;

    // Each mode's group is 0.8 wide, split evenly among the chunk sizes.
    let slot = 0.8 / chunks.len().max(1) as f64;
    for (c, &chunk) in chunks.iter().enumerate() {
        let colour = COLOURS[c % COLOURS.len()];
        let mut bars = Vec::new();
        let mut whiskers = Vec::new();
        let mut labels = Vec::new();
        for (m, &mode) in modes.iter().enumerate() {
            let Some(row) = report
                .rows
                .iter()
                .find(|r| r.mode == mode && r.chunk == chunk)
            else {
                continue;
            };
            let x0 = m as f64 - 0.4 + c as f64 * slot;
            let (x1, mid) = (x0 + slot * 0.9, x0 + slot * 0.45);
            match figure(row, key) {
                Ok((median, min, max)) => {
                    bars.push(Rectangle::new([(x0, 0.0), (x1, median)], colour.filled()));
                    whiskers.push(PathElement::new(
                        vec![(mid, min), (mid, max)],
                        BLACK.stroke_width(2),
                    ));
                    labels.push((format_value(key, median), (mid, max)));
                }
                Err(_) => labels.push(("n/a".to_owned(), (mid, top * 0.04))),
            }
        }
        chart
            .draw_series(bars)?
            .label(format!("{} chunks", format_size(chunk as u64)))
            .legend(move |(x, y)| Rectangle::new([(x, y - 6), (x + 14, y + 6)], colour.filled()));
        chart.draw_series(whiskers)?;
        chart.draw_series(labels.into_iter().map(|(text, (x, y))| {
            Text::new(
                text,
                (x, y + top * 0.015),
                ("sans-serif", 13).into_font().color(&BLACK).pos(
                    plotters::style::text_anchor::Pos::new(
                        plotters::style::text_anchor::HPos::Center,
                        plotters::style::text_anchor::VPos::Bottom,
                    ),
                ),
            )
        }))?;
    }
    chart
        .configure_series_labels()
        .position(SeriesLabelPosition::UpperRight)
        .background_style(WHITE.mix(0.85))
        .border_style(BLACK)
        .label_font(("sans-serif", 13))
        .draw()?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::bench::send::sample::sample_report;

    /// Every `<text>` of the SVG, as a real XML parser reads it.
    fn texts(svg: &str) -> Vec<String> {
        let doc = roxmltree::Document::parse(svg).expect("the chart is well-formed XML");
        assert_eq!(doc.root_element().tag_name().name(), "svg");
        doc.descendants()
            .filter(|n| n.has_tag_name("text"))
            .filter_map(|n| n.text().map(|t| t.trim().to_owned()))
            .collect()
    }

    #[test]
    fn svg_parses_and_names_every_mode_the_machine_and_the_cache() {
        let report = sample_report();
        let svg = String::from_utf8(render(&report).unwrap()).unwrap();
        let texts = texts(&svg);
        for mode in modes(&report.rows) {
            assert!(
                texts.iter().any(|t| t == mode.name()),
                "{mode} missing: {texts:?}"
            );
        }
        let all = texts.join("\n");
        assert!(all.contains("warm cache"), "{all}");
        assert!(all.contains("kernel"), "{all}");
        assert!(all.contains("64 KiB chunks"), "{all}");
        // One bar per mode and panel: 3 modes x 2 panels.
        let doc = roxmltree::Document::parse(&svg).unwrap();
        let bars = doc
            .descendants()
            .filter(|n| n.has_tag_name("rect") && n.attribute("fill") == Some("#0072B2"))
            .count();
        assert!(bars >= 6, "{bars} bars");
    }

    #[test]
    fn several_chunk_sizes_get_one_legend_entry_each() {
        let mut report = sample_report();
        let extra: Vec<Row> = report
            .rows
            .iter()
            .cloned()
            .map(|mut r| {
                r.chunk = 1 << 20;
                r
            })
            .collect();
        report.rows.extend(extra);
        let svg = String::from_utf8(render(&report).unwrap()).unwrap();
        let all = texts(&svg).join("\n");
        assert!(
            all.contains("64 KiB chunks") && all.contains("1 MiB chunks"),
            "{all}"
        );
    }

    #[test]
    fn unmeasured_figure_is_labelled_n_a_not_drawn_as_zero() {
        let mut report = sample_report();
        for row in &mut report.rows {
            for m in &mut row.metrics {
                if m.key == "sender_cpu_per_gib" {
                    m.value = Reading::unavailable("perf refused");
                }
            }
        }
        let svg = String::from_utf8(render(&report).unwrap()).unwrap();
        let n_a = texts(&svg).iter().filter(|t| *t == "n/a").count();
        assert_eq!(n_a, report.rows.len(), "one n/a per missing bar");
    }
}
