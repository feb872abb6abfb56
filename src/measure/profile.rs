//! The kernel's copies, observed: where a thread's CPU time went, by sampling.
//!
//! Counters say how much CPU a thread used, not on what. Here the perf *software* clock
//! (`cpu-clock`, no hardware PMU needed) interrupts the thread every [`PERIOD_NS`] of CPU
//! time it runs, kernel mode included, and the kernel records the call chain it
//! interrupted. Addresses are named with `/proc/kallsyms`. A sample whose chain passes
//! through one of [`COPY_ROUTINES`] was spent copying bytes between user memory, the page
//! cache and socket buffers; so `copy samples × period` estimates the CPU time the kernel
//! spent copying for this thread, and `copy samples / samples` its share of the thread's CPU.
//!
//! What it can and cannot tell:
//! - it is a statistical estimate: with N samples the share is known to about ±1/√N
//!   (a run of 0.15 s at 4 kHz gives ~600 samples);
//! - time, not bytes: bytes copied would need BPF programs on those routines (fentry),
//!   which this code does not load;
//! - a fault taken inside a copy (an mmap'd page touched for the first time by
//!   `copy_from_user`) counts as copying: the copy instruction is what waits for it;
//! - only the sampled thread: softirq work that runs while it is on the CPU is in, work
//!   the kernel does on other CPUs for it is not;
//! - sampling needs `perf_event_paranoid` <= 1 (kernel call chains) or root, and readable
//!   kernel addresses (`kptr_restrict`); otherwise every figure is `n/a` with the reason.

use std::collections::{BTreeMap, HashMap};
use std::fs;
use std::io;
use std::sync::OnceLock;

use perf_event::events::Software;
use perf_event::{Builder, SampleFlag, Sampler};
use serde::{Deserialize, Serialize};

use super::Reading;
use super::perf::{EventClass, open_failure_reason};
use super::procfs::is_root;

/// The kernel functions that copy data, as Linux 6.x names them on x86-64 (names this
/// kernel does not have are harmless). One list, printed with the results.
pub const COPY_ROUTINES: &[&str] = &[
    // user <-> kernel copies and their iov_iter wrappers
    "rep_movs_alternative",
    "copy_user_generic",
    "_copy_to_user",
    "_copy_from_user",
    "__copy_user_nocache",
    "_copy_to_iter",
    "_copy_from_iter",
    "_copy_from_iter_nocache",
    "copy_page_to_iter",
    "copy_page_from_iter",
    "copy_page_from_iter_atomic",
    "copy_mc_to_user",
    // socket buffers <-> iov_iter
    "skb_copy_datagram_iter",
    "skb_copy_datagram_from_iter",
    "simple_copy_to_iter",
    "skb_copy_bits",
    "csum_partial_copy_generic",
    "csum_and_copy_to_iter",
    "csum_and_copy_from_iter",
    // kernel memcpy/memmove
    "memcpy",
    "__memcpy",
    "memcpy_orig",
    "memcpy_erms",
    "memmove",
    "__memmove",
];

/// Sampling period in nanoseconds of the thread's CPU time (4 kHz). What sampling costs
/// is measured by `OFF=--no-profile scripts/counter-overhead`.
pub const PERIOD_NS: u64 = 250_000;

/// Bytes of ring buffer per sampled thread: ~30,000 samples, several seconds of CPU at
/// [`PERIOD_NS`], so a run never has to be drained while it runs.
const RING_BYTES: usize = 8 << 20;

/// How many leaf functions a profile keeps.
const TOP: usize = 12;

