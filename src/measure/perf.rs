//! Kernel and hardware event counters through `perf_event_open(2)`.
//!
//! A perf event is a counter the kernel keeps *for one thread*: every time the
//! thread takes a page fault, is switched out by the scheduler, or (with a PMU)
//! retires an instruction, the kernel bumps the counter. We open every counter
//! for the calling thread only (`pid = 0, cpu = -1`, not inherited), with kernel
//! mode **included**: the whole point of zero-copy is work that moves out of user
//! space into the kernel, or disappears, so a user-only count would hide it.
//!
//! Three families, three groups (a group is enabled and disabled by one `ioctl`,
//! so all its members cover exactly the same instructions):
//! - **software** events (task-clock, scheduler switches, CPU migrations, minor
//!   and major page faults) are kept by the kernel itself and always count exactly;
//! - **hardware** events (cycles, instructions, cache misses) need a CPU PMU. A VM
//!   often has none (`ENOENT`). When the PMU has fewer free counters than asked
//!   for, the kernel time-shares them and the group runs only part of the time;
//!   we then scale by `time_enabled / time_running` and say so;
//! - **tracepoints** (syscall counts, see `syscalls.rs`) use the same machinery.
//!
//! Software and hardware events are *not* put in one group on purpose: a group
//! containing a hardware event is scheduled as a unit on the PMU, so if the PMU
//! is busy (NMI watchdog, another `perf`), the software counters would stop too
//! and exact counts would become estimates.
//!
//! The calls themselves go through the `perf-event2` crate (imported as
//! `perf_event`). Its predecessor `perf-event` 0.4.9 could not be used: its
//! `Builder::build` counted a member into the group *before* the syscall, so
//! when one member failed to open (e.g. `cycles` on a VM) `Group::read`
//! panicked. `perf-event2` counts a member only once it is open and sizes its
//! group read from what the kernel returns. Here a member that fails becomes
//! [`Reading::Unavailable`] with its reason and the others keep working.
//!
//! What these counters can NOT see: work the kernel does on behalf of this
//! thread in *another* context — softirq network processing on another CPU,
//! kernel threads (writeback, `ksoftirqd`), the receiving thread. Softirqs that
//! happen to run on this thread's CPU while it runs *are* charged to it. And
//! `sched_switches` counts the scheduler taking the CPU away (or the thread
//! giving it up), not user<->kernel mode switches: a syscall is a mode switch,
//! not a context switch.

use std::io;
use std::time::Duration;

use perf_event::events::{Hardware, Software};
use perf_event::{Builder, Counter, Group, ReadFormat};

use super::Reading;
use super::procfs::is_root;

/// Which kind of event: it decides how a failure to open is explained.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum EventClass {
    Software,
    Hardware,
    Tracepoint,
}

/// One event to open: its name (as reported), its class, and either the event
/// or the reason we could not even work it out (e.g. a tracepoint id that
/// tracefs would not give us).
pub(crate) struct EventSpec {
    pub name: &'static str,
    pub class: EventClass,
    pub event: Result<Builder<'static>, String>,
}

/// What a group read returns: every member's value and kernel id, and how long
/// the group was enabled and really counting.
fn group_read_format() -> ReadFormat {
    ReadFormat::GROUP
        | ReadFormat::ID
        | ReadFormat::TOTAL_TIME_ENABLED
        | ReadFormat::TOTAL_TIME_RUNNING
}

/// Who leads a group: every member is enabled, disabled and read through it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Leader {
    /// The first event that opens. Right when all events share one PMU.
    FirstEvent,
    /// A `PERF_COUNT_SW_DUMMY` event that counts nothing (what `perf` does).
    /// Needed for the software group, which spans two kernel PMUs (`task_clock`
    /// is its own PMU): with `task_clock` leading, Linux 6.18 loses the first
    /// scheduler switch after every re-enable (regression test
    /// `sched_switches_are_not_lost_after_reenable`).
    Dummy,
}

