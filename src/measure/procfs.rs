//! Facts the kernel publishes as text under `/proc`.
//!
//! - `/proc/thread-self/io`: bytes this thread moved. `rchar`/`wchar` count what
//!   passed through read-like and write-like syscalls (sockets and pipes too,
//!   sendfile on both sides); touching an mmap'ed file is not a syscall, so it
//!   adds nothing there — a lesson in itself. `read_bytes` is what really came
//!   from storage because this thread missed the page cache; `write_bytes` is
//!   what it dirtied for writeback. Needs `CONFIG_TASK_IO_ACCOUNTING`.
//!   It can NOT see readahead or writeback done later by kernel threads.
//! - `/proc/stat`: CPU time of the whole machine, in clock ticks (`USER_HZ`,
//!   usually 100/s, so 10 ms resolution). Network work done in softirq context,
//!   or by kernel threads, is charged to neither the sender nor the sink thread;
//!   the system-wide busy time is the only place it shows. It also includes
//!   everything else running on the machine: keep the machine quiet.
//! - provenance facts: `perf_event_paranoid`, CPU model, kernel release.

use std::fs::{self, File};
use std::io;
use std::os::unix::fs::FileExt;
use std::time::Duration;

use serde::Serialize;

use super::Reading;

// --- /proc/thread-self/io ---------------------------------------------------

/// One reading of `/proc/thread-self/io`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(crate) struct ProcIo {
    rchar: u64,
    wchar: u64,
    syscr: u64,
    syscw: u64,
    read_bytes: u64,
    write_bytes: u64,
    cancelled_write_bytes: u64,
}

/// Bytes the thread moved over one bracket, as `/proc/thread-self/io` counts them.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize)]
pub struct IoDelta {
    /// Bytes returned by read-like syscalls (any file, socket or pipe).
    pub rchar: u64,
    /// Bytes passed to write-like syscalls.
    pub wchar: u64,
    /// Read-like syscalls (sendfile counts as one read and one write).
    pub syscr: u64,
    /// Write-like syscalls.
    pub syscw: u64,
    /// Bytes this thread caused to be fetched from storage (page-cache misses).
    pub read_bytes: u64,
    /// Bytes this thread dirtied, to be written back later.
    pub write_bytes: u64,
    /// Dirtied bytes that were truncated away before writeback.
    pub cancelled_write_bytes: u64,
}

impl IoDelta {
    /// Field by field sum: what two threads moved together.
    pub fn plus(&self, o: &IoDelta) -> IoDelta {
        IoDelta {
            rchar: self.rchar + o.rchar,
            wchar: self.wchar + o.wchar,
            syscr: self.syscr + o.syscr,
            syscw: self.syscw + o.syscw,
            read_bytes: self.read_bytes + o.read_bytes,
            write_bytes: self.write_bytes + o.write_bytes,
            cancelled_write_bytes: self.cancelled_write_bytes + o.cancelled_write_bytes,
        }
    }
}

pub(crate) fn parse_io(text: &str) -> Result<ProcIo, String> {
    let mut io = ProcIo::default();
    let mut seen = 0;
    for line in text.lines() {
        let Some((key, value)) = line.split_once(':') else {
            continue;
        };
        let value: u64 = value
            .trim()
            .parse()
            .map_err(|e| format!("bad value for {key} in /proc/thread-self/io: {e}"))?;
        let field = match key.trim() {
            "rchar" => &mut io.rchar,
            "wchar" => &mut io.wchar,
            "syscr" => &mut io.syscr,
            "syscw" => &mut io.syscw,
            "read_bytes" => &mut io.read_bytes,
            "write_bytes" => &mut io.write_bytes,
            "cancelled_write_bytes" => &mut io.cancelled_write_bytes,
            _ => continue,
        };
        *field = value;
        seen += 1;
    }
    if seen < 7 {
        return Err("unexpected format of /proc/thread-self/io".into());
    }
    Ok(io)
}

/// `/proc/thread-self/io` of the thread that opened it, kept open so that a
/// reading costs exactly one `pread` syscall.
pub(crate) struct IoReader {
    file: File,
}