/// What the samples of one thread over one bracket showed.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct ThreadProfile {
    pub samples: u64,
    /// Samples whose kernel call chain passes through one of [`COPY_ROUTINES`].
    pub copy_samples: u64,
    /// Samples the ring buffer had no room for (0 unless a run is very long).
    pub lost: u64,
    pub period_ns: u64,
    /// The functions the samples landed in (`[user]` for user mode), most frequent first.
    pub top: Vec<(String, u64)>,
    /// Every sampled call chain, folded root first (`entry_SYSCALL_64;...;_copy_to_iter`,
    /// `[user]` for user mode), with its sample count: what a flame graph is drawn from.
    /// Kept in memory only: the JSON export would grow by thousands of lines per run.
    #[serde(skip)]
    pub stacks: BTreeMap<String, u64>,
}

impl ThreadProfile {
    /// Estimated CPU seconds the thread ran.
    pub fn cpu_s(&self) -> f64 {
        self.samples as f64 * self.period_ns as f64 / 1e9
    }

    /// Estimated CPU seconds the kernel spent copying for the thread.
    pub fn copy_s(&self) -> f64 {
        self.copy_samples as f64 * self.period_ns as f64 / 1e9
    }

    /// Share of the thread's CPU spent copying, if there was any sample.
    pub fn copy_share(&self) -> Option<f64> {
        (self.samples > 0).then(|| self.copy_samples as f64 / self.samples as f64)
    }

    /// Adds another bracket's samples (several consumers, several runs).
    pub fn merge(&mut self, other: &ThreadProfile) {
        self.samples += other.samples;
        self.copy_samples += other.copy_samples;
        self.lost += other.lost;
        self.period_ns = other.period_ns;
        let mut top: HashMap<String, u64> = self.top.drain(..).collect();
        for (f, n) in &other.top {
            *top.entry(f.clone()).or_default() += n;
        }
        self.top = most_frequent(top);
        for (stack, n) in &other.stacks {
            *self.stacks.entry(stack.clone()).or_default() += n;
        }
    }
}

/// The sum of several threads' or runs' profiles; unavailable if any of them is (a sum
/// with a hole in it is no sum), and `none` when there is nothing to add.
pub fn sum<'a>(
    profiles: impl IntoIterator<Item = &'a Reading<ThreadProfile>>,
    none: &str,
) -> Reading<ThreadProfile> {
    profiles
        .into_iter()
        .fold(Reading::unavailable(none), |sum, p| match (sum, p) {
            (_, Reading::Unavailable(why)) => Reading::Unavailable(why.clone()),
            (Reading::Value(mut a), Reading::Value(b)) => {
                a.merge(b);
                Reading::Value(a)
            }
            (Reading::Unavailable(_), Reading::Value(b)) => Reading::Value(b.clone()),
        })
}

fn most_frequent(counts: HashMap<String, u64>) -> Vec<(String, u64)> {
    let mut v: Vec<(String, u64)> = counts.into_iter().collect();
    v.sort_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
    v.truncate(TOP);
    v
}

/// The kernel's text symbols, sorted by address.
pub struct Kallsyms {
    addrs: Vec<u64>,
    names: Vec<String>,
}

impl Kallsyms {
    /// Read once per process: `/proc/kallsyms` has ~120,000 text symbols.
    pub fn get() -> Reading<&'static Kallsyms> {
        static CACHE: OnceLock<Reading<Kallsyms>> = OnceLock::new();
        CACHE.get_or_init(Kallsyms::load).as_ref()
    }

    fn load() -> Reading<Kallsyms> {
        let text = match fs::read_to_string("/proc/kallsyms") {
            Ok(t) => t,
            Err(e) => return Reading::Unavailable(format!("cannot read /proc/kallsyms: {e}")),
        };
        let syms = parse_kallsyms(&text);
        if syms.is_empty() {
            return Reading::Unavailable(
                "/proc/kallsyms shows no kernel addresses (kptr_restrict): run as root, or \
                 `sysctl kernel.kptr_restrict=0`"
                    .into(),
            );
        }
        let (addrs, names) = syms.into_iter().unzip();
        Reading::Value(Kallsyms { addrs, names })
    }

    /// The function containing `addr`, if it is in the kernel's text.
    pub fn resolve(&self, addr: u64) -> Option<&str> {
        let i = self.addrs.partition_point(|&a| a <= addr).checked_sub(1)?;
        Some(&self.names[i])
    }
}