/// A perf group whose members may fail one by one: events that fail keep
/// their reason and the others keep working.
pub(crate) struct EventGroup {
    leader: Option<Counter>,
    /// Dropping a member's counter would remove it from the group: keep them.
    members: Vec<Counter>,
    /// Per spec, in the order given: the kernel id of the open event, or why not.
    slots: Vec<(&'static str, Result<u64, String>)>,
}

/// One read of a group: cumulative counts since the group was opened.
#[derive(Clone, Debug, Default)]
pub(crate) struct GroupSnapshot {
    time_enabled: u64,
    time_running: u64,
    /// `(kernel id, value)` pairs.
    values: Vec<(u64, u64)>,
}

/// What a group counted between two snapshots.
pub(crate) struct GroupDelta {
    /// Per spec, in the order given at open.
    pub values: Vec<Reading<u64>>,
    /// Share of the bracket the group was really on the PMU (1.0 = all of it).
    pub running_fraction: Reading<f64>,
}

/// Every counter zc opens: the calling thread only (the builder's default
/// `pid = 0, cpu = -1`, not inherited), kernel mode included, hypervisor time
/// excluded (not ours to explain, and counting it needs privileges).
fn counting<'b>(builder: &'b mut Builder<'static>) -> &'b mut Builder<'static> {
    builder.include_kernel().exclude_hv(true).inherit(false)
}

impl EventGroup {
    /// Opens every spec for the calling thread. Never fails as a whole.
    pub fn open(specs: &[EventSpec], leader: Leader, paranoid: Option<i32>) -> EventGroup {
        let mut group = EventGroup {
            leader: None,
            members: Vec::new(),
            slots: Vec::with_capacity(specs.len()),
        };
        let mut leader_failure = None;
        if leader == Leader::Dummy {
            match counting(&mut Group::builder()).build_group() {
                Ok(dummy) => group.leader = Some(dummy.into_counter()),
                Err(err) => {
                    leader_failure = Some(open_failure_reason(
                        errno(&err),
                        EventClass::Software,
                        paranoid,
                        is_root(),
                    ));
                }
            }
        }
        for spec in specs {
            let slot = match (&spec.event, &leader_failure) {
                (_, Some(reason)) | (Err(reason), None) => Err(reason.clone()),
                (Ok(builder), None) => match group.add(builder.clone()) {
                    Ok(id) => Ok(id),
                    Err(err) => Err(open_failure_reason(
                        errno(&err),
                        spec.class,
                        paranoid,
                        is_root(),
                    )),
                },
            };
            group.slots.push((spec.name, slot));
        }
        group
    }

    /// Opens one counting (never sampling) event, as the leader if there is
    /// none yet (only a leader starts disabled; members follow its state).
    fn add(&mut self, mut builder: Builder<'static>) -> io::Result<u64> {
        counting(&mut builder);
        let counter = match self.leader.as_mut() {
            Some(leader) => builder.enabled(true).build_with_group(leader)?,
            None => builder.read_format(group_read_format()).build()?,
        };
        let id = counter.id();
        if self.leader.is_none() {
            self.leader = Some(counter);
        } else {
            self.members.push(counter);
        }
        Ok(id)
    }

    /// Which events opened, and why the others did not.
    pub fn availability(&self) -> Vec<(&'static str, Reading<()>)> {
        self.slots
            .iter()
            .map(|(name, slot)| {
                let reading = match slot {
                    Ok(_) => Reading::Value(()),
                    Err(reason) => Reading::Unavailable(reason.clone()),
                };
                (*name, reading)
            })
            .collect()
    }

    pub fn enable(&mut self) -> io::Result<()> {
        self.leader.as_mut().map_or(Ok(()), Counter::enable_group)
    }

    pub fn disable(&mut self) -> io::Result<()> {
        self.leader.as_mut().map_or(Ok(()), Counter::disable_group)
    }

    /// Reads every member at once (one `read(2)` on the leader).
    pub fn snapshot(&mut self) -> io::Result<GroupSnapshot> {
        let Some(leader) = self.leader.as_mut() else {
            return Ok(GroupSnapshot::default());
        };
        let data = leader.read_group()?;
        let nanos = |d: Option<Duration>| d.map_or(0, |d| d.as_nanos() as u64);
        Ok(GroupSnapshot {
            time_enabled: nanos(data.time_enabled()),
            time_running: nanos(data.time_running()),
            values: data
                .iter()
                .map(|entry| (entry.id(), entry.value()))
                .collect(),
        })
    }

