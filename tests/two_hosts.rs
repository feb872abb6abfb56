//! Two hosts on one machine: two network namespaces joined by a veth pair, so the bytes
//! cross a real network device (its queue, its MTU, its offloads, softirq on the receive
//! side) instead of loopback. `zc sink --listen` runs in one namespace and
//! `zc bench --connect` in the other; then `zc serve` in one and `zc consume` in the other.
//! The same runs over the first namespace's own loopback are printed beside them, so the
//! figures differ only in the path. docs/two-hosts.md explains what changes.
//!
//! Creating namespaces needs root (CAP_SYS_ADMIN): without it the test is skipped with a
//! message, except under `CI=true` where `ip netns` works, which makes it required there.
//! The namespaces have unique names per run and are deleted by a Drop guard, whatever
//! happens; every process runs under a deadline.
//!
//! With `ZC_TWO_HOSTS_EXPORT=DIR` the figures are also written there as JSON, for
//! docs/results/ and scripts/docs-figures: each `zc bench --export` file as
//! `two-hosts-PATH-CC.json`, and the consume reads as `two-hosts-consume.json`.

mod common;

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::thread;
use std::time::{Duration, Instant};

const MODES: &str = "read-write,mmap,sendfile,splice";
const RUN_LIMIT: Duration = Duration::from_secs(120);

/// Two namespaces `a` and `b`, joined by veth `va` (10.77.x.1 in a) <-> `vb` (10.77.x.2 in b).
/// Dropping it deletes both namespaces, which deletes the veth pair with them.
struct Hosts {
    a: String,
    b: String,
    addr_a: String,
    veth_a: String,
}

fn ip(args: &[&str]) -> Result<(), String> {
    let out = Command::new("ip")
        .args(args)
        .output()
        .map_err(|e| format!("cannot run ip: {e}"))?;
    if out.status.success() {
        Ok(())
    } else {
        Err(format!(
            "ip {}: {}",
            args.join(" "),
            String::from_utf8_lossy(&out.stderr).trim()
        ))
    }
}

impl Hosts {
    fn create() -> Result<Hosts, String> {
        let id = std::process::id() % 100_000;
        // Interface names are at most 15 bytes; the subnet varies with the run, too.
        let hosts = Hosts {
            a: format!("zc-a-{id}"),
            b: format!("zc-b-{id}"),
            addr_a: format!("10.77.{}.1", id % 250),
            veth_a: format!("zcva{id}"),
        };
        let veth_b = format!("zcvb{id}");
        let addr_b = format!("10.77.{}.2", id % 250);
        ip(&["netns", "add", &hosts.a])?;
        // From here on, Drop cleans up whatever was created.
        ip(&["netns", "add", &hosts.b])?;
        ip(&[
            "link",
            "add",
            &hosts.veth_a,
            "netns",
            &hosts.a,
            "type",
            "veth",
            "peer",
            "name",
            &veth_b,
            "netns",
            &hosts.b,
        ])?;
        for (ns, dev, addr) in [
            (&hosts.a, &hosts.veth_a, &hosts.addr_a),
            (&hosts.b, &veth_b, &addr_b),
        ] {
            ip(&["-n", ns, "addr", "add", &format!("{addr}/24"), "dev", dev])?;
            ip(&["-n", ns, "link", "set", dev, "up"])?;
            ip(&["-n", ns, "link", "set", "lo", "up"])?;
        }
        Ok(hosts)
    }

    /// `zc ARGS` inside namespace `ns`.
    fn zc(&self, ns: &str, args: &[&str]) -> Command {
        let mut cmd = Command::new("ip");
        cmd.args(["netns", "exec", ns, env!("CARGO_BIN_EXE_zc")]);
        cmd.args(args);
        cmd
    }