/// `(address, name)` of every text symbol with a non-zero address, sorted.
fn parse_kallsyms(text: &str) -> Vec<(u64, String)> {
    let mut syms: Vec<(u64, String)> = text
        .lines()
        .filter_map(|line| {
            let mut f = line.split_whitespace();
            let addr = u64::from_str_radix(f.next()?, 16).ok()?;
            let kind = f.next()?;
            let name = f.next()?;
            (addr != 0 && matches!(kind, "t" | "T")).then(|| (addr, name.to_owned()))
        })
        .collect();
    syms.sort_unstable_by_key(|s| s.0);
    syms
}

/// `perf`'s markers inside a call chain (`PERF_CONTEXT_KERNEL` and friends) are the
/// values at or above this: they separate kernel from user frames, they are no address.
const PERF_CONTEXT_MAX: u64 = (-4095i64) as u64;

/// Samples the CPU time of one thread. Open it in the thread to sample.
pub struct ThreadSampler {
    sampler: Sampler,
    syms: &'static Kallsyms,
}

impl ThreadSampler {
    /// Opens a disabled sampler for the calling thread, or says why it cannot.
    pub fn open(paranoid: Option<i32>) -> Reading<ThreadSampler> {
        let syms = match Kallsyms::get() {
            Reading::Value(s) => s,
            Reading::Unavailable(why) => return Reading::Unavailable(why),
        };
        let opened = Builder::new(Software::CPU_CLOCK)
            .sample_period(PERIOD_NS)
            .sample(SampleFlag::IP | SampleFlag::CALLCHAIN)
            .include_kernel()
            .exclude_hv(true)
            .exclude_callchain_user(true)
            .build()
            .and_then(|counter| counter.sampled(RING_BYTES));
        match opened {
            Ok(sampler) => Reading::Value(ThreadSampler { sampler, syms }),
            Err(e) => Reading::Unavailable(format!(
                "cannot sample the CPU clock: {}",
                open_failure_reason(e.raw_os_error(), EventClass::Software, paranoid, is_root())
            )),
        }
    }

    pub fn enable(&mut self) -> io::Result<()> {
        self.sampler.as_counter_mut().enable()
    }

    pub fn disable(&mut self) -> io::Result<()> {
        self.sampler.as_counter_mut().disable()
    }

    /// Reads every sample taken since the last drain.
    ///
    /// Records are decoded here rather than with `perf-event2`'s parser, which fails
    /// (`Eof`) on a sample whose call chain is empty, i.e. every sample taken in user mode
    /// once user call chains are excluded. Our layout is fixed by the sample type we asked
    /// for: `ip`, then `nr` and `nr` call-chain addresses.
    pub fn drain(&mut self) -> ThreadProfile {
        let mut profile = ThreadProfile {
            period_ns: PERIOD_NS,
            ..ThreadProfile::default()
        };
        let mut leaves: HashMap<String, u64> = HashMap::new();
        let syms = self.syms;
        while let Some(record) = self.sampler.next_record() {
            let words: Vec<u64> = record
                .to_vec()
                .chunks_exact(8)
                .map(|c| u64::from_ne_bytes(c.try_into().unwrap_or([0; 8])))
                .collect();
            match record.ty() {
                PERF_RECORD_SAMPLE => {
                    let nr = words.get(1).map_or(0, |&n| n as usize);
                    let chain = words.get(2..2 + nr).unwrap_or_default();
                    count(syms, chain, &mut profile, &mut leaves);
                }
                PERF_RECORD_LOST => profile.lost += words.get(1).copied().unwrap_or(0),
                _ => {}
            }
        }
        profile.top = most_frequent(leaves);
        profile
    }
}

