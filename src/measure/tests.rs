//! Probe tests against the real kernel. Each test opens its own probe in its
//! own test thread, so parallel tests do not see each other's work.

use std::fs::OpenOptions;
use std::io::Write;
use std::os::fd::AsRawFd;
use std::time::{Duration, Instant};

use super::*;

/// Spins until this thread has used `cpu` of CPU time (not wall time: on a loaded
/// machine a thread gets only part of each wall-clock millisecond), or 10 s have passed.
fn busy_loop(cpu: Duration) -> u64 {
    let until = super::rusage::thread_cpu_time().expect("thread clock") + cpu;
    let give_up = Instant::now() + Duration::from_secs(10);
    let mut x = 1u64;
    while super::rusage::thread_cpu_time().expect("thread clock") < until
        && Instant::now() < give_up
    {
        for _ in 0..1000 {
            x = std::hint::black_box(x.wrapping_mul(6364136223846793005).wrapping_add(1));
        }
    }
    x
}

fn by_name(sample: &Sample, name: &str) -> Reading<u64> {
    sample
        .syscalls_by_name
        .iter()
        .find(|(n, _)| *n == name)
        .map(|(_, r)| r.clone())
        .unwrap_or_else(|| Reading::unavailable("missing"))
}

fn assert_has_reason<T: std::fmt::Debug>(r: &Reading<T>) {
    match r {
        Reading::Unavailable(why) => assert!(!why.trim().is_empty(), "empty reason"),
        Reading::Value(v) => panic!("expected Unavailable, got Value({v:?})"),
    }
}

#[test]
fn reading_serializes_as_value_or_reason() {
    let v: Reading<u64> = Reading::Value(42);
    let n: Reading<u64> = Reading::unavailable("no PMU");
    assert_eq!(serde_json::to_string(&v).expect("json"), "42");
    assert_eq!(
        serde_json::to_string(&n).expect("json"),
        r#"{"unavailable":"no PMU"}"#
    );
    assert_eq!(v.clone().map(|x| x * 2).value(), Some(&84));
    assert_eq!(n.clone().map(|x| x * 2).reason(), Some("no PMU"));
    assert_eq!(v.reason(), None);
    assert_eq!(n.into_value(), None);
}

#[test]
fn empty_bracket_gives_small_numbers() {
    let mut probe = Probe::open(&ProbeOptions::default());
    probe.start().expect("start");
    let s = probe.stop().expect("stop");
    assert!(s.wall < Duration::from_millis(50), "{:?}", s.wall);
    if let Reading::Value(n) = s.syscalls {
        assert!(n <= 10, "empty bracket counted {n} syscalls");
        let overhead = s
            .probe_overhead_syscalls
            .value()
            .copied()
            .expect("overhead");
        assert!(overhead <= n + 2, "overhead {overhead} vs {n}");
        assert!(s.transfer_syscalls().value().is_some_and(|t| *t <= 5));
    }
    if let Reading::Value(t) = s.task_clock {
        assert!(t < Duration::from_millis(20), "{t:?}");
    }
    if let Reading::Value(io) = s.io {
        assert_eq!(
            (io.rchar, io.wchar, io.syscr, io.syscw),
            (0, 0, 0, 0),
            "{io:?}"
        );
    }
    assert!(s.rusage.minor_faults < 100, "{:?}", s.rusage);
}

#[test]
fn thousand_writes_are_counted_kernel_side() {
    let mut null = OpenOptions::new()
        .write(true)
        .open("/dev/null")
        .expect("open /dev/null");
    let mut probe = Probe::open(&ProbeOptions::default());
    probe.start().expect("start");
    for _ in 0..1000 {
        null.write_all(b"x").expect("write");
    }
    let s = probe.stop().expect("stop");
    match (&s.syscalls, by_name(&s, "write")) {
        (Reading::Value(total), Reading::Value(writes)) => {
            assert!(writes >= 1000, "write tracepoint counted {writes}");
            assert!(*total >= writes, "total {total} < writes {writes}");
            assert!(
                s.syscall_mode_switches()
                    .value()
                    .is_some_and(|m| *m >= 2000)
            );
        }
        (total, writes) => {
            assert_has_reason(total);
            assert_has_reason(&writes);
        }
    }
    if let Reading::Value(io) = s.io {
        assert!(io.wchar >= 1000 && io.syscw >= 1000, "{io:?}");
    }
}