    /// A line about the veth device in namespace a: MTU, queueing, offloads.
    fn describe_device(&self) -> String {
        let sys = |what: &str| {
            Command::new("ip")
                .args(["netns", "exec", &self.a, "cat"])
                .arg(format!("/sys/class/net/{}/{what}", self.veth_a))
                .output()
                .ok()
                .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_owned())
                .unwrap_or_default()
        };
        let offloads = Command::new("ip")
            .args(["netns", "exec", &self.a, "ethtool", "-k", &self.veth_a])
            .output()
            .ok()
            .filter(|o| o.status.success())
            .map(|o| {
                String::from_utf8_lossy(&o.stdout)
                    .lines()
                    .filter(|l| {
                        [
                            "tx-checksumming:",
                            "scatter-gather:",
                            "tcp-segmentation-offload:",
                            "generic-segmentation-offload:",
                            "generic-receive-offload:",
                        ]
                        .iter()
                        .any(|k| l.trim_start().starts_with(k))
                    })
                    .map(|l| l.trim().replace(": ", " "))
                    .collect::<Vec<_>>()
                    .join(", ")
            })
            .unwrap_or_else(|| "offloads n/a (ethtool not installed)".into());
        format!(
            "veth {}: mtu {}, tx queue {}, {offloads}",
            self.veth_a,
            sys("mtu"),
            sys("tx_queue_len")
        )
    }
}

impl Drop for Hosts {
    fn drop(&mut self) {
        let _ = ip(&["netns", "del", &self.a]);
        let _ = ip(&["netns", "del", &self.b]);
    }
}

fn under_ci() -> bool {
    std::env::var("CI").as_deref() == Ok("true")
}

/// Namespaces, or a skip message where they are not permitted. Any other failure, and
/// any failure at all under CI=true as root (where they are permitted), fails the test.
fn hosts_or_skip() -> Option<Hosts> {
    match Hosts::create() {
        Ok(h) => Some(h),
        Err(why) => {
            let root = nix::unistd::Uid::effective().is_root();
            let refused = !root
                || why.contains("Operation not permitted")
                || why.contains("Permission denied");
            assert!(
                refused && !(under_ci() && root),
                "two network namespaces could not be made: {why}"
            );
            eprintln!("SKIPPED: network namespaces not permitted here ({why})");
            None
        }
    }
}

/// Runs `cmd` to completion within [`RUN_LIMIT`]; kills it and fails the test otherwise.
fn run(mut cmd: Command) -> Output {
    let mut child = cmd
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn");
    let deadline = Instant::now() + RUN_LIMIT;
    while child.try_wait().unwrap().is_none() {
        if Instant::now() > deadline {
            let _ = child.kill();
            panic!("{cmd:?} ran past {RUN_LIMIT:?}");
        }
        thread::sleep(Duration::from_millis(20));
    }
    let out = child.wait_with_output().unwrap();
    assert!(out.status.success(), "{cmd:?}: {out:?}");
    out
}

/// A background server (sink or broker) killed on drop.
struct Server(Child);

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// Waits until something listens on `addr` inside namespace `ns`.
fn wait_listening(ns: &str, port: u16) {
    let deadline = Instant::now() + Duration::from_secs(20);
    while Instant::now() < deadline {
        let out = Command::new("ip")
            .args(["netns", "exec", ns, "ss", "-ltnH"])
            .arg(format!("sport = :{port}"))
            .output()
            .unwrap();
        if !out.stdout.is_empty() {
            return;
        }
        thread::sleep(Duration::from_millis(50));
    }
    panic!("nothing listens on port {port} in {ns}");
}