/// A reading plus the bytes the reading itself returned: the read is counted in
/// `rchar` and `syscr` *after* it returns, so the start-of-bracket read shows up
/// in the bracket. Knowing its size lets us subtract it exactly.
pub(crate) struct IoSnapshot {
    io: ProcIo,
    own_bytes: u64,
}

impl IoReader {
    /// Opens the calling thread's io file (`thread-self` is resolved now: the
    /// reader keeps reporting on this thread).
    pub fn open() -> Reading<IoReader> {
        match File::open("/proc/thread-self/io") {
            Ok(file) => Reading::Value(IoReader { file }),
            Err(e) if e.kind() == io::ErrorKind::NotFound => Reading::Unavailable(
                "no /proc/thread-self/io: kernel built without CONFIG_TASK_IO_ACCOUNTING \
                 (or Linux < 3.17)"
                    .into(),
            ),
            Err(e) => Reading::Unavailable(format!("cannot open /proc/thread-self/io: {e}")),
        }
    }

    pub fn snapshot(&self) -> io::Result<IoSnapshot> {
        let mut buf = [0u8; 1024];
        let n = self.file.read_at(&mut buf, 0)?;
        let text = std::str::from_utf8(&buf[..n])
            .map_err(|e| io::Error::new(io::ErrorKind::InvalidData, e))?;
        let io = parse_io(text).map_err(|e| io::Error::new(io::ErrorKind::InvalidData, e))?;
        Ok(IoSnapshot {
            io,
            own_bytes: n as u64,
        })
    }
}

impl IoSnapshot {
    /// The delta from `start` to `self`, minus the one `pread` that took `start`.
    pub fn since(&self, start: &IoSnapshot) -> IoDelta {
        let (a, b) = (&start.io, &self.io);
        IoDelta {
            rchar: b
                .rchar
                .saturating_sub(a.rchar)
                .saturating_sub(start.own_bytes),
            wchar: b.wchar.saturating_sub(a.wchar),
            syscr: b.syscr.saturating_sub(a.syscr).saturating_sub(1),
            syscw: b.syscw.saturating_sub(a.syscw),
            read_bytes: b.read_bytes.saturating_sub(a.read_bytes),
            write_bytes: b.write_bytes.saturating_sub(a.write_bytes),
            cancelled_write_bytes: b
                .cancelled_write_bytes
                .saturating_sub(a.cancelled_write_bytes),
        }
    }
}

// --- machine-wide busy CPU ---------------------------------------------------

/// Busy CPU time of the whole machine (all CPUs summed).
///
/// Two sources, best first:
/// - cpuidle residency (`/sys/devices/system/cpu/cpuN/cpuidle/stateK/time`, microseconds
///   each CPU spent idle per idle state): busy = elapsed - idle, per CPU. A CPU adds an
///   idle period to these counters only when it *wakes up*, so a snapshot taken while a
///   CPU sleeps would miss (or later misattribute) its current idle period. The snapshot
///   therefore visits every CPU in turn (sets this thread's affinity to it): a CPU that is
///   running us is awake, so its counters are exact at that moment. Microsecond
///   resolution, so it works for the ~50 ms runs of a 256 MiB log. The visits happen
///   outside the timed region.
/// - `/proc/stat`'s aggregate `cpu` line, in ticks of 10 ms: only meaningful over a second
///   or more, so shorter brackets are refused rather than reported as noise.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SystemCpu {
    source: CpuSource,
}

#[derive(Clone, Debug, PartialEq, Eq)]
enum CpuSource {
    /// Per CPU: idle microseconds so far, and when they were read.
    CpuIdle(Vec<(u64, std::time::Instant)>),
    ProcStat {
        busy_ticks: u64,
        at: std::time::Instant,
    },
}

/// Shortest bracket /proc/stat's 10 ms ticks can measure to about 1%.
const MIN_PROC_STAT_SPAN: Duration = Duration::from_secs(1);

impl SystemCpu {
    pub fn now() -> io::Result<SystemCpu> {
        if let Some(per_cpu) = cpuidle_snapshot() {
            return Ok(SystemCpu {
                source: CpuSource::CpuIdle(per_cpu),
            });
        }
        let at = std::time::Instant::now();
        let text = fs::read_to_string("/proc/stat")?;
        let busy_ticks =
            parse_stat(&text).map_err(|e| io::Error::new(io::ErrorKind::InvalidData, e))?;
        Ok(SystemCpu {
            source: CpuSource::ProcStat { busy_ticks, at },
        })
    }

