//! The classroom surface, black-box: `zc explain` (with and without a real results file,
//! and refusing bad ones), the SVG chart export, shell completions, the man page, and an
//! example in every subcommand's --help.

mod common;

use clap::CommandFactory;
use common::{demo_fixture, zc, zc_command};

/// Every subcommand path of the clap definition, e.g. ["fixture", "gen"].
fn subcommands() -> Vec<Vec<String>> {
    fn walk(cmd: &clap::Command, prefix: &[String], out: &mut Vec<Vec<String>>) {
        for sub in cmd.get_subcommands() {
            let mut path = prefix.to_vec();
            path.push(sub.get_name().to_owned());
            out.push(path.clone());
            walk(sub, &path, out);
        }
    }
    let mut out = Vec::new();
    walk(&zc::cli::Cli::command(), &[], &mut out);
    out
}

#[test]
fn every_subcommand_help_has_examples() {
    let mut paths = subcommands();
    paths.push(Vec::new()); // `zc --help` itself
    assert!(paths.len() >= 12, "{paths:?}");
    for path in paths {
        let mut args: Vec<&str> = path.iter().map(String::as_str).collect();
        args.push("--help");
        let run = zc(&args).success();
        assert!(
            run.stdout.contains("Example"),
            "`zc {}` has no examples:\n{}",
            args.join(" "),
            run.stdout
        );
    }
}

#[test]
fn explain_draws_every_mode_plainly_when_piped_and_says_how_to_measure() {
    let run = zc_command(&["explain"])
        .env("COLUMNS", "80")
        .output()
        .unwrap();
    let run = common::Run::from(run).success();
    for mode in ["read-write", "mmap", "sendfile", "splice"] {
        assert!(run.stdout.contains(&format!("━━ {mode} ")), "{mode}");
    }
    assert!(!run.stdout.contains('\x1b'), "no colour into a pipe");
    assert!(run.stdout.contains("zc bench --export results.json"));
    for line in run.stdout.lines() {
        assert!(line.chars().count() <= 80, "{line:?}");
    }
    // A narrow terminal gets the list layout, still within its width.
    let narrow = zc_command(&["explain", "mmap"])
        .env("COLUMNS", "40")
        .output()
        .unwrap();
    let narrow = common::Run::from(narrow).success();
    assert!(!narrow.stdout.contains('┼'), "no diagram in 40 columns");
    for line in narrow.stdout.lines() {
        assert!(line.chars().count() <= 40, "{line:?}");
    }
}

/// One real (tiny) benchmark exports JSON and SVG; the chart parses and names every mode,
/// and explain puts the measured figures beside the model.
#[test]
fn bench_exports_a_chart_and_explain_reads_the_results() {
    let dir = tempfile::tempdir().unwrap();
    let json = dir.path().join("r.json");
    let svg = dir.path().join("chart.svg");
    let fixture = demo_fixture();
    zc(&[
        "bench",
        "--quiet",
        "--fixture",
        fixture.to_str().unwrap(),
        "--runs",
        "1",
        "--warmup",
        "0",
        "--chunk",
        "64K,256K",
        "--export",
        json.to_str().unwrap(),
        "--export",
        svg.to_str().unwrap(),
    ])
    .success();

    let text = std::fs::read_to_string(&svg).unwrap();
    let doc = roxmltree::Document::parse(&text).expect("the SVG is well-formed XML");
    let texts: Vec<&str> = doc
        .descendants()
        .filter(|n| n.has_tag_name("text"))
        .filter_map(|n| n.text().map(str::trim))
        .collect();
    for mode in ["read-write", "mmap", "sendfile", "splice"] {
        assert!(texts.contains(&mode), "{mode} not in the chart: {texts:?}");
    }
    for label in ["64 KiB chunks", "256 KiB chunks"] {
        assert!(texts.contains(&label), "{label}: {texts:?}");
    }
    assert!(texts.iter().any(|t| t.contains("warm cache")), "{texts:?}");

    let run = zc(&["explain", "read-write", "--results", json.to_str().unwrap()]).success();
    assert!(
        run.stdout.contains("MEASURED (not the model)"),
        "{}",
        run.stdout
    );
    assert!(run.stdout.contains("64 KiB chunks:"), "{}", run.stdout);
    assert!(run.stdout.contains("256 KiB chunks:"), "{}", run.stdout);
    assert!(run.stdout.contains("; model 4"), "{}", run.stdout);
}