#[test]
fn task_clock_is_positive_around_a_busy_loop() {
    let mut probe = Probe::open(&ProbeOptions::default());
    probe.start().expect("start");
    busy_loop(Duration::from_millis(20));
    let s = probe.stop().expect("stop");
    match &s.task_clock {
        Reading::Value(t) => assert!(*t >= Duration::from_millis(5), "{t:?}"),
        other => assert_has_reason(other),
    }
    assert!(s.rusage.user_cpu + s.rusage.system_cpu <= s.wall + Duration::from_millis(20));
}

#[test]
fn hardware_counters_are_a_value_or_blame_the_pmu() {
    let mut probe = Probe::open(&ProbeOptions::default());
    probe.start().expect("start");
    busy_loop(Duration::from_millis(10));
    let s = probe.stop().expect("stop");
    for (name, r) in [("cycles", &s.cycles), ("instructions", &s.instructions)] {
        match r {
            Reading::Value(v) => assert!(*v > 0, "{name} read Value(0) around a busy loop"),
            Reading::Unavailable(why) => {
                let pmu_or_permission =
                    why.contains("PMU") || why.contains("paranoid") || why.contains("root");
                assert!(pmu_or_permission, "{name}: {why}");
            }
        }
    }
}

#[test]
fn probe_is_reusable_and_each_sample_starts_from_zero() {
    let mut null = OpenOptions::new()
        .write(true)
        .open("/dev/null")
        .expect("open /dev/null");
    let mut probe = Probe::open(&ProbeOptions::default());
    probe.start().expect("start");
    for _ in 0..500 {
        null.write_all(b"x").expect("write");
    }
    let first = probe.stop().expect("stop");
    probe.start().expect("start again");
    for _ in 0..10 {
        null.write_all(b"x").expect("write");
    }
    let second = probe.stop().expect("stop again");
    if let (Reading::Value(a), Reading::Value(b)) =
        (by_name(&first, "write"), by_name(&second, "write"))
    {
        assert_eq!((a, b), (500, 10));
    }
    if let (Reading::Value(a), Reading::Value(b)) = (&first.io, &second.io) {
        assert_eq!((a.wchar, b.wchar), (500, 10));
    }
}

#[test]
fn start_twice_or_stop_alone_is_an_error() {
    let mut probe = Probe::open(&ProbeOptions::default());
    assert!(probe.stop().is_err());
    probe.start().expect("start");
    assert!(probe.start().is_err());
    probe.stop().expect("stop");
}

#[test]
fn no_counters_says_why_and_still_measures_the_rest() {
    let mut probe = Probe::open(&ProbeOptions {
        counters: false,
        profile: false,
    });
    probe.start().expect("start");
    busy_loop(Duration::from_millis(5));
    let s = probe.stop().expect("stop");
    for r in [&s.sched_switches, &s.cycles, &s.syscalls] {
        assert!(
            r.reason().is_some_and(|w| w.contains("--no-counters")),
            "{r:?}"
        );
    }
    assert_has_reason(&s.task_clock);
    assert!(s.wall >= Duration::from_millis(5));
    assert!(s.io.value().is_some() || s.io.reason().is_some());
    let avail = probe.availability();
    assert!(
        avail
            .iter()
            .any(|(n, r)| *n == "cycles" && r.reason().is_some())
    );
    assert!(avail.iter().any(|(n, _)| *n == "sys_enter_sendfile64"));
}

#[test]
fn availability_matches_the_sample() {
    let mut probe = Probe::open(&ProbeOptions::default());
    let avail = probe.availability();
    probe.start().expect("start");
    let s = probe.stop().expect("stop");
    let works = |name: &str| {
        avail
            .iter()
            .find(|(n, _)| *n == name)
            .map(|(_, r)| r.value().is_some())
    };
    assert_eq!(works("task_clock"), Some(s.task_clock.value().is_some()));
    assert_eq!(
        works("sched_switches"),
        Some(s.sched_switches.value().is_some())
    );
    assert_eq!(works("cycles"), Some(s.cycles.value().is_some()));
    assert_eq!(works("syscalls"), Some(s.syscalls.value().is_some()));
    let json = serde_json::to_value(&s).expect("serialize");
    assert!(json["wall_ns"].is_u64());
    assert!(
        json["syscalls_by_name"]["sendfile64"].is_u64()
            || json["syscalls_by_name"]["sendfile64"]["unavailable"].is_string()
    );
}