    /// Busy time of all CPUs between `earlier` and `self`, or why it cannot be told.
    pub fn since(&self, earlier: &SystemCpu) -> Result<Duration, String> {
        match (&self.source, &earlier.source) {
            (CpuSource::CpuIdle(now), CpuSource::CpuIdle(before)) if now.len() == before.len() => {
                let busy_us: u64 = now
                    .iter()
                    .zip(before)
                    .map(|(&(idle, at), &(idle0, at0))| {
                        let elapsed = at.duration_since(at0).as_micros() as u64;
                        elapsed.saturating_sub(idle.saturating_sub(idle0))
                    })
                    .sum();
                Ok(Duration::from_micros(busy_us))
            }
            (
                CpuSource::ProcStat { busy_ticks, at },
                CpuSource::ProcStat {
                    busy_ticks: ticks0,
                    at: at0,
                },
            ) => {
                let span = at.duration_since(*at0);
                if span < MIN_PROC_STAT_SPAN {
                    return Err(format!(
                        "the run took {:.0} ms and /proc/stat counts in 10 ms ticks (this machine has no cpuidle residency counters): use a larger --fixture so a run lasts 1 s or more",
                        span.as_secs_f64() * 1e3
                    ));
                }
                let ticks = busy_ticks.saturating_sub(*ticks0);
                let hz = clock_ticks_per_second().max(1);
                Ok(Duration::from_nanos(
                    ticks.saturating_mul(1_000_000_000) / hz,
                ))
            }
            _ => Err(
                "the set of CPUs or the CPU idle counters changed between the two readings".into(),
            ),
        }
    }
}

/// Idle microseconds of every online CPU, each read while this thread runs on that CPU;
/// `None` unless every online CPU has cpuidle counters and may be visited. The thread's
/// CPU affinity is restored afterwards.
fn cpuidle_snapshot() -> Option<Vec<(u64, std::time::Instant)>> {
    use nix::sched::{CpuSet, sched_getaffinity, sched_setaffinity};
    use nix::unistd::Pid;
    let online = fs::read_to_string("/sys/devices/system/cpu/online").ok()?;
    let cpus = parse_cpu_list(online.trim())?;
    let original = sched_getaffinity(Pid::from_raw(0)).ok()?;
    let mut per_cpu = Vec::with_capacity(cpus.len());
    for &cpu in &cpus {
        let mut only = CpuSet::new();
        if only.set(cpu as usize).is_err() || sched_setaffinity(Pid::from_raw(0), &only).is_err() {
            break;
        }
        match cpu_idle_us(cpu) {
            Some(idle) => per_cpu.push((idle, std::time::Instant::now())),
            None => break,
        }
    }
    // Restore first, whatever happened: a pinned sender must stay pinned.
    sched_setaffinity(Pid::from_raw(0), &original).ok()?;
    (per_cpu.len() == cpus.len()).then_some(per_cpu)
}

/// Total microseconds `cpu` spent in all its cpuidle states.
fn cpu_idle_us(cpu: u32) -> Option<u64> {
    let dir = format!("/sys/devices/system/cpu/cpu{cpu}/cpuidle");
    let mut total = 0u64;
    let mut states = 0;
    for entry in fs::read_dir(&dir).ok()? {
        let path = entry.ok()?.path().join("time");
        total += fs::read_to_string(path).ok()?.trim().parse::<u64>().ok()?;
        states += 1;
    }
    (states > 0).then_some(total)
}

/// Parses a kernel CPU list such as `0-3,8,10-11`.
fn parse_cpu_list(text: &str) -> Option<Vec<u32>> {
    let mut cpus = Vec::new();
    for part in text.split(',') {
        match part.split_once('-') {
            Some((a, b)) => cpus.extend(a.parse::<u32>().ok()?..=b.parse::<u32>().ok()?),
            None => cpus.push(part.parse().ok()?),
        }
    }
    Some(cpus)
}