/// Median throughput (GiB/s) and sender CPU s/GiB per mode, and the congestion control,
/// from a `zc bench --export` JSON file.
fn bench_figures(json: &Path) -> (Vec<(String, f64, f64, f64)>, String) {
    let d: serde_json::Value = serde_json::from_slice(&std::fs::read(json).unwrap()).unwrap();
    let metric = |row: &serde_json::Value, key: &str| {
        row["metrics"]
            .as_array()
            .unwrap()
            .iter()
            .find(|m| m["key"] == key)
            .and_then(|m| m["value"]["median"].as_f64())
            .unwrap_or(f64::NAN)
    };
    let rows = d["rows"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| {
            (
                r["mode"].as_str().unwrap().to_owned(),
                metric(r, "throughput"),
                metric(r, "sender_cpu_per_gib"),
                metric(r, "system_cpu_per_gib"),
            )
        })
        .collect();
    let cc = d["setup"]["congestion"].as_str().unwrap_or("?").to_owned();
    (rows, cc)
}

/// Where `ZC_TWO_HOSTS_EXPORT` asks the figures to be written, if anywhere.
fn export_dir() -> Option<PathBuf> {
    let dir = PathBuf::from(std::env::var_os("ZC_TWO_HOSTS_EXPORT")?);
    assert!(
        dir.is_dir(),
        "ZC_TWO_HOSTS_EXPORT={}: no such directory",
        dir.display()
    );
    Some(dir)
}

/// One row of `two-hosts-consume.json`: the MiB/s of every read, with their median, min
/// and max, in the shape of `zc bench --export` metrics (scripts/docs-figures reads both).
fn consume_row(transfer: &str, path: &str, sorted_rates: &[f64]) -> serde_json::Value {
    let n = sorted_rates.len();
    serde_json::json!({
        "transfer": transfer,
        "path": path,
        "metrics": [{
            "key": "consume_mib_per_s",
            "label": "zc consume MiB/s",
            "unit": "MiB/s",
            "source": "zc consume --bench of the whole topic, as it prints it",
            "value": {
                "median": sorted_rates[n / 2],
                "min": sorted_rates[0],
                "max": sorted_rates[n - 1],
                "runs": n,
                "samples": sorted_rates,
            },
        }],
    })
}