    /// Counts between two snapshots. `scale` = estimate the full-bracket count
    /// when the group was time-shared on the PMU (hardware only: software and
    /// tracepoint groups are never time-shared).
    pub fn delta(&self, start: &GroupSnapshot, end: &GroupSnapshot, scale: bool) -> GroupDelta {
        let enabled = end.time_enabled.saturating_sub(start.time_enabled);
        let running = end.time_running.saturating_sub(start.time_running);
        let never_ran = "the counters were enabled but never got onto the PMU \
                         (all hardware counters busy: NMI watchdog or another perf session?)";
        let running_fraction = if self.leader.is_none() {
            Reading::Unavailable("no counter of this group could be opened".into())
        } else if enabled == 0 || running == 0 {
            Reading::Unavailable(never_ran.into())
        } else {
            Reading::Value(running as f64 / enabled as f64)
        };
        let values = self
            .slots
            .iter()
            .map(|(_, slot)| match slot {
                Err(reason) => Reading::Unavailable(reason.clone()),
                Ok(id) => {
                    let find =
                        |s: &GroupSnapshot| s.values.iter().find(|(i, _)| i == id).map(|(_, v)| *v);
                    match (find(start), find(end)) {
                        (Some(a), Some(b)) => {
                            let raw = b.saturating_sub(a);
                            match (&running_fraction, scale) {
                                (Reading::Unavailable(why), true) => {
                                    Reading::Unavailable(why.clone())
                                }
                                (Reading::Value(f), true) if *f < 1.0 => {
                                    Reading::Value((raw as f64 / f).round() as u64)
                                }
                                _ => Reading::Value(raw),
                            }
                        }
                        _ => Reading::Unavailable(
                            "the kernel did not report this counter in its group".into(),
                        ),
                    }
                }
            })
            .collect();
        GroupDelta {
            values,
            running_fraction,
        }
    }
}

/// The errno of a failed open. `perf-event2` turns `E2BIG` (attributes this
/// kernel does not know) into an error of kind `Unsupported` without an errno.
fn errno(err: &io::Error) -> Option<i32> {
    err.raw_os_error()
        .or_else(|| (err.kind() == io::ErrorKind::Unsupported).then_some(libc::E2BIG))
}

/// Turns the errno of a failed `perf_event_open` into a sentence that says what
/// is wrong and what to change. Pure, so it can be unit-tested for every case.
pub(crate) fn open_failure_reason(
    errno: Option<i32>,
    class: EventClass,
    paranoid: Option<i32>,
    root: bool,
) -> String {
    let paranoid_text = paranoid.map_or_else(|| "unknown".to_string(), |p| p.to_string());
    match errno {
        Some(libc::ENOENT | libc::EOPNOTSUPP | libc::ENODEV) if class == EventClass::Hardware => {
            "no hardware PMU on this machine (VM?): the kernel has no such hardware event; \
             on a VM enable the virtual PMU (e.g. QEMU `-cpu host`, `pmu=on`)"
                .into()
        }
        Some(libc::ENOENT) if class == EventClass::Tracepoint => {
            "the kernel does not know this tracepoint (CONFIG_FTRACE_SYSCALLS off?)".into()
        }
        Some(libc::ENOENT | libc::EOPNOTSUPP | libc::ENODEV) => {
            "this kernel does not support this event".into()
        }
        Some(libc::EACCES | libc::EPERM) if root => {
            "permission denied even as root: a seccomp filter (container?) or kernel \
             lockdown forbids perf_event_open"
                .into()
        }
        Some(libc::EACCES | libc::EPERM)
            if paranoid.is_some_and(|p| p >= 3) && class != EventClass::Tracepoint =>
        {
            format!(
                "perf_event_paranoid={paranoid_text} forbids perf entirely for non-root \
                 (a distribution patch); run as root or `sysctl kernel.perf_event_paranoid=1`"
            )
        }
        Some(libc::EACCES | libc::EPERM) if class == EventClass::Tracepoint => format!(
            "perf_event_paranoid={paranoid_text} forbids counting tracepoints for non-root; \
             run as root or `sysctl kernel.perf_event_paranoid=-1`"
        ),
        Some(libc::EACCES | libc::EPERM) => format!(
            "perf_event_paranoid={paranoid_text} forbids kernel-mode counting for non-root; \
             run as root or `sysctl kernel.perf_event_paranoid=1`"
        ),
        Some(libc::ENOSYS) => "perf_event_open is not available: kernel built without \
                               CONFIG_PERF_EVENTS, or blocked by a seccomp filter"
            .into(),
        Some(libc::EMFILE | libc::ENFILE) => {
            "too many open files for another perf counter; raise `ulimit -n`".into()
        }
        Some(libc::EBUSY) => "another user holds the PMU exclusively; stop it and retry".into(),
        Some(libc::ENOSPC) => "no free hardware counter slot on the PMU".into(),
        Some(libc::EINVAL | libc::E2BIG) => {
            "the kernel rejected the event attributes: kernel too old for this event?".into()
        }
        Some(code) => format!(
            "perf_event_open failed: {}",
            io::Error::from_raw_os_error(code)
        ),
        None => "perf_event_open failed without an errno".into(),
    }
}