/// Parses the aggregate `cpu` line. Busy is the sum of user, nice, system, irq,
/// softirq and steal; idle and iowait are not busy; guest time is already inside
/// user and nice, so it is not added again.
pub(crate) fn parse_stat(text: &str) -> Result<u64, String> {
    let line = text
        .lines()
        .find(|l| l.split_whitespace().next() == Some("cpu"))
        .ok_or("no aggregate cpu line in /proc/stat")?;
    let fields: Vec<u64> = line
        .split_whitespace()
        .skip(1)
        .map(str::parse)
        .collect::<Result<_, _>>()
        .map_err(|e| format!("bad number in /proc/stat cpu line: {e}"))?;
    if fields.len() < 8 {
        return Err("short cpu line in /proc/stat".into());
    }
    // user nice system idle iowait irq softirq steal [guest guest_nice]
    Ok(fields[0] + fields[1] + fields[2] + fields[5] + fields[6] + fields[7])
}

/// `USER_HZ`: the unit of `/proc/stat`.
fn clock_ticks_per_second() -> u64 {
    // SAFETY: sysconf has no memory effects; it only returns a value.
    let hz = unsafe { libc::sysconf(libc::_SC_CLK_TCK) };
    u64::try_from(hz).unwrap_or(100)
}

// --- Provenance -------------------------------------------------------------

/// The effective user id (what the kernel checks for perf and mount permission).
pub(crate) fn euid() -> u32 {
    // SAFETY: geteuid cannot fail and touches no memory of ours.
    unsafe { libc::geteuid() }
}

pub(crate) fn is_root() -> bool {
    euid() == 0
}

fn read_trimmed(path: &str) -> Reading<String> {
    match fs::read_to_string(path) {
        Ok(s) => Reading::Value(s.trim().to_string()),
        Err(e) => Reading::Unavailable(format!("cannot read {path}: {e}")),
    }
}

/// `kernel.perf_event_paranoid`: 2 or more forbids kernel-mode counting for
/// non-root users, 3 (some distributions) forbids perf entirely for them.
pub fn perf_event_paranoid() -> Reading<i32> {
    let path = "/proc/sys/kernel/perf_event_paranoid";
    match read_trimmed(path) {
        Reading::Value(s) => s.parse().map_or_else(
            |e| Reading::Unavailable(format!("bad value in {path}: {e}")),
            Reading::Value,
        ),
        Reading::Unavailable(why) => Reading::Unavailable(why),
    }
}

pub fn kernel_release() -> Reading<String> {
    read_trimmed("/proc/sys/kernel/osrelease")
}

/// The CPU's marketing name (x86 `model name`; ARM and others name it differently).
pub fn cpu_model() -> Reading<String> {
    let text = match fs::read_to_string("/proc/cpuinfo") {
        Ok(t) => t,
        Err(e) => return Reading::Unavailable(format!("cannot read /proc/cpuinfo: {e}")),
    };
    parse_cpu_model(&text).map_or_else(
        || Reading::Unavailable("no CPU model name in /proc/cpuinfo".into()),
        Reading::Value,
    )
}

fn parse_cpu_model(cpuinfo: &str) -> Option<String> {
    ["model name", "Processor", "cpu model", "uarch", "cpu"]
        .iter()
        .find_map(|wanted| {
            cpuinfo.lines().find_map(|line| {
                let (key, value) = line.split_once(':')?;
                (key.trim() == *wanted && !value.trim().is_empty())
                    .then(|| value.trim().to_string())
            })
        })
}

