//! The repository stands on its own and its pages say what is true: no comment or page cites
//! a document a reader of the repository does not have, and every `docs/PAGE.md §N`
//! citation names a section that exists.

use std::fs;
use std::path::{Path, PathBuf};

const ROOT: &str = env!("CARGO_MANIFEST_DIR");

/// Every text file a reader of the repository sees: sources, tests, scripts, docs, fuzzers.
fn repository_files() -> Vec<PathBuf> {
    fn walk(dir: &Path, out: &mut Vec<PathBuf>) {
        let Ok(entries) = fs::read_dir(dir) else {
            return;
        };
        for entry in entries.flatten() {
            let path = entry.path();
            let name = entry.file_name();
            let name = name.to_string_lossy();
            // node_modules and kafka/dist are installed by .ci/run (git-ignored), not ours.
            if name == "target"
                || name.starts_with('.')
                || name == "corpus"
                || name == "node_modules"
                || name == "dist"
            {
                continue;
            }
            if path.is_dir() {
                walk(&path, out);
            } else if fs::read_to_string(&path).is_ok() {
                out.push(path);
            }
        }
    }
    let root = Path::new(ROOT);
    let mut out = vec![root.join("README.md")];
    for dir in ["src", "tests", "scripts", "docs", "fuzz", ".ci"] {
        walk(&root.join(dir), &mut out);
    }
    out
}

fn relative(path: &Path) -> String {
    path.strip_prefix(ROOT)
        .unwrap_or(path)
        .display()
        .to_string()
}

#[test]
fn nothing_cites_documents_outside_the_repository() {
    // Built from pieces so that this file does not match itself.
    let design = ["DESIGN", ".md"].concat();
    let subset = ["kafka", "-subset"].concat();
    let shared = ["../", "shared/"].concat();
    let mut found = Vec::new();
    for path in repository_files() {
        let text = fs::read_to_string(&path).unwrap();
        for (n, line) in text.lines().enumerate() {
            let lower = line.to_lowercase();
            let issue = lower.match_indices("issue ").any(|(at, _)| {
                lower[at + 6..]
                    .trim_start_matches('#')
                    .starts_with(|c: char| c.is_ascii_digit())
            });
            if line.contains(&design) || line.contains(&subset) || line.contains(&shared) || issue {
                found.push(format!("{}:{}: {}", relative(&path), n + 1, line.trim()));
            }
        }
    }
    assert!(
        found.is_empty(),
        "cite docs/ instead (docs/kafka-protocol.md, docs/architecture.md):\n{}",
        found.join("\n")
    );
}

#[test]
fn every_section_citation_names_an_existing_section() {
    let mut checked = 0;
    let mut missing = Vec::new();
    for path in repository_files() {
        let text = fs::read_to_string(&path).unwrap();
        for (n, line) in text.lines().enumerate() {
            for (at, _) in line.match_indices(".md §") {
                let page_start = line[..at]
                    .rfind(|c: char| !(c.is_ascii_alphanumeric() || "-_/".contains(c)))
                    .map_or(0, |i| i + 1);
                let page = line[page_start..at].trim_start_matches("docs/");
                let section: String = line[at + ".md §".len()..]
                    .chars()
                    .take_while(char::is_ascii_digit)
                    .collect();
                if section.is_empty() {
                    continue; // prose about citations, like this file's own comments
                }
                let page_path = Path::new(ROOT).join("docs").join(format!("{page}.md"));
                let heading = format!("## {section}. ");
                let ok = fs::read_to_string(&page_path)
                    .map(|page| page.lines().any(|l| l.starts_with(&heading)))
                    .unwrap_or(false);
                checked += 1;
                if !ok {
                    missing.push(format!(
                        "{}:{}: {page}.md §{section}",
                        relative(&path),
                        n + 1
                    ));
                }
            }
        }
    }
    assert!(
        checked >= 20,
        "only {checked} citations found: is the scan broken?"
    );
    assert!(
        missing.is_empty(),
        "no such section:\n{}",
        missing.join("\n")
    );
}

