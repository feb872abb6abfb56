//! Apache Kafka for the tests: a real broker (one KRaft node, loopback only) and Kafka's
//! own command-line tools, both run through `kafka/kafka.sh`, which `.ci/run` installs
//! with Maven. A test binary shares one broker ([`Kafka::shared`]); a test that must stop
//! and restart Kafka starts its own ([`Kafka::start`]).
//!
//! Included with `#[path]` by the tests that need Kafka, so other test binaries do not
//! compile it. Without Kafka installed a test skips (a `SKIPPED:` line) and under
//! `CI=true` it fails, like the other third-party peers.

#![allow(dead_code)] // each including test binary uses a different subset

use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::sync::OnceLock;
use std::thread;
use std::time::{Duration, Instant};

/// How long a broker may take to start on a loaded two-core machine.
const START_LIMIT: Duration = Duration::from_secs(120);

fn script() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("kafka/kafka.sh")
}

/// True when `kafka/kafka.sh install` has run and Java works; otherwise says `SKIPPED:`
/// and returns false, or fails the test under `CI=true`.
pub fn installed() -> bool {
    static INSTALLED: OnceLock<Result<(), String>> = OnceLock::new();
    let found = INSTALLED.get_or_init(|| {
        let version = Command::new(script())
            .arg("version")
            .output()
            .map_err(|e| e.to_string())?;
        let version = String::from_utf8_lossy(&version.stdout).trim().to_owned();
        let lib = Path::new(env!("CARGO_MANIFEST_DIR")).join("kafka/dist/lib");
        if !lib.join(format!("kafka-tools-{version}.jar")).exists() {
            return Err(format!(
                "Apache Kafka {version} is not in {}",
                lib.display()
            ));
        }
        Command::new("java")
            .arg("-version")
            .output()
            .map_err(|e| format!("java is not runnable: {e}"))?;
        Ok(())
    });
    match found {
        Ok(()) => true,
        Err(why) => {
            assert_ne!(
                std::env::var("CI").as_deref(),
                Ok("true"),
                "CI must install Apache Kafka (.ci/run runs kafka/kafka.sh install): {why}"
            );
            eprintln!("SKIPPED: {why} (run kafka/kafka.sh install, as .ci/run does)");
            false
        }
    }
}

/// A Kafka tool (`kafka-topics`, `kafka-dump-log`, ...) as a command to add arguments to.
pub fn tool(name: &str) -> Command {
    let mut cmd = Command::new(script());
    cmd.arg("tool").arg(name);
    cmd
}

/// Runs a Kafka tool to the end (killed after `limit`), with `input` on stdin.
pub fn run_tool(name: &str, args: &[&str], input: &[u8], limit: Duration) -> Output {
    let mut cmd = tool(name);
    cmd.args(args);
    crate::broker::run_bounded(cmd, input, limit)
}

/// A running Apache Kafka broker. Dropping it kills the JVM; [`Kafka::stop`] shuts it down
/// cleanly first (Kafka then writes its recovery checkpoints).
pub struct Kafka {
    child: Option<Child>,
    dir: PathBuf,
    pub port: u16,
}

