//! Small helpers shared by the black-box tests: run the real `zc` binary, hash trees.
#![allow(dead_code)] // each test binary uses a different subset of these helpers

use std::collections::BTreeMap;
use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

/// The arguments that generated `fixtures/demo-log` (also in fixtures/README.md).
pub const DEMO_GEN_ARGS: [&str; 10] = [
    "--size",
    "4MiB",
    "--segment-bytes",
    "1MiB",
    "--value-size",
    "200",
    "--key-size",
    "8",
    "--records-per-batch",
    "20",
];

pub fn demo_fixture() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/demo-log")
}

pub struct Run {
    pub code: Option<i32>,
    pub stdout: String,
    pub stderr: String,
}

impl Run {
    pub fn success(self) -> Run {
        self.code(0)
    }

    pub fn code(self, expected: i32) -> Run {
        assert_eq!(
            self.code,
            Some(expected),
            "exit code\nstdout:\n{}\nstderr:\n{}",
            self.stdout,
            self.stderr
        );
        self
    }
}

impl From<Output> for Run {
    fn from(o: Output) -> Run {
        Run {
            code: o.status.code(),
            stdout: String::from_utf8_lossy(&o.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&o.stderr).into_owned(),
        }
    }
}

/// Runs `zc` with `args`, no terminal, and a private cache directory.
pub fn zc(args: &[&str]) -> Run {
    zc_command(args).output().expect("run zc").into()
}

/// `zc fixture gen -q --out OUT --topic TOPIC EXTRA...` (sizes, counts), which must succeed.
pub fn gen_log(out: &Path, topic: &str, extra: &[&str]) {
    let out = out.to_str().expect("a UTF-8 path");
    let mut args = vec!["fixture", "gen", "-q", "--out", out, "--topic", topic];
    args.extend(extra);
    zc(&args).success();
}

pub fn zc_command(args: &[&str]) -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_zc"));
    cmd.args(args).env_remove("NO_COLOR");
    cmd
}

/// BLAKE3 of every file under `dir`, by relative path.
pub fn file_hashes(dir: &Path) -> BTreeMap<PathBuf, String> {
    let mut out = BTreeMap::new();
    let mut stack = vec![dir.to_owned()];
    while let Some(d) = stack.pop() {
        for e in fs::read_dir(&d).unwrap() {
            let p = e.unwrap().path();
            if p.is_dir() {
                stack.push(p);
            } else {
                let hex = blake3::hash(&fs::read(&p).unwrap()).to_hex().to_string();
                out.insert(p.strip_prefix(dir).unwrap().to_owned(), hex);
            }
        }
    }
    out
}

pub fn copy_dir(from: &Path, to: &Path) {
    fs::create_dir_all(to).unwrap();
    for e in fs::read_dir(from).unwrap() {
        let p = e.unwrap().path();
        let target = to.join(p.file_name().unwrap());
        if p.is_dir() {
            copy_dir(&p, &target);
        } else {
            fs::copy(&p, &target).unwrap();
        }
    }
}