/// Statements these pages once made that the Linux or Kafka sources contradict, each with
/// the fact that replaced it. The phrases are matched case-insensitively, with line breaks
/// and repeated spaces folded, in docs/, the README and `zc explain`'s text.
const CORRECTED: &[(&str, &str)] = &[
    (
        "often on another cpu",
        "loopback TCP receive runs in the sender's send call (loopback_xmit -> __netif_rx on \
         the sending CPU) or in the receiver's thread from the socket backlog",
    ),
    (
        "lands on neither thread",
        "loopback TCP receive is charged to the sender or the sink, whichever runs it",
    ),
    (
        "the receiver's copy",
        "the default sink splices to /dev/null: it copies nothing",
    ),
    (
        "never calls fsync",
        "Kafka flushes asynchronously on segment roll and on clean shutdown",
    ),
    (
        "kernel threads (readahead",
        "readahead is submitted in the reading task (mm/readahead.c)",
    ),
    (
        "nothing is estimated",
        "only syscalls are kernel-counted; mode switches are derived, copies zc's own tally",
    ),
    (
        "keeps sendfile.",
        "kTLS keeps the sendfile call, not zero-copy: the kernel still encrypts every byte",
    ),
    (
        "is kafka-under-tls",
        "read-write is only a lower bound for Kafka under TLS: nothing encrypts",
    ),
    (
        "measured on a real machine",
        "the lesson machine is a 2-core virtual machine",
    ),
    (
        "never the .log, for this reason",
        "Kafka's reason for not mapping .log is not documented; do not invent one",
    ),
];

fn folded(text: &str) -> String {
    text.to_lowercase()
        .replace("//!", " ")
        .replace('`', "")
        .split_whitespace()
        .collect::<Vec<_>>()
        .join(" ")
}

#[test]
fn corrected_statements_do_not_come_back() {
    let root = Path::new(ROOT);
    let pages: Vec<PathBuf> = repository_files()
        .into_iter()
        .filter(|p| {
            let rel = p.strip_prefix(root).unwrap_or(p);
            (rel.starts_with("docs") && p.extension().is_some_and(|e| e == "md"))
                || rel == Path::new("README.md")
                || rel.starts_with("src/explain")
        })
        .collect();
    assert!(pages.len() >= 10, "{pages:?}");
    let mut found = Vec::new();
    for path in pages {
        let text = folded(&fs::read_to_string(&path).unwrap());
        for (phrase, fact) in CORRECTED {
            if text.contains(phrase) {
                found.push(format!(
                    "{}: \"{phrase}\" — the fact: {fact}",
                    relative(&path)
                ));
            }
        }
    }
    assert!(found.is_empty(), "{}", found.join("\n"));
}

/// Every figure the pages quote is the one `scripts/docs-figures` computes from the
/// committed result files in docs/results/: a page edited by hand, or a result file
/// replaced without regenerating the pages, fails here with the diff.
#[test]
fn docs_figures_match_their_result_files() {
    let script = Path::new(ROOT).join("scripts/docs-figures");
    let out = match std::process::Command::new("python3")
        .arg(&script)
        .arg("--check")
        .output()
    {
        Ok(out) => out,
        Err(e) if std::env::var("CI").as_deref() != Ok("true") => {
            eprintln!("SKIPPED: python3 not runnable ({e}); .ci/run installs it");
            return;
        }
        Err(e) => panic!("python3 not runnable under CI: {e}"),
    };
    assert!(
        out.status.success(),
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    // The check must have something to check: the lesson's figures are marked.
    let lesson = fs::read_to_string(Path::new(ROOT).join("docs/lesson-plan.md")).unwrap();
    assert!(lesson.matches("<!-- fig: ").count() >= 20);
    assert!(lesson.contains("<!-- figures: table lesson"));
}
