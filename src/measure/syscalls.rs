//! System calls counted by the kernel, not by us.
//!
//! Every system call passes the `raw_syscalls:sys_enter` tracepoint on its way
//! into the kernel, and the one named `syscalls:sys_enter_<name>` for its own
//! number. A perf event of type `PERF_TYPE_TRACEPOINT` attached to a tracepoint
//! counts how often *this thread* passed it: an exact, kernel-side syscall count
//! that needs no cooperation from the code being measured. The tracepoint's
//! numeric id is read from tracefs (`<tracefs>/events/<group>/<name>/id`), so
//! tracefs must be mounted; as root we mount it at `/sys/kernel/tracing` when it
//! is absent, and record that we did (see [`tracefs`]). (`perf-event2`'s own
//! `Tracepoint::with_name` looks only under `/sys/kernel/debug/tracing`, which
//! exists only when debugfs is mounted; hence our own lookup of the id.)
//!
//! Each syscall is two user<->kernel *mode* switches (in and out): that is the
//! "context switch" of the zero-copy articles, and it is this count, not perf's
//! `context-switches` (the scheduler), that backs it.
//!
//! What this can NOT see: calls answered in user space by the vDSO
//! (`clock_gettime`, `gettimeofday`), work submitted without a syscall per
//! operation (io_uring), syscalls of other threads (the sink, kernel workers),
//! and faults and interrupts, which enter the kernel without a syscall. When the
//! tracepoints are unavailable every reading says why, and the caller falls back
//! to counting its own calls.

use std::fs;
use std::io;
use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use perf_event::Builder;
use perf_event::events::Tracepoint;

use super::Reading;
use super::perf::{EventClass, EventGroup, EventSpec, GroupSnapshot, Leader};
use super::procfs::is_root;

/// The syscalls the transfer modes and `zc bench write` use, each with its own tracepoint.
/// (`sendfile64` is the name of sendfile's tracepoint on 64-bit kernels.)
pub const TRACED_SYSCALLS: [(&str, &str); 21] = [
    ("read", "sys_enter_read"),
    ("pread64", "sys_enter_pread64"),
    ("write", "sys_enter_write"),
    ("sendfile64", "sys_enter_sendfile64"),
    ("splice", "sys_enter_splice"),
    ("mmap", "sys_enter_mmap"),
    ("munmap", "sys_enter_munmap"),
    ("madvise", "sys_enter_madvise"),
    ("poll", "sys_enter_poll"),
    ("ppoll", "sys_enter_ppoll"),
    // tls writes its records with writev and finds its socket's session with fstat
    // (`newfstat` on 64-bit kernels); msg-zerocopy sends with send (the kernel's sendto)
    // and reaps completions with recvmsg; io-uring submits and waits with io_uring_enter
    // and probes its socket with getsockopt. Without these the per-name counts would
    // miss those modes' data calls (the total, raw_syscalls:sys_enter, sees every call).
    ("writev", "sys_enter_writev"),
    ("newfstat", "sys_enter_newfstat"),
    ("sendto", "sys_enter_sendto"),
    ("recvmsg", "sys_enter_recvmsg"),
    ("setsockopt", "sys_enter_setsockopt"),
    ("io_uring_enter", "sys_enter_io_uring_enter"),
    ("getsockopt", "sys_enter_getsockopt"),
    // The write path: appends are positional writes, made durable with fdatasync (or
    // fsync), into files that `--way random` preallocates with fallocate.
    ("pwrite64", "sys_enter_pwrite64"),
    ("fdatasync", "sys_enter_fdatasync"),
    ("fsync", "sys_enter_fsync"),
    ("fallocate", "sys_enter_fallocate"),
];

/// Where tracefs is, and whether this process had to mount it.
#[derive(Clone, Debug)]
pub struct Tracefs {
    pub path: PathBuf,
    /// True when tracefs was absent and this process mounted it (a change to
    /// the machine that outlives us: provenance should say so).
    pub mounted_by_us: bool,
}

const TRACEFS: &str = "/sys/kernel/tracing";
const DEBUGFS_TRACING: &str = "/sys/kernel/debug/tracing";

/// Finds tracefs, mounting it at `/sys/kernel/tracing` if it is absent and we
/// are root. Done at most once per process; later calls return the same answer.
pub fn tracefs() -> Reading<Tracefs> {
    static CACHE: OnceLock<Reading<Tracefs>> = OnceLock::new();
    CACHE.get_or_init(locate_or_mount_tracefs).clone()
}

fn locate_or_mount_tracefs() -> Reading<Tracefs> {
    let mounts = fs::read_to_string("/proc/mounts").unwrap_or_default();
    if let Some(path) = tracefs_mount_point(&mounts) {
        return Reading::Value(Tracefs {
            path,
            mounted_by_us: false,
        });
    }
    // With debugfs mounted, its `tracing` directory automounts tracefs on access.
    if Path::new(DEBUGFS_TRACING).join("events").is_dir() {
        return Reading::Value(Tracefs {
            path: DEBUGFS_TRACING.into(),
            mounted_by_us: false,
        });
    }
    if !Path::new(TRACEFS).is_dir() {
        return Reading::Unavailable(format!(
            "no {TRACEFS}: kernel built without tracing support (CONFIG_TRACING)"
        ));
    }
    if !is_root() {
        return Reading::Unavailable(format!(
            "tracefs is not mounted and only root can mount it: \
             `sudo mount -t tracefs nodev {TRACEFS}`"
        ));
    }
    // SAFETY: all pointers are NUL-terminated string literals that outlive the
    // call; a null `data` is allowed for tracefs.
    let rc = unsafe {
        libc::mount(
            c"nodev".as_ptr(),
            c"/sys/kernel/tracing".as_ptr(),
            c"tracefs".as_ptr(),
            0,
            std::ptr::null(),
        )
    };
    if rc != 0 {
        return Reading::Unavailable(format!(
            "tracefs is not mounted and mounting it at {TRACEFS} failed: {} \
             (container without CAP_SYS_ADMIN?)",
            io::Error::last_os_error()
        ));
    }
    Reading::Value(Tracefs {
        path: TRACEFS.into(),
        mounted_by_us: true,
    })
}