impl Kafka {
    /// Starts a broker in `dir`: a fresh cluster if `dir` is new, otherwise a restart on
    /// the data of the broker that ran there. Returns once it accepts connections.
    pub fn start(dir: &Path) -> Kafka {
        let mut cmd = Command::new(script());
        cmd.arg("run")
            .arg(dir)
            .stdin(Stdio::null())
            .stdout(Stdio::null());
        cmd.stderr(Stdio::null());
        // SAFETY: prctl is async-signal-safe; it only asks the kernel to SIGKILL the JVM
        // when the thread that spawned it ends, so no broker outlives its test binary.
        unsafe {
            cmd.pre_exec(|| {
                if libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL) != 0 {
                    return Err(std::io::Error::last_os_error());
                }
                Ok(())
            });
        }
        let child = cmd.spawn().expect("run kafka/kafka.sh");
        let mut kafka = Kafka {
            child: Some(child),
            dir: dir.to_owned(),
            port: 0,
        };
        kafka.wait_started();
        kafka
    }

    /// The broker shared by every test of this binary, started on first use in a fresh
    /// directory under the target directory; `None` when Kafka is not installed (skip).
    pub fn shared() -> Option<&'static Kafka> {
        static SHARED: OnceLock<Kafka> = OnceLock::new();
        if !installed() {
            return None;
        }
        Some(SHARED.get_or_init(|| {
            let dir = fresh_dir("shared");
            // Spawned from a thread that never ends: the JVM dies with the process (its
            // parent-death signal follows the spawning thread, not the process).
            let (tx, rx) = std::sync::mpsc::channel();
            thread::spawn(move || {
                let _ = tx.send(Kafka::start(&dir));
                loop {
                    thread::park();
                }
            });
            rx.recv().expect("the shared Kafka broker did not start")
        }))
    }

    fn wait_started(&mut self) {
        let deadline = Instant::now() + START_LIMIT;
        let log = self.dir.join("server.log");
        loop {
            if let Some(status) = self.child.as_mut().unwrap().try_wait().unwrap() {
                panic!(
                    "Kafka exited during start-up ({status}):\n{}",
                    self.log_tail()
                );
            }
            // kafka.sh moves the log of an earlier start aside before it writes DIR/pid, so
            // once DIR/pid names this child, server.log tells of this start only.
            let pid = std::fs::read_to_string(self.dir.join("pid")).unwrap_or_default();
            let started = pid.trim() == self.child.as_ref().unwrap().id().to_string()
                && std::fs::read_to_string(&log).is_ok_and(|l| l.contains("Kafka Server started"));
            if started && let Ok(port) = std::fs::read_to_string(self.dir.join("port")) {
                self.port = port.trim().parse().expect("a port in DIR/port");
                if std::net::TcpStream::connect(self.addr()).is_ok() {
                    return;
                }
            }
            assert!(
                Instant::now() < deadline,
                "Kafka did not start within {START_LIMIT:?}:\n{}",
                self.log_tail()
            );
            thread::sleep(Duration::from_millis(200));
        }
    }

    pub fn addr(&self) -> String {
        format!("127.0.0.1:{}", self.port)
    }

    /// Kafka's log directory (`log.dirs`): one `<topic>-<partition>/` per partition.
    pub fn data_dir(&self) -> PathBuf {
        self.dir.join("data")
    }

    /// The broker's own log so far.
    pub fn log(&self) -> String {
        std::fs::read_to_string(self.dir.join("server.log")).unwrap_or_default()
    }

    fn log_tail(&self) -> String {
        let log = self.log();
        let lines: Vec<&str> = log.lines().collect();
        lines[lines.len().saturating_sub(30)..].join("\n")
    }

    /// SIGTERM and wait: Kafka's controlled shutdown flushes the log and writes the
    /// recovery-point checkpoint, so the next start does not recover the segments.
    pub fn stop(&mut self) {
        let Some(mut child) = self.child.take() else {
            return;
        };
        nix::sys::signal::kill(
            nix::unistd::Pid::from_raw(child.id() as i32),
            nix::sys::signal::Signal::SIGTERM,
        )
        .unwrap();
        let deadline = Instant::now() + Duration::from_secs(60);
        while child.try_wait().unwrap().is_none() {
            if Instant::now() > deadline {
                let _ = child.kill();
                panic!("Kafka ignored SIGTERM for 60 s:\n{}", self.log_tail());
            }
            thread::sleep(Duration::from_millis(100));
        }
    }
}

impl Drop for Kafka {
    fn drop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

/// A new, empty directory under the target directory for one broker; directories left
/// by earlier runs of test binaries that have exited are removed first.
pub fn fresh_dir(name: &str) -> PathBuf {
    let root = Path::new(env!("CARGO_TARGET_TMPDIR")).join("kafka");
    std::fs::create_dir_all(&root).unwrap();
    for e in std::fs::read_dir(&root).unwrap().flatten() {
        let stale = e
            .file_name()
            .to_str()
            .and_then(|n| n.split('-').next()?.parse::<i32>().ok())
            .is_some_and(|pid| !Path::new(&format!("/proc/{pid}")).exists());
        if stale {
            let _ = std::fs::remove_dir_all(e.path());
        }
    }
    let dir = root.join(format!("{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}