// --- The software and hardware counter sets -------------------------------

fn software_specs() -> [EventSpec; 5] {
    let sw = |name, event: Software| EventSpec {
        name,
        class: EventClass::Software,
        event: Ok(Builder::new(event)),
    };
    [
        sw("task_clock", Software::TASK_CLOCK),
        // perf calls it `context-switches`; it counts scheduler switches.
        sw("sched_switches", Software::CONTEXT_SWITCHES),
        sw("cpu_migrations", Software::CPU_MIGRATIONS),
        sw("minor_faults", Software::PAGE_FAULTS_MIN),
        sw("major_faults", Software::PAGE_FAULTS_MAJ),
    ]
}

fn hardware_specs() -> [EventSpec; 3] {
    let hw = |name, event: Hardware| EventSpec {
        name,
        class: EventClass::Hardware,
        event: Ok(Builder::new(event)),
    };
    [
        hw("cycles", Hardware::CPU_CYCLES),
        hw("instructions", Hardware::INSTRUCTIONS),
        hw("cache_misses", Hardware::CACHE_MISSES),
    ]
}

/// The software group and the hardware group of the calling thread.
pub(crate) struct PerfCounters {
    software: EventGroup,
    hardware: EventGroup,
}

/// Snapshot of both groups at the start of a bracket.
pub(crate) struct PerfSnapshot {
    software: GroupSnapshot,
    hardware: GroupSnapshot,
}

/// What the perf counters saw over one bracket.
pub(crate) struct PerfDelta {
    pub task_clock: Reading<Duration>,
    pub sched_switches: Reading<u64>,
    pub cpu_migrations: Reading<u64>,
    pub minor_faults: Reading<u64>,
    pub major_faults: Reading<u64>,
    pub cycles: Reading<u64>,
    pub instructions: Reading<u64>,
    pub cache_misses: Reading<u64>,
    pub hardware_running_fraction: Reading<f64>,
}

impl PerfDelta {
    /// Every perf reading unavailable for the same reason.
    pub fn unavailable(reason: &str) -> PerfDelta {
        let na = || Reading::Unavailable(reason.to_string());
        PerfDelta {
            task_clock: na().map(Duration::from_nanos),
            sched_switches: na(),
            cpu_migrations: na(),
            minor_faults: na(),
            major_faults: na(),
            cycles: na(),
            instructions: na(),
            cache_misses: na(),
            hardware_running_fraction: Reading::Unavailable(reason.to_string()),
        }
    }
}

/// The names [`PerfCounters::availability`] reports, in order.
pub(crate) fn counter_names() -> impl Iterator<Item = &'static str> {
    software_specs()
        .into_iter()
        .chain(hardware_specs())
        .map(|spec| spec.name)
}

impl PerfCounters {
    pub fn open(paranoid: Option<i32>) -> PerfCounters {
        PerfCounters {
            software: EventGroup::open(&software_specs(), Leader::Dummy, paranoid),
            hardware: EventGroup::open(&hardware_specs(), Leader::FirstEvent, paranoid),
        }
    }

    pub fn availability(&self) -> Vec<(&'static str, Reading<()>)> {
        let mut all = self.software.availability();
        all.extend(self.hardware.availability());
        all
    }

