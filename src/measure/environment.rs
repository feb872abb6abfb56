//! The machine a result was measured on, for provenance.
//!
//! A number without its environment cannot be compared: the same transfer costs
//! differently on another kernel, CPU or permission setting. These facts travel
//! with every JSON result. They describe the machine, not the run: which counters
//! actually worked in a run is [`super::Probe::availability`].

use std::path::PathBuf;

use serde::{Deserialize, Serialize};

use super::Reading;
use super::procfs::{cpu_model, cpus_online, is_root, kernel_release, perf_event_paranoid};
use super::syscalls::tracefs;

#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Environment {
    pub kernel_release: Reading<String>,
    pub cpu_model: Reading<String>,
    pub cpus_online: Reading<usize>,
    pub perf_event_paranoid: Reading<i32>,
    /// Effective uid 0: kernel-mode counters and tracepoints work whatever the
    /// paranoid level.
    pub root: bool,
    /// Where tracefs is mounted (syscall tracepoints need it).
    pub tracefs: Reading<PathBuf>,
    /// Things worth telling the user, e.g. that we mounted tracefs.
    pub notes: Vec<String>,
}

/// Gathers the environment. May mount tracefs (once per process, root only),
/// exactly as opening a [`super::Probe`] would, and says so in `notes`.
pub fn environment() -> Environment {
    let root = is_root();
    let paranoid = perf_event_paranoid();
    let fs = tracefs();
    let mut notes = Vec::new();
    if let Reading::Value(t) = &fs
        && t.mounted_by_us
    {
        notes.push(format!(
            "tracefs was not mounted: zc mounted it at {} (it stays mounted)",
            t.path.display()
        ));
    }
    if let Reading::Value(p) = paranoid
        && p > 1
        && !root
    {
        notes.push(format!(
            "perf_event_paranoid={p}: kernel-mode counters and syscall tracepoints are \
             refused to non-root users; run as root or `sysctl kernel.perf_event_paranoid=1`"
        ));
    }
    Environment {
        kernel_release: kernel_release(),
        cpu_model: cpu_model(),
        cpus_online: cpus_online(),
        perf_event_paranoid: paranoid,
        root,
        tracefs: fs.map(|t| t.path),
        notes,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn environment_knows_the_kernel() {
        let env = environment();
        assert!(matches!(&env.kernel_release, Reading::Value(r) if !r.is_empty()));
        assert!(matches!(env.cpus_online, Reading::Value(n) if n >= 1));
        let json = serde_json::to_value(&env).expect("serialize");
        assert!(json["kernel_release"].is_string());
    }
}