#[test]
fn zc_bench_and_zc_consume_across_a_veth_pair_between_two_namespaces() {
    let Some(hosts) = hosts_or_skip() else { return };
    let dir = tempfile::tempdir().unwrap();
    let fixture = dir.path().join("fixture");
    let fixture_s = fixture.to_str().unwrap();
    let args = [
        "--size",
        "64MiB",
        "--segment-bytes",
        "64MiB",
        "--topic",
        "demo",
    ];
    let mut gen_args = vec!["fixture", "gen", "-q", "--out", fixture_s];
    gen_args.extend(args);
    common::zc(&gen_args).success();
    let device = hosts.describe_device();
    eprintln!("{device}");
    let export = export_dir();
    let load_before = std::fs::read_to_string("/proc/loadavg").unwrap_or_default();

    // zc sink in a, zc bench in b (across the veth) and in a (its own loopback).
    let port = 9000;
    let sink_addr = format!("0.0.0.0:{port}");
    let _sink = Server(
        hosts
            .zc(&hosts.a, &["sink", "--listen", &sink_addr, "-q"])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap(),
    );
    wait_listening(&hosts.a, port);
    let mut figures = Vec::new();
    // `--cc auto` picks cubic on loopback only; the second veth run uses it too, so the
    // path is the only difference from the loopback run.
    for (label, ns, target, cc) in [
        ("veth", &hosts.b, hosts.addr_a.clone(), "auto"),
        ("veth", &hosts.b, hosts.addr_a.clone(), "cubic"),
        ("loopback", &hosts.a, "127.0.0.1".to_owned(), "auto"),
    ] {
        let json = dir.path().join(format!("{label}-{cc}.json"));
        let connect = format!("{target}:{port}");
        run(hosts.zc(
            ns,
            &[
                "bench",
                "-q",
                "--cc",
                cc,
                "--connect",
                &connect,
                "--fixture",
                fixture_s,
                "--mode",
                MODES,
                "--runs",
                "3",
                "--warmup",
                "1",
                "--export",
                json.to_str().unwrap(),
            ],
        ));
        let (rows, cc) = bench_figures(&json);
        if let Some(out) = &export {
            std::fs::copy(&json, out.join(format!("two-hosts-{label}-{cc}.json"))).unwrap();
        }
        figures.push((label, (rows, cc)));
    }
    eprintln!("zc bench --connect, 64 MiB log, 64 KiB chunks, median of 3 runs:");
    eprintln!(
        "  {:<12} {:<11} {:>8} {:>16} {:>16}  cc",
        "path", "mode", "GiB/s", "sender CPU s/GiB", "system CPU s/GiB"
    );
    for (label, (rows, cc)) in &figures {
        let label = if *label == "veth" {
            format!("veth/{cc}")
        } else {
            label.to_string()
        };
        for (mode, gibs, sender, system) in rows {
            assert!(*gibs > 0.0, "{label} {mode}: no throughput");
            eprintln!("  {label:<12} {mode:<11} {gibs:>8.2} {sender:>16.3} {system:>16.3}  {cc}");
        }
    }

    // zc serve in a, zc consume --bench in b and in a.
    let broker_port = 9092;
    let listen = format!("0.0.0.0:{broker_port}");
    let advertise = format!("{}:{broker_port}", hosts.addr_a);
    let mut consume_rows = Vec::new();
    for mode in ["sendfile", "read-write"] {
        let log_dir = dir.path().join(format!("log-{mode}"));
        common::copy_dir(&fixture, &log_dir);
        let _broker = Server(
            hosts
                .zc(
                    &hosts.a,
                    &[
                        "serve",
                        "--addr",
                        &listen,
                        "--advertise",
                        &advertise,
                        "--log-dir",
                        log_dir.to_str().unwrap(),
                        "--transfer",
                        mode,
                    ],
                )
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .spawn()
                .unwrap(),
        );
        wait_listening(&hosts.a, broker_port);
        for (label, ns) in [("veth", &hosts.b), ("loopback", &hosts.a)] {
            // Five full reads of the 64 MiB topic; the median MiB/s.
            let mut rates: Vec<f64> = (0..5)
                .map(|_| {
                    let out =
                        run(hosts.zc(ns, &["consume", "-b", &advertise, "-t", "demo", "--bench"]));
                    let line = String::from_utf8_lossy(&out.stdout).trim().to_owned();
                    assert!(line.contains("65216 records"), "{label}: {line}");
                    let before = line.split(" MiB/s").next().unwrap();
                    before.rsplit(' ').next().unwrap().parse().unwrap()
                })
                .collect();
            rates.sort_by(f64::total_cmp);
            eprintln!(
                "  zc serve --transfer {mode:<10} -> zc consume --bench over {label:<8}: \
                 median {:.0} MiB/s (min {:.0}, max {:.0}; 5 reads of 64 MiB)",
                rates[2], rates[0], rates[4]
            );
            consume_rows.push(consume_row(mode, label, &rates));
        }
    }
    if let Some(out) = export {
        let doc = serde_json::json!({
            "schema": "zc-two-hosts-consume/1",
            "setup": {
                "command": "ZC_TWO_HOSTS_EXPORT=DIR cargo test --release --test two_hosts -- --nocapture",
                "log": "64 MiB, one segment, topic demo (zc fixture gen --size 64MiB)",
                "reads": "5 full reads per broker and path, one broker per --transfer mode",
                "device": device,
                "kernel_release": std::fs::read_to_string("/proc/sys/kernel/osrelease")
                    .unwrap_or_default().trim(),
                "load_average_before": load_before.trim(),
                "load_average_after": std::fs::read_to_string("/proc/loadavg")
                    .unwrap_or_default().trim(),
            },
            "rows": consume_rows,
        });
        let text = serde_json::to_string_pretty(&doc).unwrap() + "\n";
        std::fs::write(out.join("two-hosts-consume.json"), text).unwrap();
    }
}
