//! Provenance: the facts that make a figure trustworthy and reproducible (fixture, cache
//! state, sink, congestion control, buffers, where the threads ran, the machine, which
//! counters worked), as (name, fact) pairs that every report prints its own way: the
//! terminal as a closing `setup:` section, Markdown as a list. Also which warnings are
//! worth showing, since a counter warning only repeats a `counters` fact.

use std::collections::{BTreeMap, BTreeSet};

use crate::bench::send::results::{BenchReport, CacheState, SinkPlace};
use crate::bench::send::sink::SinkKind;
use crate::bench::send::warnings::Warning;
use crate::bench::write::results::WriteReport;
use crate::measure::{Environment, Reading};
use crate::text::{count, wrap};
use crate::transfer::Mode;
use crate::units::format_size;

/// The closing "setup:" section of a terminal report: one named fact per line, wrapped
/// under its value.
pub(crate) fn setup_section(facts: Vec<(&'static str, String)>, wrap_at: Option<usize>) -> String {
    let mut out = String::from("setup:\n");
    for (name, fact) in facts {
        out.push_str(&wrap(
            &fact,
            wrap_at,
            &format!("  {name:<11} "),
            &" ".repeat(14),
        ));
    }
    out
}

/// The warnings worth printing: a counter warning only repeats a `counters` line of the
/// setup (same counters, same reason, and its fix is "see the reason"), so it is left to
/// that line rather than said a third time after the tables' footnotes.
pub(crate) fn shown_warnings(report: &BenchReport) -> Vec<&Warning> {
    report
        .warnings
        .iter()
        .filter(|w| match w {
            Warning::CounterUnavailable { reason, .. } => !report
                .setup
                .counters
                .iter()
                .any(|(_, r)| r.reason() == Some(reason.as_str())),
            _ => true,
        })
        .collect()
}

/// The provenance, as (name, fact) pairs for the terminal footer and the Markdown list.
pub(crate) fn setup_facts(report: &BenchReport) -> Vec<(&'static str, String)> {
    let setup = &report.setup;
    let f = &setup.fixture;
    let env = &setup.environment;
    let hash: String = f.blake3.chars().take(16).collect();
    // Only the in-process sink's kind, CPU and CPU time are known here.
    let remote = matches!(setup.sink_location, SinkPlace::Remote { .. });
    let sink = match setup.sink_location {
        SinkPlace::Remote { address } => format!(
            "remote zc sink at {address} (its kind, CPU and CPU time are measured on its \
             side){}",
            if setup.verify {
                ", its CRC-32C of every run checked against the fixture's"
            } else {
                ""
            }
        ),
        SinkPlace::InProcess => format!(
            "{}, {}{}",
            sink_kinds(setup.sink, report.rows.iter().map(|r| r.mode)),
            setup.sink_location,
            if setup.verify {
                ", verifying CRC-32C (an extra copy in the sink)"
            } else {
                ""
            }
        ),
    };
    let runs = report.rows.iter().flat_map(|r| &r.runs);
    let mut placement = pinning(
        setup.pin.map(|p| p.to_string()),
        remote,
        runs.clone().filter_map(|r| r.sender_cpu).collect(),
        runs.filter_map(|r| r.sink_cpu_id).collect(),
    );
    if setup.consumers > 1 {
        // RunRecord keeps one sender and one sink CPU per run: the first consumer's.
        placement.push_str(" (CPUs observed for the first consumer's threads)");
    }
    let mut facts = vec![
        (
            "fixture",
            format!(
                "{} ({}, {}, blake3 {hash}{})",
                f.path.display(),
                format_size(f.bytes),
                count(f.segments, "segment", "segments"),
                if f.default {
                    ", the default fixture"
                } else {
                    ""
                }
            ),
        ),
        (
            "cache",
            match setup.cache {
                CacheState::Warm => "warm (read once before the runs)".to_owned(),
                CacheState::Cold => {
                    "cold (dropped from the page cache before every run)".to_owned()
                }
            },
        ),
        ("sink", sink),
        (
            "congestion",
            format!("{} (read back from the socket)", setup.congestion),
        ),
        (
            "buffers",
            match setup.receive_buffer {
                Some(receive) => format!(
                    "send {}, receive {} (as the kernel reported them after the transfer)",
                    format_size(setup.send_buffer as u64),
                    format_size(receive as u64)
                ),
                None => format!(
                    "send {} (as the kernel reported it after the transfer); receive n/a \
                     (the remote sink's)",
                    format_size(setup.send_buffer as u64)
                ),
            },
        ),
        ("pinning", placement),
        (
            "runs",
            format!(
                "{} measured after {}, chunks {}",
                count(setup.runs as usize, "run", "runs"),
                count(setup.warmup as usize, "warm-up run", "warm-up runs"),
                setup
                    .chunks
                    .iter()
                    .map(|c| format_size(*c as u64))
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
        ),
    ];
    facts.extend(environment_facts(env, &setup.counters, &setup.zc_version));
    facts
}

/// The provenance of `zc bench write`, as (name, fact) pairs.
pub(crate) fn write_setup_facts(report: &WriteReport) -> Vec<(&'static str, String)> {
    let s = &report.setup;
    let device = match &s.device {
        Reading::Value(d) => format!(
            "{} ({}{}{})",
            d.name,
            d.sysfs,
            d.rotational.map_or(String::new(), |r| format!(
                ", rotational {}",
                if r {
                    "yes (as the kernel reports it)"
                } else {
                    "no"
                }
            )),
            d.write_cache
                .as_ref()
                .map_or(String::new(), |w| format!(", write cache: {w}")),
        ),
        Reading::Unavailable(why) => format!("n/a ({why})"),
    };
    let dirty: Vec<String> = s
        .dirty_settings
        .iter()
        .map(|(k, v)| format!("{k}={}", reading_text(v)))
        .collect();
    let mut facts = vec![
        (
            "log",
            format!(
                "{} records per run, values of {} + {}-byte keys, batches of {} records; \
                 one segment",
                s.records,
                format_size(s.record_size),
                s.key_size,
                s.batches
                    .iter()
                    .map(u32::to_string)
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
        ),
        ("dir", s.dir.display().to_string()),
        ("filesystem", reading_text(&s.filesystem)),
        ("device", device),
        ("writeback", dirty.join(", ")),
        (
            "runs",
            format!(
                "{} measured after {}, interleaved; each stops after --max-seconds {}",
                count(s.runs as usize, "run", "runs"),
                count(s.warmup as usize, "warm-up run", "warm-up runs"),
                s.max_seconds
            ),
        ),
    ];
    facts.extend(environment_facts(&s.environment, &s.counters, s.zc_version));
    facts
}

/// The facts of the machine every report ends its setup with: kernel, CPU, permissions,
/// which counters worked, zc's version and the environment's notes. Shared with
/// `zc bench write`'s report.
pub(crate) fn environment_facts(
    env: &Environment,
    counters: &[(String, Reading<()>)],
    zc_version: &str,
) -> Vec<(&'static str, String)> {
    let mut facts = vec![
        ("kernel", reading_text(&env.kernel_release)),
        (
            "CPU",
            format!(
                "{} ({} online)",
                reading_text(&env.cpu_model),
                reading_text(&env.cpus_online)
            ),
        ),
        (
            "permissions",
            format!(
                "perf_event_paranoid {}, {}",
                reading_text(&env.perf_event_paranoid),
                if env.root { "root" } else { "not root" }
            ),
        ),
    ];
    facts.extend(counter_facts(counters));
    facts.push(("zc", zc_version.to_owned()));
    facts.extend(env.notes.iter().map(|n| ("note", n.clone())));
    facts
}

/// The in-process sink's kind, from the modes measured: `--sink` serves the plaintext
/// modes, and a mode that encrypts is always received by a rustls client that reads and
/// decrypts (a splice sink cannot decrypt).
fn sink_kinds(sink: SinkKind, modes: impl Iterator<Item = Mode>) -> String {
    const TLS: &str = "a rustls client that reads and decrypts";
    let (encrypting, plain): (Vec<Mode>, Vec<Mode>) = modes.partition(|m| m.encrypts());
    let names: BTreeSet<&str> = encrypting.iter().map(|m| m.name()).collect();
    let names = names.into_iter().collect::<Vec<_>>().join(", ");
    match (plain.is_empty(), encrypting.is_empty()) {
        (_, true) => format!("{sink} sink"),
        (true, false) => format!("{TLS} ({names})"),
        (false, false) => format!("{sink} sink ({names} rows: {TLS})"),
    }
}

/// Where the threads ran, as observed at the end of each run (`RunRecord::sender_cpu`,
/// `sink_cpu_id`), every distinct CPU once; `pin` is the `--pin` asked for. A remote
/// sink is neither pinned by `--pin` nor observed from here.
fn pinning(
    pin: Option<String>,
    remote: bool,
    sender: BTreeSet<usize>,
    sink: BTreeSet<usize>,
) -> String {
    let verb = if pin.is_some() { "ran on" } else { "on" };
    let mut observed = vec![placed("sender", verb, &sender)];
    if !remote {
        observed.push(placed("sink", "on", &sink));
    }
    let observed = observed.join(", ");
    let remote_note = if remote {
        "; the remote sink's CPU is measured on its side"
    } else {
        ""
    };
    match pin {
        Some(pin) if remote => format!(
            "{observed} (pinned: --pin {pin}, whose sink CPU applies only to the \
             in-process sink){remote_note}"
        ),
        Some(pin) => format!("{observed} (pinned: --pin {pin})"),
        None => format!("not pinned; observed: {observed}{remote_note}"),
    }
}

/// `sender on CPU 0`, `sender on CPUs {0,1}`, or that it was not observed.
fn placed(role: &str, verb: &str, cpus: &BTreeSet<usize>) -> String {
    match cpus.len() {
        0 => format!("{role} CPU not observed"),
        1 => format!("{role} {verb} CPU {}", cpus.first().expect("one CPU")),
        _ => format!(
            "{role} {verb} CPUs {{{}}}",
            cpus.iter()
                .map(ToString::to_string)
                .collect::<Vec<_>>()
                .join(",")
        ),
    }
}

/// `counters: available: a, b` then one `n/a` line per distinct reason with its counters.
pub(crate) fn counter_facts(counters: &[(String, Reading<()>)]) -> Vec<(&'static str, String)> {
    let available: Vec<&str> = counters
        .iter()
        .filter(|(_, r)| r.value().is_some())
        .map(|(name, _)| name.as_str())
        .collect();
    // BTreeMap: a stable order, so the same machine always prints the same report.
    let mut missing: BTreeMap<&str, Vec<&str>> = BTreeMap::new();
    for (name, r) in counters {
        if let Some(why) = r.reason() {
            missing.entry(why).or_default().push(name.as_str());
        }
    }
    let mut facts = vec![(
        "counters",
        if available.is_empty() {
            "none available".to_owned()
        } else {
            format!("available: {}", available.join(", "))
        },
    )];
    facts.extend(
        missing
            .into_iter()
            .map(|(why, names)| ("counters", format!("n/a: {} ({why})", names.join(", ")))),
    );
    facts
}

pub(crate) fn reading_text<T: ToString>(r: &Reading<T>) -> String {
    match r {
        Reading::Value(v) => v.to_string(),
        Reading::Unavailable(why) => format!("n/a ({why})"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::bench::send::sample::{remote, sample_report};
    use crate::report::send::terminal::render;

    #[test]
    fn a_counter_warning_the_setup_does_not_repeat_is_kept() {
        let mut report = sample_report();
        report.warnings.push(Warning::CounterUnavailable {
            counter: "cache_misses".into(),
            reason: "only in the warning".into(),
        });
        assert_eq!(shown_warnings(&report).len(), 2);
    }

    #[test]
    fn remote_sink_setup_claims_nothing_about_the_remote_side() {
        let mut report = sample_report();
        report.setup.sink_location = remote("10.0.0.2:9000");
        report.setup.receive_buffer = None;
        let text = render(&report, None);
        assert!(
            text.contains(
                "sink        remote zc sink at 10.0.0.2:9000 (its kind, CPU and CPU time are \
                     measured on its side)\n"
            ),
            "{text}"
        );
        assert!(!text.contains("splice sink"), "{text}");
        assert!(
            text.contains(
                "send 4 MiB (as the kernel reported it after the transfer); receive n/a \
                     (the remote sink's)"
            ),
            "{text}"
        );
        assert!(
                text.contains("not pinned; observed: sender CPU not observed; the remote sink's CPU is measured on its side"),
                "{text}"
            );
        let text = render(&sample_report(), None);
        assert!(text.contains("splice sink, in-process thread"), "{text}");
    }

    #[test]
    fn the_sink_line_names_the_tls_client_for_the_modes_that_encrypt() {
        let modes = [Mode::Sendfile, Mode::Tls];
        assert_eq!(
            sink_kinds(SinkKind::Splice, modes.into_iter()),
            "splice sink (tls rows: a rustls client that reads and decrypts)"
        );
        assert_eq!(
            sink_kinds(SinkKind::Read, [Mode::Tls].into_iter()),
            "a rustls client that reads and decrypts (tls)"
        );
        assert_eq!(
            sink_kinds(SinkKind::Read, [Mode::Mmap].into_iter()),
            "read sink"
        );
    }

    #[test]
    fn pinning_reports_the_cpus_observed() {
        let set = |cpus: &[usize]| cpus.iter().copied().collect::<BTreeSet<usize>>();
        assert_eq!(
            pinning(Some("0,1".into()), false, set(&[0]), set(&[1])),
            "sender ran on CPU 0, sink on CPU 1 (pinned: --pin 0,1)"
        );
        assert_eq!(
            pinning(None, false, set(&[1, 0, 1]), set(&[1])),
            "not pinned; observed: sender on CPUs {0,1}, sink on CPU 1"
        );
        assert_eq!(
            pinning(None, false, set(&[]), set(&[])),
            "not pinned; observed: sender CPU not observed, sink CPU not observed"
        );
        assert_eq!(
            pinning(Some("2,3".into()), true, set(&[2]), set(&[])),
            "sender ran on CPU 2 (pinned: --pin 2,3, whose sink CPU applies only to the \
                 in-process sink); the remote sink's CPU is measured on its side"
        );
        // Through the report: no runs recorded in the sample.
        let text = render(&sample_report(), None);
        assert!(
            text.contains(
                "pinning     not pinned; observed: sender CPU not observed, sink CPU not observed"
            ),
            "{text}"
        );
    }
}