/// Linux 6.18 dropped the first scheduler switch after each re-enable when
/// `task_clock` led the software group; a dummy leader fixed it.
#[test]
fn sched_switches_are_not_lost_after_reenable() {
    let mut probe = Probe::open(&ProbeOptions::default());
    for _ in 0..2 {
        probe.start().expect("start");
        for _ in 0..5 {
            std::thread::sleep(Duration::from_millis(1));
        }
        let s = probe.stop().expect("stop");
        match &s.sched_switches {
            Reading::Value(n) => {
                assert!(*n >= 5, "5 sleeps, {n} scheduler switches");
                let rusage =
                    s.rusage.voluntary_sched_switches + s.rusage.involuntary_sched_switches;
                assert!(
                    *n <= rusage,
                    "perf {n} > rusage {rusage} (rusage brackets wider)"
                );
            }
            other => assert_has_reason(other),
        }
    }
}

/// Summing two threads' samples adds every per-thread count, keeps an unavailable reading
/// unavailable, and takes the wall and machine figures from the caller.
#[test]
fn samples_of_several_threads_sum_per_thread_counts_only() {
    let mut probe = Probe::open(&ProbeOptions::default());
    let mut null = OpenOptions::new().write(true).open("/dev/null").unwrap();
    let mut take = |writes: usize| {
        probe.start().unwrap();
        for _ in 0..writes {
            null.write_all(b"x").unwrap();
        }
        probe.stop().unwrap()
    };
    let (a, b) = (take(3), take(5));
    let wall = Duration::from_millis(7);
    let sum = Sample::sum_of_threads(
        a.clone(),
        vec![b.clone()],
        wall,
        Reading::unavailable("machine"),
    );
    assert_eq!(sum.wall, wall);
    assert_eq!(sum.system_cpu, Reading::unavailable("machine"));
    let both = |x: &Reading<u64>, y: &Reading<u64>| match (x, y) {
        (Reading::Value(x), Reading::Value(y)) => Reading::Value(x + y),
        (Reading::Unavailable(w), _) | (_, Reading::Unavailable(w)) => {
            Reading::Unavailable(w.clone())
        }
    };
    assert_eq!(sum.syscalls, both(&a.syscalls, &b.syscalls));
    assert_eq!(
        sum.sched_switches,
        both(&a.sched_switches, &b.sched_switches)
    );
    assert_eq!(
        by_name(&sum, "write"),
        both(&by_name(&a, "write"), &by_name(&b, "write"))
    );
    if let Reading::Value(n) = by_name(&sum, "write") {
        assert!(n >= 8, "{n} writes counted for 3 + 5");
    }
    assert_eq!(
        sum.rusage.minor_faults,
        a.rusage.minor_faults + b.rusage.minor_faults
    );
    // The transfer's syscalls subtract both probes' overhead.
    assert_eq!(
        sum.transfer_syscalls(),
        both(&a.transfer_syscalls(), &b.transfer_syscalls())
    );
    // One sample alone comes back as it was.
    let alone = Sample::sum_of_threads(a.clone(), Vec::new(), wall, Reading::unavailable("x"));
    assert_eq!(alone.wall, a.wall);
    assert_eq!(alone.system_cpu, a.system_cpu);
}

/// The calls of tls (writev), msg-zerocopy (send, which the kernel sees as sendto, and
/// recvmsg) are counted by name, not only in the total.
#[test]
fn the_data_calls_of_the_newer_modes_are_counted_by_name() {
    use nix::sys::socket::{
        AddressFamily, MsgFlags, SockFlag, SockType, recvmsg, send, socketpair,
    };
    use std::io::IoSliceMut;
    let null = OpenOptions::new()
        .write(true)
        .open("/dev/null")
        .expect("open /dev/null");
    let (a, b) = socketpair(
        AddressFamily::Unix,
        SockType::Stream,
        None,
        SockFlag::empty(),
    )
    .expect("socketpair");
    let mut probe = Probe::open(&ProbeOptions::default());
    probe.start().expect("start");
    let mut buf = [0u8; 1];
    for _ in 0..100 {
        nix::sys::uio::writev(&null, &[std::io::IoSlice::new(b"x")]).expect("writev");
        send(a.as_raw_fd(), b"x", MsgFlags::empty()).expect("send");
        let mut iov = [IoSliceMut::new(&mut buf)];
        recvmsg::<()>(b.as_raw_fd(), &mut iov, None, MsgFlags::empty()).expect("recvmsg");
    }
    let s = probe.stop().expect("stop");
    for name in ["writev", "sendto", "recvmsg"] {
        match by_name(&s, name) {
            Reading::Value(n) => assert!(n >= 100, "{name} counted {n}"),
            other => assert_has_reason(&other),
        }
    }
}