#[test]
fn explain_refuses_bad_input_before_printing_anything() {
    let dir = tempfile::tempdir().unwrap();
    let malformed = dir.path().join("bad.json");
    std::fs::write(&malformed, "{\"schema\": 1, \"rows\": ").unwrap();
    let old = dir.path().join("old.json");
    std::fs::write(&old, "{\"schema\": 0, \"rows\": []}").unwrap();
    let cases: [(&[&str], &str); 4] = [
        (&["explain", "zerocopy"], "invalid value 'zerocopy'"),
        (
            &["explain", "--results", "/nonexistent/r.json"],
            "cannot read it",
        ),
        (
            &["explain", "--results", malformed.to_str().unwrap()],
            "not valid JSON",
        ),
        (&["explain", "--results", old.to_str().unwrap()], "schema 0"),
    ];
    for (args, want) in cases {
        let run = zc(args).code(2);
        assert!(run.stdout.is_empty(), "{args:?} printed: {}", run.stdout);
        assert!(run.stderr.contains(want), "{args:?}: {}", run.stderr);
    }
}

#[test]
fn bash_completion_knows_every_subcommand() {
    let script = zc(&["completions", "bash"]).success().stdout;
    assert!(script.contains("complete -F _zc"), "{script}");
    for path in subcommands() {
        let name = path.last().unwrap();
        assert!(script.contains(name.as_str()), "{name} missing");
    }
    for shell in ["zsh", "fish", "elvish", "powershell"] {
        let out = zc(&["completions", shell]).success().stdout;
        assert!(out.contains("explain"), "{shell}");
    }
    zc(&["completions", "tcsh"]).code(2);
}