/// The first tracefs mount point listed in `/proc/mounts` text.
fn tracefs_mount_point(mounts: &str) -> Option<PathBuf> {
    mounts.lines().find_map(|line| {
        let mut fields = line.split_whitespace();
        let (_source, target, fstype) = (fields.next()?, fields.next()?, fields.next()?);
        (fstype == "tracefs").then(|| PathBuf::from(target))
    })
}

/// The tracepoint id perf needs as `config`, or why we could not get it.
fn tracepoint_id(tracefs: &Reading<Tracefs>, group: &str, name: &str) -> Result<u64, String> {
    let root = match tracefs {
        Reading::Value(t) => &t.path,
        Reading::Unavailable(why) => return Err(why.clone()),
    };
    let file = root.join("events").join(group).join(name).join("id");
    let text = fs::read_to_string(&file).map_err(|e| match e.kind() {
        io::ErrorKind::NotFound => {
            format!("no tracepoint {group}:{name} on this kernel (CONFIG_FTRACE_SYSCALLS off?)")
        }
        // Same words for every tracepoint, so callers can group them into one message.
        io::ErrorKind::PermissionDenied => format!(
            "{}/events is root-only by default: run as root for kernel-counted syscalls",
            root.display()
        ),
        _ => format!("cannot read {}: {e}", file.display()),
    })?;
    let id = text
        .trim()
        .parse::<u64>()
        .map_err(|e| format!("unexpected content in {}: {e}", file.display()))?;
    Ok(id)
}

/// The tracepoint counters of the calling thread: the total first, then one per
/// entry of [`TRACED_SYSCALLS`], all in one group.
pub(crate) struct SyscallCounters {
    group: EventGroup,
}

/// What the tracepoints saw over one bracket.
pub(crate) struct SyscallDelta {
    pub total: Reading<u64>,
    pub by_name: Vec<(&'static str, Reading<u64>)>,
}

impl SyscallDelta {
    /// Every syscall reading unavailable for the same reason.
    pub fn unavailable(reason: &str) -> SyscallDelta {
        SyscallDelta {
            total: Reading::Unavailable(reason.to_string()),
            by_name: TRACED_SYSCALLS
                .iter()
                .map(|(name, _)| (*name, Reading::Unavailable(reason.to_string())))
                .collect(),
        }
    }
}

/// The names [`SyscallCounters::availability`] reports, in order.
pub(crate) fn counter_names() -> impl Iterator<Item = &'static str> {
    std::iter::once("syscalls").chain(TRACED_SYSCALLS.iter().map(|(_, tracepoint)| *tracepoint))
}

impl SyscallCounters {
    pub fn open(paranoid: Option<i32>) -> SyscallCounters {
        let fs = tracefs();
        let spec = |name, group: &str, event: &str| EventSpec {
            name,
            class: EventClass::Tracepoint,
            event: tracepoint_id(&fs, group, event).map(|id| Builder::new(Tracepoint::with_id(id))),
        };
        let mut specs = vec![spec("syscalls", "raw_syscalls", "sys_enter")];
        specs.extend(
            TRACED_SYSCALLS
                .iter()
                .map(|(_, tracepoint)| spec(tracepoint, "syscalls", tracepoint)),
        );
        SyscallCounters {
            group: EventGroup::open(&specs, Leader::FirstEvent, paranoid),
        }
    }

    pub fn availability(&self) -> Vec<(&'static str, Reading<()>)> {
        self.group.availability()
    }

    pub fn snapshot(&mut self) -> io::Result<GroupSnapshot> {
        self.group.snapshot()
    }

    pub fn enable(&mut self) -> io::Result<()> {
        self.group.enable()
    }

    pub fn disable(&mut self) -> io::Result<()> {
        self.group.disable()
    }

    pub fn delta(&self, start: &GroupSnapshot, end: &GroupSnapshot) -> SyscallDelta {
        let mut values = self.group.delta(start, end, false).values.into_iter();
        let missing = || Reading::Unavailable("counter missing from its group".into());
        let total = values.next().unwrap_or_else(missing);
        let by_name = TRACED_SYSCALLS
            .iter()
            .map(|(name, _)| (*name, values.next().unwrap_or_else(missing)))
            .collect();
        SyscallDelta { total, by_name }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_tracefs_in_proc_mounts() {
        let mounts = "sysfs /sys sysfs rw,nosuid 0 0\n\
                      nodev /sys/kernel/tracing tracefs rw,relatime 0 0\n";
        assert_eq!(
            tracefs_mount_point(mounts),
            Some(PathBuf::from("/sys/kernel/tracing"))
        );
        assert_eq!(tracefs_mount_point("proc /proc proc rw 0 0\n"), None);
    }

    #[test]
    fn tracepoint_id_explains_a_missing_tracefs() {
        let none = Reading::Unavailable("tracefs is not mounted".to_string());
        assert_eq!(
            tracepoint_id(&none, "raw_syscalls", "sys_enter"),
            Err("tracefs is not mounted".to_string())
        );
    }
}