pub fn cpus_online() -> Reading<usize> {
    // SAFETY: sysconf has no memory effects; it only returns a value.
    let n = unsafe { libc::sysconf(libc::_SC_NPROCESSORS_ONLN) };
    usize::try_from(n).map_or_else(
        |_| Reading::Unavailable("sysconf(_SC_NPROCESSORS_ONLN) failed".into()),
        Reading::Value,
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_the_aggregate_cpu_line() {
        let text = "cpu  3995 7 1785 35772 502 11 15 20 100 3\n\
                    cpu0 2000 0 900 17000 250 5 8 10 0 0\n\
                    intr 12345 0 0\n";
        let busy = parse_stat(text).expect("parse");
        assert_eq!(busy, 3995 + 7 + 1785 + 11 + 15 + 20);
        assert!(parse_stat("cpu0 1 2 3\n").is_err());
    }

    #[test]
    fn proc_stat_refuses_spans_shorter_than_its_ticks_allow() {
        let t0 = std::time::Instant::now();
        let at = |busy_ticks, after| SystemCpu {
            source: CpuSource::ProcStat {
                busy_ticks,
                at: t0 + after,
            },
        };
        let hz = clock_ticks_per_second();
        let long = at(hz, Duration::from_secs(2)).since(&at(0, Duration::ZERO));
        assert_eq!(long, Ok(Duration::from_secs(1)));
        let short = at(1, Duration::from_millis(50)).since(&at(0, Duration::ZERO));
        assert!(short.unwrap_err().contains("10 ms ticks"));
    }

    #[test]
    fn cpuidle_busy_is_elapsed_minus_idle_per_cpu() {
        let t0 = std::time::Instant::now();
        let ms = Duration::from_millis;
        let before = SystemCpu {
            source: CpuSource::CpuIdle(vec![(0, t0), (1_000, t0)]),
        };
        // 100 ms on each CPU; CPU 0 idle 70 ms, CPU 1 idle 80 ms -> 30 + 20 ms busy.
        let after = SystemCpu {
            source: CpuSource::CpuIdle(vec![(70_000, t0 + ms(100)), (81_000, t0 + ms(100))]),
        };
        assert_eq!(after.since(&before), Ok(ms(50)));
    }

    #[test]
    fn a_busy_thread_is_counted_and_busy_never_exceeds_capacity() {
        let outer = std::time::Instant::now();
        let Ok(start) = SystemCpu::now() else { return };
        let spin = std::time::Instant::now();
        while spin.elapsed() < Duration::from_millis(50) {
            std::hint::black_box(0u64);
        }
        let end = SystemCpu::now().unwrap();
        // The window includes the sampling itself, which on a loaded machine can wait
        // a while to run on each CPU in turn.
        let window = outer.elapsed();
        let busy = end.since(&start);
        if let CpuSource::CpuIdle(cpus) = &start.source {
            let busy = busy.unwrap();
            // Whatever else the machine does: our spinning CPU was busy the whole time,
            // and no CPU can be busy for longer than the window.
            assert!(busy >= Duration::from_millis(45), "{busy:?}");
            let capacity = window * cpus.len() as u32;
            assert!(busy <= capacity, "{busy:?} > {capacity:?}");
        }
    }

    #[test]
    fn cpu_lists_parse() {
        assert_eq!(
            parse_cpu_list("0-3,8,10-11"),
            Some(vec![0, 1, 2, 3, 8, 10, 11])
        );
        assert_eq!(parse_cpu_list("0"), Some(vec![0]));
        assert_eq!(parse_cpu_list("x"), None);
    }

    #[test]
    fn parses_proc_io() {
        let text = "rchar: 6976\nwchar: 12\nsyscr: 10\nsyscw: 1\nread_bytes: 4096\n\
                    write_bytes: 0\ncancelled_write_bytes: 0\n";
        let io = parse_io(text).expect("parse");
        assert_eq!((io.rchar, io.syscr, io.read_bytes), (6976, 10, 4096));
        assert!(parse_io("rchar: 1\n").is_err());
    }

    #[test]
    fn io_delta_excludes_its_own_read() {
        let Reading::Value(reader) = IoReader::open() else {
            return; // no task io accounting on this kernel
        };
        let start = reader.snapshot().expect("snapshot");
        let end = reader.snapshot().expect("snapshot");
        let delta = end.since(&start);
        assert_eq!((delta.rchar, delta.syscr), (0, 0), "{delta:?}");
    }

    #[test]
    fn finds_a_cpu_model() {
        let x86 = "processor\t: 0\nmodel name\t: AMD EPYC 7B13\n";
        assert_eq!(parse_cpu_model(x86).as_deref(), Some("AMD EPYC 7B13"));
        assert_eq!(parse_cpu_model("processor : 0\n"), None);
    }
}