/// Adds one sample, given its kernel call chain (leaf first; empty in user mode).
fn count(
    syms: &Kallsyms,
    chain: &[u64],
    profile: &mut ThreadProfile,
    leaves: &mut HashMap<String, u64>,
) {
    let frames: Vec<&str> = chain
        .iter()
        .filter(|&&a| a < PERF_CONTEXT_MAX)
        .filter_map(|&a| syms.resolve(a))
        .collect();
    profile.samples += 1;
    if frames.iter().any(|f| COPY_ROUTINES.contains(f)) {
        profile.copy_samples += 1;
    }
    let leaf = frames.first().copied().unwrap_or("[user]");
    *leaves.entry(leaf.to_owned()).or_default() += 1;
    let folded = if frames.is_empty() {
        "[user]".to_owned()
    } else {
        frames.iter().rev().copied().collect::<Vec<_>>().join(";")
    };
    *profile.stacks.entry(folded).or_default() += 1;
}

/// `PERF_RECORD_SAMPLE` and `PERF_RECORD_LOST` (`perf_event_open(2)`, "MMAP layout").
const PERF_RECORD_SAMPLE: u32 = 9;
const PERF_RECORD_LOST: u32 = 2;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kallsyms_text_symbols_resolve_to_the_enclosing_function() {
        let text = "ffffffff81000000 T _stext\n\
                    ffffffff81001000 t rep_movs_alternative\n\
                    ffffffff81002000 D some_data\n\
                    0000000000000000 T hidden\n\
                    ffffffff81003000 T _copy_to_iter\t[kernel]\n";
        let syms = parse_kallsyms(text);
        assert_eq!(syms.len(), 3);
        let (addrs, names) = syms.into_iter().unzip();
        let k = Kallsyms { addrs, names };
        assert_eq!(k.resolve(0xffffffff81001010), Some("rep_movs_alternative"));
        assert_eq!(k.resolve(0xffffffff81002010), Some("rep_movs_alternative"));
        assert_eq!(k.resolve(0xffffffff81003000), Some("_copy_to_iter"));
        assert_eq!(k.resolve(0x1000), None);
    }

    #[test]
    fn merged_profiles_add_up() {
        let a = ThreadProfile {
            samples: 10,
            copy_samples: 4,
            period_ns: PERIOD_NS,
            top: vec![("_copy_to_iter".into(), 4), ("[user]".into(), 6)],
            stacks: BTreeMap::from([
                ("entry_SYSCALL_64;_copy_to_iter".into(), 4),
                ("[user]".into(), 6),
            ]),
            ..ThreadProfile::default()
        };
        let mut b = a.clone();
        b.merge(&a);
        assert_eq!((b.samples, b.copy_samples), (20, 8));
        assert_eq!(b.top[0], ("[user]".to_string(), 12));
        assert_eq!(b.stacks["entry_SYSCALL_64;_copy_to_iter"], 8);
        assert_eq!(b.copy_share(), Some(0.4));
        assert!((b.copy_s() - 8.0 * 250e-6).abs() < 1e-12);
    }

    #[test]
    fn a_busy_thread_is_sampled_where_root_may_sample() {
        let Reading::Value(mut sampler) = ThreadSampler::open(None) else {
            // Where sampling is refused, the reason is what the report shows.
            return;
        };
        sampler.enable().unwrap();
        let start = std::time::Instant::now();
        let mut x = 0u64;
        while start.elapsed() < std::time::Duration::from_millis(100) {
            x = std::hint::black_box(x.wrapping_mul(31).wrapping_add(7));
        }
        sampler.disable().unwrap();
        let p = sampler.drain();
        assert!(p.samples > 0, "{p:?}");
        assert!(p.top.iter().any(|(f, _)| f == "[user]"), "{p:?}");
        assert_eq!(p.stacks.values().sum::<u64>(), p.samples, "{p:?}");
    }
}