#[test]
fn man_page_is_roff_naming_every_subcommand_and_groff_accepts_it() {
    let page = zc(&["man"]).success().stdout;
    assert!(page.contains(".TH zc 1"), "{page}");
    for section in [".SH NAME", ".SH SYNOPSIS", ".SH SUBCOMMANDS"] {
        assert!(page.contains(section), "{section}");
    }
    for path in subcommands().iter().filter(|p| p.len() == 1) {
        assert!(page.contains(&format!("zc\\-{}(1)", path[0])), "{path:?}");
    }
    // groff is the real judge of roff, when the machine has it.
    if let Ok(mut child) = std::process::Command::new("groff")
        .args(["-man", "-T", "utf8", "-ww", "-z"])
        .stdin(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
    {
        use std::io::Write;
        child
            .stdin
            .take()
            .unwrap()
            .write_all(page.as_bytes())
            .unwrap();
        let out = child.wait_with_output().unwrap();
        assert!(out.status.success());
        let warnings = String::from_utf8_lossy(&out.stderr);
        assert!(warnings.trim().is_empty(), "groff: {warnings}");
    } else {
        eprintln!("groff not installed: roff checked structurally only");
    }

    let dir = tempfile::tempdir().unwrap();
    zc(&["man", "--quiet", "--out-dir", dir.path().to_str().unwrap()]).success();
    for path in subcommands() {
        let file = dir.path().join(format!("zc-{}.1", path.join("-")));
        assert!(file.is_file(), "{} missing", file.display());
    }
    zc(&["man", "--out-dir", "/nonexistent/dir"]).code(2);
}

/// Colour on a terminal, none with NO_COLOR. The terminal is a real pseudo-terminal made by
/// util-linux `script`; without it, only the pipe case (above) can be checked.
#[test]
fn explain_colours_a_terminal_unless_no_color_is_set() {
    let run = |no_color: Option<&str>| -> Option<String> {
        let mut cmd = std::process::Command::new("script");
        cmd.args([
            "-qec",
            &format!("{} explain sendfile", env!("CARGO_BIN_EXE_zc")),
            "/dev/null",
        ]);
        cmd.env_remove("NO_COLOR");
        if let Some(v) = no_color {
            cmd.env("NO_COLOR", v);
        }
        let out = cmd.output().ok()?;
        assert!(out.status.success(), "{out:?}");
        Some(String::from_utf8_lossy(&out.stdout).into_owned())
    };
    let Some(coloured) = run(None) else {
        eprintln!("util-linux `script` not installed: terminal colour not checked");
        return;
    };
    assert!(coloured.contains("\x1b[32mDMA"), "{coloured}");
    let plain = run(Some("1")).unwrap();
    assert!(plain.contains("DMA") && !plain.contains('\x1b'), "{plain}");
}

/// `zc bench --export report.html`: one page a student opens anywhere. An HTML5 parser
/// (scraper, i.e. html5ever: the parsing algorithm browsers implement) reads it without a
/// single parse error and finds every part; headless Chromium renders it to a screenshot
/// that is not blank. A missing Chromium skips the rendering locally and fails under CI.
#[test]
fn bench_exports_a_page_a_browser_renders() {
    let dir = tempfile::tempdir().unwrap();
    let page = dir.path().join("report.html");
    let fixture = demo_fixture();
    zc(&[
        "bench",
        "--quiet",
        "--fixture",
        fixture.to_str().unwrap(),
        "--runs",
        "1",
        "--warmup",
        "0",
        "--export",
        page.to_str().unwrap(),
    ])
    .success();

    let text = std::fs::read_to_string(&page).unwrap();
    let html = scraper::Html::parse_document(&text);
    assert!(
        html.errors.is_empty(),
        "HTML5 parse errors: {:?}",
        html.errors
    );
    let all = |css: &str| {
        let selector = scraper::Selector::parse(css).unwrap();
        html.select(&selector).count()
    };
    assert_eq!(all("head > title"), 1);
    assert_eq!(
        all("script, link, img, iframe"),
        0,
        "self-contained, no scripts"
    );
    assert_eq!(all("figure > svg"), 1, "the chart, inline");
    for id in ["summary", "chart", "measured", "model", "paths", "setup"] {
        assert_eq!(all(&format!("h2#{id}")), 1, "section {id}");
    }
    for mode in ["read-write", "mmap", "sendfile", "splice"] {
        assert_eq!(all(&format!("h3#mode-{mode} + pre")), 1, "{mode}'s diagram");
    }
    assert!(all("#measured ~ table td") > 40, "measured figures");
    assert!(text.contains("TEXTBOOK MODEL"));

    let screenshot = dir.path().join("report.png");
    let rendered = std::process::Command::new("chromium")
        .args([
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--hide-scrollbars",
            "--window-size=1200,2000",
        ])
        .arg(format!("--screenshot={}", screenshot.display()))
        .arg(format!("file://{}", page.display()))
        .output();
    match rendered {
        Err(e) if std::env::var("CI").as_deref() != Ok("true") => {
            eprintln!("SKIPPED: chromium not runnable ({e}); .ci/run installs it");
            return;
        }
        Err(e) => panic!("chromium not runnable under CI: {e}"),
        Ok(out) => assert!(
            out.status.success() && screenshot.exists(),
            "chromium failed: {}",
            String::from_utf8_lossy(&out.stderr)
        ),
    }
    assert_not_blank(&screenshot);
}

/// At least 2% of the pixels differ from the top-left one (the page background): text,
/// tables, the chart. A blank or all-white screenshot fails.
fn assert_not_blank(png_path: &std::path::Path) {
    let decoder = png::Decoder::new(std::io::BufReader::new(
        std::fs::File::open(png_path).unwrap(),
    ));
    let mut reader = decoder.read_info().expect("a PNG");
    let mut buf = vec![0; reader.output_buffer_size().expect("size")];
    let info = reader.next_frame(&mut buf).expect("one frame");
    let pixel = info.color_type.samples();
    let pixels: Vec<&[u8]> = buf[..info.buffer_size()].chunks(pixel).collect();
    let background = pixels[0];
    let inked = pixels.iter().filter(|p| *p != &background).count();
    assert!(
        inked * 50 > pixels.len(),
        "{} of {} pixels differ from the background: blank?",
        inked,
        pixels.len()
    );
}