    pub fn snapshot(&mut self) -> io::Result<PerfSnapshot> {
        Ok(PerfSnapshot {
            software: self.software.snapshot()?,
            hardware: self.hardware.snapshot()?,
        })
    }

    pub fn enable(&mut self) -> io::Result<()> {
        self.software.enable()?;
        self.hardware.enable()
    }

    /// Disables in the reverse order of [`PerfCounters::enable`], so the
    /// software group brackets the hardware one.
    pub fn disable(&mut self) -> io::Result<()> {
        self.hardware.disable()?;
        self.software.disable()
    }

    pub fn delta(&self, start: &PerfSnapshot, end: &PerfSnapshot) -> PerfDelta {
        let sw = self.software.delta(&start.software, &end.software, false);
        let hw = self.hardware.delta(&start.hardware, &end.hardware, true);
        let mut sw = sw.values.into_iter();
        let mut hw_values = hw.values.into_iter();
        let next = |it: &mut std::vec::IntoIter<Reading<u64>>| {
            it.next()
                .unwrap_or_else(|| Reading::Unavailable("counter missing from its group".into()))
        };
        PerfDelta {
            task_clock: next(&mut sw).map(Duration::from_nanos),
            sched_switches: next(&mut sw),
            cpu_migrations: next(&mut sw),
            minor_faults: next(&mut sw),
            major_faults: next(&mut sw),
            cycles: next(&mut hw_values),
            instructions: next(&mut hw_values),
            cache_misses: next(&mut hw_values),
            hardware_running_fraction: hw.running_fraction,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn eacces_for_non_root_gives_paranoid_advice() {
        let why = open_failure_reason(Some(libc::EACCES), EventClass::Software, Some(2), false);
        assert!(why.contains("perf_event_paranoid=2"), "{why}");
        assert!(why.contains("sysctl kernel.perf_event_paranoid=1"), "{why}");
        let why = open_failure_reason(Some(libc::EACCES), EventClass::Hardware, Some(3), false);
        assert!(why.contains("forbids perf entirely"), "{why}");
        let why = open_failure_reason(Some(libc::EPERM), EventClass::Tracepoint, Some(3), false);
        assert!(
            why.contains("perf_event_paranoid=3") && why.contains("=-1"),
            "{why}"
        );
    }

    #[test]
    fn enoent_for_hardware_blames_the_missing_pmu() {
        for errno in [libc::ENOENT, libc::EOPNOTSUPP] {
            let why = open_failure_reason(Some(errno), EventClass::Hardware, Some(2), true);
            assert!(why.contains("no hardware PMU"), "{why}");
        }
        let why = open_failure_reason(Some(libc::ENOENT), EventClass::Tracepoint, None, true);
        assert!(why.contains("tracepoint"), "{why}");
    }

    #[test]
    fn eacces_as_root_does_not_blame_paranoid() {
        let why = open_failure_reason(Some(libc::EACCES), EventClass::Software, Some(2), true);
        assert!(!why.contains("paranoid"), "{why}");
        assert!(why.contains("seccomp"), "{why}");
    }

    #[test]
    fn failed_member_does_not_break_the_group() {
        // A member whose event cannot be resolved sits beside a working one.
        let specs = [
            EventSpec {
                name: "task_clock",
                class: EventClass::Software,
                event: Ok(Builder::new(Software::TASK_CLOCK)),
            },
            EventSpec {
                name: "bogus",
                class: EventClass::Software,
                event: Ok(Builder::new(Software(999_999))),
            },
        ];
        let mut group = EventGroup::open(&specs, Leader::Dummy, None);
        let start = group.snapshot().expect("snapshot");
        group.enable().expect("enable");
        std::hint::black_box((0..100_000u64).sum::<u64>());
        group.disable().expect("disable");
        let end = group.snapshot().expect("snapshot");
        let delta = group.delta(&start, &end, false);
        assert!(matches!(delta.values[1], Reading::Unavailable(ref r) if !r.is_empty()));
        // task_clock works wherever kernel-mode software counting is allowed.
        if let Reading::Value(ns) = delta.values[0] {
            assert!(ns > 0);
        }
    }
}
