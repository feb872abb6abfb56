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
            if name == "target" || name.starts_with('.') || name == "corpus" {
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
