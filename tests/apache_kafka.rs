//! Apache Kafka as the judge of zc: Kafka's own log dumper reads zc's segments and indexes,
//! a Kafka broker serves a log that zc generated, zc's client talks to a Kafka broker, and
//! Kafka's Java clients talk to `zc serve`. Kafka comes from `kafka/kafka.sh install`
//! (`.ci/run` runs it); without it every test here skips, and under `CI=true` fails.

#[path = "common/broker.rs"]
mod broker;
#[path = "apache_kafka/clients.rs"]
mod clients;
mod common;
#[path = "common/kafka.rs"]
mod kafka;
#[path = "apache_kafka/offsets.rs"]
mod offsets;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::Duration;

use broker::Broker;
use common::{demo_fixture, gen_log, zc};
use kafka::{Kafka, installed, run_tool};
use zc::log::batch::{self, BatchHeader};
use zc::log::check;

/// Longest one Kafka tool run (a JVM start plus its work) may take on a loaded machine.
const TOOL_LIMIT: Duration = Duration::from_secs(180);

/// Runs a Kafka tool that must succeed; returns (stdout, stderr).
fn kafka_tool(name: &str, args: &[&str], input: &[u8]) -> (String, String) {
    let out = run_tool(name, args, input, TOOL_LIMIT);
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    assert!(
        out.status.success(),
        "{name} {args:?}: {}\nstdout:\n{stdout}\nstderr:\n{stderr}",
        out.status
    );
    (stdout, stderr)
}

/// The `name: value` pairs of one line of `kafka-dump-log` output.
fn fields(line: &str) -> BTreeMap<&str, &str> {
    let words: Vec<&str> = line.split_whitespace().collect();
    words
        .windows(2)
        .filter_map(|w| Some((w[0].strip_suffix(':')?, w[1])))
        .collect()
}

/// One batch, with its records, as a dump shows it: Kafka's view and zc's, to compare.
#[derive(Debug, PartialEq, Eq)]
struct DumpedBatch {
    position: u64,
    base_offset: i64,
    last_offset: i64,
    count: i64,
    size: u64,
    crc: u32,
    max_timestamp: i64,
    /// Kafka's name of the compression codec: none, gzip, snappy, lz4, zstd.
    codec: String,
    /// (offset, timestamp, key size, value size, header keys) per record; -1 for null. The
    /// record decoder used here reads uncompressed batches only, so for a compressed batch
    /// both sides keep only the offsets.
    records: Vec<(i64, i64, i64, i64, String)>,
}

/// The codec names Kafka's dumper prints, by codec id (attributes bits 0-2).
const CODECS: [&str; 5] = ["none", "gzip", "snappy", "lz4", "zstd"];

/// What `kafka-dump-log --deep-iteration` says of `.log` files (of any partitions), by
/// path. Fails on anything it reports as wrong: an invalid batch, trailing bytes, offsets
/// that do not follow each other.
fn kafka_dump(files: &[PathBuf]) -> BTreeMap<PathBuf, Vec<DumpedBatch>> {
    kafka_dump_with(files, &[]).0
}

/// [`kafka_dump`] with more of the dumper's options (`--offsets-decoder`); also returns
/// its whole output.
fn kafka_dump_with(
    files: &[PathBuf],
    options: &[&str],
) -> (BTreeMap<PathBuf, Vec<DumpedBatch>>, String) {
    let list = files
        .iter()
        .map(|f| f.to_str().unwrap())
        .collect::<Vec<_>>()
        .join(",");
    let mut args = vec!["--deep-iteration", "--files", &list];
    args.extend_from_slice(options);
    let (stdout, stderr) = kafka_tool("kafka-dump-log", &args, b"");
    // The dumper starts every file's offset check at -1, so a segment whose base offset
    // is B reports "-1 is followed by B": that, and only that, is expected.
    let mut rest = stderr.lines().peekable();
    while let Some(line) = rest.next() {
        let file = line
            .strip_prefix("Non-consecutive offsets in ")
            .unwrap_or_else(|| panic!("kafka-dump-log complained: {stderr}"));
        let base: i64 = Path::new(file)
            .file_stem()
            .unwrap()
            .to_str()
            .unwrap()
            .parse()
            .unwrap();
        let pair = rest.next().unwrap_or_default();
        assert_eq!(
            pair.trim(),
            format!("-1 is followed by {base}"),
            "offsets jump inside {file}: {stderr}"
        );
        assert!(
            rest.peek().is_none_or(|l| l.starts_with("Non-consecutive")),
            "{stderr}"
        );
    }
    let mut out: BTreeMap<PathBuf, Vec<DumpedBatch>> = BTreeMap::new();
    let mut current = PathBuf::new();
    for line in stdout.lines() {
        if let Some(file) = line.strip_prefix("Dumping ") {
            current = file.into();
            out.entry(current.clone()).or_default();
        } else if line.starts_with("baseOffset:") {
            let f = fields(line);
            assert_eq!(f["isvalid"], "true", "Kafka finds a batch invalid: {line}");
            assert_eq!(f["magic"], "2", "{line}");
            let codec = f["compresscodec"].to_owned();
            out.get_mut(&current).unwrap().push(DumpedBatch {
                position: f["position"].parse().unwrap(),
                base_offset: f["baseOffset"].parse().unwrap(),
                last_offset: f["lastOffset"].parse().unwrap(),
                count: f["count"].parse().unwrap(),
                size: f["size"].parse().unwrap(),
                crc: f["crc"].parse().unwrap(),
                max_timestamp: f["CreateTime"].parse().unwrap(),
                codec,
                records: Vec::new(),
            });
        } else if line.starts_with("| offset:") {
            let f = fields(line);
            let batch = out.get_mut(&current).unwrap().last_mut().unwrap();
            let offset = f["offset"].parse().unwrap();
            if batch.codec == "none" {
                batch.records.push((
                    offset,
                    f["CreateTime"].parse().unwrap(),
                    f["keySize"].parse().unwrap(),
                    f["valueSize"].parse().unwrap(),
                    f["headerKeys"].to_owned(),
                ));
            } else {
                batch.records.push((offset, 0, 0, 0, String::new()));
            }
        } else if line.starts_with("Found ") {
            panic!("kafka-dump-log: {line}");
        }
    }
    (out, stdout)
}

/// The same view from zc's own reader (`zc fixture info --batches`'s engine) and record
/// decoder.
fn zc_dump(files: &[PathBuf]) -> BTreeMap<PathBuf, Vec<DumpedBatch>> {
    let mut out = BTreeMap::new();
    for file in files {
        let bytes = std::fs::read(file).unwrap();
        let mut batches = Vec::new();
        let mut position = 0usize;
        while position < bytes.len() {
            let h = BatchHeader::parse(&bytes[position..]).unwrap();
            let whole = &bytes[position..position + h.size()];
            batch::validate(whole).unwrap();
            let codec = CODECS[usize::from(h.compression())].to_owned();
            let records: Vec<_> = if codec != "none" {
                (h.base_offset..=h.last_offset())
                    .map(|o| (o, 0, 0, 0, String::new()))
                    .collect()
            } else {
                batch::records(whole)
                    .map(|r| {
                        let r = r.unwrap();
                        let len = |b: Option<&[u8]>| b.map_or(-1, |b| b.len() as i64);
                        let keys: Vec<String> = r
                            .headers
                            .iter()
                            .map(|(k, _)| String::from_utf8_lossy(k).into_owned())
                            .collect();
                        (
                            h.base_offset + i64::from(r.offset_delta),
                            h.base_timestamp + r.timestamp_delta,
                            len(r.key),
                            len(r.value),
                            format!("[{}]", keys.join(",")),
                        )
                    })
                    .collect()
            };
            batches.push(DumpedBatch {
                position: position as u64,
                base_offset: h.base_offset,
                last_offset: h.last_offset(),
                count: records.len() as i64,
                size: h.size() as u64,
                crc: h.crc,
                max_timestamp: h.max_timestamp,
                codec,
                records,
            });
            position += h.size();
        }
        out.insert(file.clone(), batches);
    }
    out
}

/// Kafka's index checks over one partition's `.index` and `.timeindex` files: every
/// entry points at the batch it names (`--verify-index-only`) and every file passes the
/// sanity check a broker runs at start-up to decide whether to rebuild it.
fn kafka_verify_indexes(indexes: &[PathBuf]) {
    let list = indexes
        .iter()
        .map(|f| f.to_str().unwrap())
        .collect::<Vec<_>>()
        .join(",");
    let (_, stderr) = kafka_tool(
        "kafka-dump-log",
        &["--verify-index-only", "--files", &list],
        b"",
    );
    assert_eq!(stderr.trim(), "", "Kafka finds zc's indexes wrong");
    let (stdout, stderr) = kafka_tool(
        "kafka-dump-log",
        &["--index-sanity-check", "--files", &list],
        b"",
    );
    assert_eq!(stderr.trim(), "", "{stdout}");
    for file in indexes {
        let name = file.display().to_string();
        let checked = stdout.contains(&format!("{name} passed sanity check."))
            || stdout.contains(&format!("{name} is empty."));
        assert!(checked, "no sanity verdict for {name}:\n{stdout}");
    }
}

/// Kafka's dumper and zc's reader agree on every batch and record of every partition in
/// `log_dir`, and Kafka accepts every index. Returns (batches, records) in all. One dumper
/// run reads every partition (a JVM start costs seconds).
fn kafka_reads_like_zc(log_dir: &Path) -> (usize, usize) {
    zc(&["fixture", "verify", "-q", log_dir.to_str().unwrap()]).success();
    let report = check::check_log(log_dir, true).unwrap();
    assert!(report.problems.is_empty(), "{:?}", report.problems);
    let logs: Vec<PathBuf> = report
        .segments
        .iter()
        .map(|s| s.files.log.clone())
        .collect();
    let kafka = kafka_dump(&logs);
    assert_eq!(kafka, zc_dump(&logs), "Kafka's dump and zc's differ");
    for s in &report.segments {
        let listed: Vec<(u64, i64, i64, u32)> = s
            .batch_list
            .iter()
            .map(|b| (b.position, b.base_offset, b.last_offset, b.crc))
            .collect();
        let dumped: Vec<(u64, i64, i64, u32)> = kafka[&s.files.log]
            .iter()
            .map(|b| (b.position, b.base_offset, b.last_offset, b.crc))
            .collect();
        assert_eq!(
            listed,
            dumped,
            "zc fixture info --batches vs Kafka, {}",
            s.files.log.display()
        );
    }
    let batches = kafka.values().map(Vec::len).sum::<usize>();
    let records = kafka
        .values()
        .flatten()
        .map(|b| b.records.len())
        .sum::<usize>();
    let indexes: Vec<PathBuf> = report
        .segments
        .iter()
        .flat_map(|s| [s.files.index.clone(), s.files.time_index.clone()])
        .collect();
    kafka_verify_indexes(&indexes);
    assert_eq!(records as u64, report.records());
    (batches, records)
}

#[test]
fn kafka_dump_log_reads_the_demo_fixture_as_zc_does() {
    if !installed() {
        return;
    }
    let (batches, records) = kafka_reads_like_zc(&demo_fixture());
    assert_eq!((batches, records), (953, 19060));
}

#[test]
fn kafka_dump_log_reads_generated_logs_with_partitions_keys_and_null_keys() {
    if !installed() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let keyed = dir.path().join("keyed");
    gen_log(
        &keyed,
        "keyed",
        &[
            "--partitions",
            "3",
            "--records",
            "6000",
            "--value-size",
            "300",
            "--key-size",
            "12",
            "--records-per-batch",
            "7",
            "--segment-bytes",
            "256KiB",
        ],
    );
    assert_eq!(kafka_reads_like_zc(&keyed).1, 6000);
    let unkeyed = dir.path().join("unkeyed");
    gen_log(
        &unkeyed,
        "unkeyed",
        &["--records", "1000", "--key-size", "0", "--value-size", "10"],
    );
    assert_eq!(kafka_reads_like_zc(&unkeyed).1, 1000);
}

/// `kafka-console-consumer` of partition 0 of `topic` from the beginning (no group), each
/// record as `CreateTime:T<TAB>Offset:O<TAB>KEY<TAB>VALUE` (null as `null`).
fn console_consume(addr: &str, topic: &str, count: usize) -> Vec<String> {
    let count = count.to_string();
    let (stdout, _) = kafka_tool(
        "kafka-console-consumer",
        &[
            "--bootstrap-server",
            addr,
            "--topic",
            topic,
            "--partition",
            "0",
            "--offset",
            "earliest",
            "--max-messages",
            &count,
            "--timeout-ms",
            "60000",
            "--formatter-property",
            "print.timestamp=true",
            "--formatter-property",
            "print.offset=true",
            "--formatter-property",
            "print.key=true",
        ],
        b"",
    );
    stdout.lines().map(str::to_owned).collect()
}

/// The records of every segment in `partition_dir` in the console consumer's format.
fn expected_console_lines(partition_dir: &Path) -> Vec<String> {
    let mut logs: Vec<PathBuf> = std::fs::read_dir(partition_dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "log"))
        .collect();
    logs.sort();
    let text =
        |b: Option<&[u8]>| b.map_or("null".into(), |b| String::from_utf8_lossy(b).into_owned());
    let mut out = Vec::new();
    for log in logs {
        let bytes = std::fs::read(log).unwrap();
        let mut at = 0;
        while at < bytes.len() {
            let h = BatchHeader::parse(&bytes[at..]).unwrap();
            for r in batch::records(&bytes[at..at + h.size()]) {
                let r = r.unwrap();
                out.push(format!(
                    "CreateTime:{}\tOffset:{}\t{}\t{}",
                    h.base_timestamp + r.timestamp_delta,
                    h.base_offset + i64::from(r.offset_delta),
                    text(r.key),
                    text(r.value)
                ));
            }
            at += h.size();
        }
    }
    out
}

/// The BLAKE3 of every `.index` and `.timeindex` file in `dir`, by name.
fn index_hashes(dir: &Path) -> BTreeMap<PathBuf, String> {
    common::file_hashes(dir)
        .into_iter()
        .filter(|(p, _)| {
            p.extension()
                .is_some_and(|e| e == "index" || e == "timeindex")
        })
        .collect()
}

/// The lines of Kafka's log that tell of loading or recovering `partition`.
fn load_lines(log: &str, partition: &str) -> Vec<String> {
    log.lines()
        .filter(|l| {
            l.contains(&format!("partition={partition},")) || l.contains(&format!("/{partition},"))
        })
        .map(str::to_owned)
        .collect()
}

/// The procedure docs/vs-kafka.md describes: create the topic in Kafka (so the controller
/// knows it and the broker writes its topic id and leader-epoch checkpoint), stop Kafka,
/// swap the partition directory's segments for zc's, start Kafka again. Kafka must load
/// zc's indexes as they are, serve every record as `zc serve` does, and, when made to
/// recover the segments from scratch, rebuild byte-identical indexes.
#[test]
fn kafka_serves_a_log_zc_generated_and_rebuilds_the_same_indexes() {
    if !installed() {
        return;
    }
    let tmp = tempfile::tempdir().unwrap();
    let fixture = tmp.path().join("log");
    gen_log(
        &fixture,
        "adopted",
        &[
            "--records",
            "3000",
            "--value-size",
            "100",
            "--key-size",
            "10",
            "--records-per-batch",
            "9",
            "--segment-bytes",
            "64KiB",
        ],
    );
    let ours = fixture.join("adopted-0");
    let zc_indexes = index_hashes(&ours);
    assert!(zc_indexes.len() >= 6, "several segments: {zc_indexes:?}");

    let dir = kafka::fresh_dir("adopt");
    let mut kafka = Kafka::start(&dir);
    // zc's fixture timestamps are from 2023: without retention.ms=-1, Kafka's time-based
    // retention (7 days) would delete the adopted segments within minutes.
    kafka_tool(
        "kafka-topics",
        &[
            "--bootstrap-server",
            &kafka.addr(),
            "--create",
            "--topic",
            "adopted",
            "--partitions",
            "1",
            "--config",
            "retention.ms=-1",
        ],
        b"",
    );
    kafka.stop();
    let theirs = kafka.data_dir().join("adopted-0");
    assert!(
        theirs.join("partition.metadata").is_file(),
        "Kafka wrote the topic id"
    );
    for e in std::fs::read_dir(&theirs).unwrap() {
        let p = e.unwrap().path();
        if p.extension().is_some_and(|e| {
            ["log", "index", "timeindex", "snapshot"].contains(&e.to_str().unwrap())
        }) {
            std::fs::remove_file(p).unwrap();
        }
    }
    for e in std::fs::read_dir(&ours).unwrap() {
        let p = e.unwrap().path();
        std::fs::copy(&p, theirs.join(p.file_name().unwrap())).unwrap();
    }

    // A clean restart: Kafka sanity-checks the indexes and keeps them.
    let kafka = Kafka::start(&dir);
    let log = load_lines(&kafka.log(), "adopted-0").join("\n");
    assert!(log.contains("log-end-offset 3000"), "{log}");
    for rebuilt in ["corrupted index", "Recovering unflushed segment", "rebuild"] {
        assert!(!log.contains(rebuilt), "Kafka rebuilt zc's indexes:\n{log}");
    }
    let through_kafka = console_consume(&kafka.addr(), "adopted", 3000);
    assert_eq!(through_kafka, expected_console_lines(&ours));
    let zc_from_kafka = zc(&["consume", "-q", "-b", &kafka.addr(), "-t", "adopted"]).success();
    let served = Broker::start(&fixture, &[]);
    let zc_from_zc = zc(&["consume", "-q", "-b", &served.addr(), "-t", "adopted"]).success();
    assert_eq!(zc_from_kafka.stdout.lines().count(), 3000);
    assert_eq!(
        zc_from_kafka.stdout, zc_from_zc.stdout,
        "Kafka and zc serve the same records"
    );
    let mut kafka = kafka;
    kafka.stop();
    assert_eq!(
        index_hashes(&theirs),
        zc_indexes,
        "Kafka kept zc's index bytes"
    );

    // An unclean restart from recovery point 0: Kafka rebuilds every index from the .log
    // with its own rule (an entry after more than index.interval.bytes = 4096 bytes).
    std::fs::write(
        kafka.data_dir().join("recovery-point-offset-checkpoint"),
        "0\n1\nadopted 0 0\n",
    )
    .unwrap();
    std::fs::remove_file(kafka.data_dir().join(".kafka_cleanshutdown")).unwrap();
    let mut kafka = Kafka::start(&dir);
    let log = load_lines(&kafka.log(), "adopted-0").join("\n");
    assert!(log.contains("Recovering unflushed segment 0"), "{log}");
    kafka.stop();
    assert_eq!(
        index_hashes(&theirs),
        zc_indexes,
        "Kafka's rebuilt indexes equal zc's byte for byte"
    );
}

/// Lines for `kafka-console-producer` with parse.key and parse.headers: `HEADERS<TAB>KEY:VALUE`,
/// every third value null (`NULL`), every fifth key null.
fn keyed_lines(n: usize) -> String {
    (0..n)
        .map(|i| {
            let key = if i % 5 == 4 {
                "NULL".into()
            } else {
                format!("key-{i}")
            };
            let value = if i % 3 == 2 {
                "NULL".into()
            } else {
                format!("value {i}")
            };
            format!("trace:{i},origin:kafka-console-producer\t{key}:{value}\n")
        })
        .collect()
}

/// Kafka's console producer (keys, headers, null keys and values) and `zc produce` write
/// into `zc serve`; after a clean stop, Kafka's dumper reads what zc serve wrote as zc does.
#[test]
fn kafka_dump_log_reads_a_log_zc_serve_wrote() {
    if !installed() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let mut served = Broker::start(dir.path(), &["--segment-bytes", "128KiB"]);
    kafka_tool(
        "kafka-console-producer",
        &[
            "--bootstrap-server",
            &served.addr(),
            "--topic",
            "mixed",
            "--reader-property",
            "parse.key=true",
            "--reader-property",
            "key.separator=:",
            "--reader-property",
            "parse.headers=true",
            "--reader-property",
            "null.marker=NULL",
        ],
        keyed_lines(300).as_bytes(),
    );
    zc(&[
        "produce",
        "-q",
        "-b",
        &served.addr(),
        "-t",
        "mixed",
        "--records",
        "5000",
        "--record-size",
        "100",
    ])
    .success();
    // Kafka's producer compresses whole batches; zc serve stores them as they came.
    for codec in &CODECS[1..] {
        kafka_tool(
            "kafka-console-producer",
            &[
                "--bootstrap-server",
                &served.addr(),
                "--topic",
                "compressed",
                "--compression-codec",
                codec,
            ],
            keyed_lines(100).as_bytes(),
        );
    }
    let (status, log) = served.stop();
    assert!(status.success(), "{log}");
    let (batches, records) = kafka_reads_like_zc(dir.path());
    assert_eq!(records, 5300 + 400);
    let part = dir.path().join("compressed-0");
    let logs: Vec<PathBuf> = check::check_log(&part, false)
        .unwrap()
        .segments
        .iter()
        .map(|s| s.files.log.clone())
        .collect();
    let codecs: std::collections::BTreeSet<String> = kafka_dump(&logs)
        .into_values()
        .flatten()
        .map(|b| b.codec)
        .collect();
    assert_eq!(codecs.len(), 4, "one batch or more per codec: {codecs:?}");
    assert!(batches > 2, "{batches}");
    // What the console producer sent, as Kafka's dumper saw it in zc's log.
    let part = dir.path().join("mixed-0");
    let logs: Vec<PathBuf> = check::check_log(&part, false)
        .unwrap()
        .segments
        .iter()
        .map(|s| s.files.log.clone())
        .collect();
    let dumped: Vec<_> = kafka_dump(&logs)
        .into_values()
        .flatten()
        .flat_map(|b| b.records)
        .collect();
    let first: Vec<_> = dumped[..300]
        .iter()
        .map(|r| (r.0, r.2, r.3, r.4.as_str()))
        .collect();
    for (i, (offset, key_size, value_size, headers)) in first.into_iter().enumerate() {
        assert_eq!(offset, i as i64);
        assert_eq!(
            key_size == -1,
            i % 5 == 4,
            "record {i}: key size {key_size}"
        );
        assert_eq!(
            value_size == -1,
            i % 3 == 2,
            "record {i}: value size {value_size}"
        );
        assert_eq!(headers, "[trace,origin]");
    }
}

/// Creates `topic` (one partition) in a Kafka broker.
fn create_topic(kafka: &Kafka, topic: &str) {
    kafka_tool(
        "kafka-topics",
        &[
            "--bootstrap-server",
            &kafka.addr(),
            "--create",
            "--topic",
            topic,
            "--partitions",
            "1",
        ],
        b"",
    );
}

/// `zc produce` writes 100,000 generated records to Apache Kafka with acks=all and
/// `zc consume` reads them back: every value identical to the same round trip through
/// `zc serve`, and Kafka's own consumer counts them all.
#[test]
fn zc_produce_and_consume_round_trip_100k_records_through_apache_kafka() {
    let Some(kafka) = Kafka::shared() else {
        return;
    };
    create_topic(kafka, "roundtrip");
    let produce = |addr: &str| {
        zc(&[
            "produce",
            "-b",
            addr,
            "-t",
            "roundtrip",
            "--records",
            "100000",
            "--record-size",
            "100",
            "--acks",
            "all",
        ])
        .success()
    };
    let sent = produce(&kafka.addr());
    assert!(
        sent.stderr.contains("offsets 0..=99999 (acks=-1)"),
        "{}",
        sent.stderr
    );
    let from_kafka = zc(&["consume", "-q", "-b", &kafka.addr(), "-t", "roundtrip"]).success();
    assert_eq!(from_kafka.stdout.lines().count(), 100_000);

    let dir = tempfile::tempdir().unwrap();
    let served = Broker::start(dir.path(), &[]);
    produce(&served.addr());
    let from_zc = zc(&["consume", "-q", "-b", &served.addr(), "-t", "roundtrip"]).success();
    assert!(
        from_kafka.stdout == from_zc.stdout,
        "Kafka and zc serve returned different values"
    );

    // Every codec: Kafka keeps the batches as zc produce compressed them (its dumper shows
    // each codec), zc consume reads them back from both brokers alike, and Kafka's dumper
    // reads zc serve's copy of them as zc does.
    create_topic(kafka, "compressed");
    for codec in &CODECS[1..] {
        for addr in [kafka.addr(), served.addr()] {
            zc(&[
                "produce",
                "-q",
                "-b",
                &addr,
                "-t",
                "compressed",
                "--records",
                "1000",
                "--compression",
                codec,
            ])
            .success();
        }
    }
    let from_kafka = zc(&["consume", "-q", "-b", &kafka.addr(), "-t", "compressed"]).success();
    let from_zc = zc(&["consume", "-q", "-b", &served.addr(), "-t", "compressed"]).success();
    assert_eq!(from_kafka.stdout.lines().count(), 4000);
    assert!(
        from_kafka.stdout == from_zc.stdout,
        "compressed: different values"
    );
    let kafka_logs: Vec<PathBuf> = std::fs::read_dir(kafka.data_dir().join("compressed-0"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "log"))
        .collect();
    let codecs: std::collections::BTreeSet<String> = kafka_dump(&kafka_logs)
        .into_values()
        .flatten()
        .map(|b| b.codec)
        .collect();
    assert_eq!(codecs.len(), 4, "Kafka kept every codec: {codecs:?}");
    let mut served = served;
    served.stop();
    assert_eq!(
        kafka_reads_like_zc(&dir.path().join("compressed-0")).1,
        4000
    );

    let (stdout, _) = kafka_tool(
        "kafka-get-offsets",
        &["--bootstrap-server", &kafka.addr(), "--topic", "roundtrip"],
        b"",
    );
    assert_eq!(stdout.trim(), "roundtrip:0:100000");
}

/// Every row of docs/vs-kafka.md's table of Kafka's Java command-line clients, against the
/// broker at `addr`: a topic created, listed and described; keyed records produced and read
/// back by a group that commits; the group listed and described with its committed offset;
/// the producer and consumer perf tests.
fn java_clients_work(addr: &str) {
    kafka_tool(
        "kafka-topics",
        &[
            "--bootstrap-server",
            addr,
            "--create",
            "--topic",
            "java",
            "--partitions",
            "1",
        ],
        b"",
    );
    let lines: String = (0..50).map(|i| format!("k{i}:v{i}\n")).collect();
    kafka_tool(
        "kafka-console-producer",
        &[
            "--bootstrap-server",
            addr,
            "--topic",
            "java",
            "--reader-property",
            "parse.key=true",
            "--reader-property",
            "key.separator=:",
        ],
        lines.as_bytes(),
    );
    let (listed, _) = kafka_tool("kafka-topics", &["--bootstrap-server", addr, "--list"], b"");
    assert!(listed.lines().any(|l| l == "java"), "{listed}");
    let (described, _) = kafka_tool(
        "kafka-topics",
        &["--bootstrap-server", addr, "--describe", "--topic", "java"],
        b"",
    );
    assert!(described.contains("PartitionCount: 1"), "{described}");
    let read = console_consume(addr, "java", 50);
    let keys_values: Vec<String> = read
        .iter()
        .map(|l| l.splitn(3, '\t').nth(2).unwrap().to_owned())
        .collect();
    let sent: Vec<String> = (0..50).map(|i| format!("k{i}\tv{i}")).collect();
    assert_eq!(keys_values, sent);
    let (consumed, _) = kafka_tool(
        "kafka-console-consumer",
        &[
            "--bootstrap-server",
            addr,
            "--topic",
            "java",
            "--group",
            "g",
            "--from-beginning",
            "--max-messages",
            "50",
            "--timeout-ms",
            "60000",
        ],
        b"",
    );
    assert_eq!(consumed.lines().count(), 50, "{consumed}");
    let (groups, _) = kafka_tool(
        "kafka-consumer-groups",
        &["--bootstrap-server", addr, "--list"],
        b"",
    );
    assert!(groups.lines().any(|l| l == "g"), "{groups}");
    let (group, _) = kafka_tool(
        "kafka-consumer-groups",
        &["--bootstrap-server", addr, "--describe", "--group", "g"],
        b"",
    );
    // GROUP TOPIC PARTITION CURRENT-OFFSET LOG-END-OFFSET LAG ...: everything committed.
    let row: Vec<&str> = group
        .lines()
        .find(|l| l.starts_with("g "))
        .unwrap_or_else(|| panic!("{group}"))
        .split_whitespace()
        .collect();
    assert_eq!(&row[1..6], ["java", "0", "50", "50", "0"], "{group}");
    // zc groups sees what kafka-consumer-groups sees, through the same Kafka requests.
    let listed = zc(&["groups", "list", "-b", addr]).success().stdout;
    assert!(listed.lines().any(|l| l == "g"), "{listed}");
    let table = zc(&["groups", "describe", "-b", addr, "g"])
        .success()
        .stdout;
    let zc_row: Vec<&str> = table
        .lines()
        .find(|l| l.starts_with("g "))
        .unwrap_or_else(|| panic!("{table}"))
        .split_whitespace()
        .collect();
    assert_eq!(
        zc_row[..6],
        row[..6],
        "zc:\n{table}\nkafka-consumer-groups:\n{group}"
    );
    assert!(table.contains("state Empty"), "{table}");
    // zc consume --group joins, reads, commits there too; zc groups shows its offset.
    let read = zc(&["consume", "-b", addr, "-t", "java", "--group", "zg"]).success();
    assert_eq!(read.stdout.lines().count(), 50, "{}", read.stderr);
    let described = zc(&["groups", "describe", "-b", addr, "zg", "--format", "json"]).success();
    let zg: serde_json::Value = serde_json::from_str(&described.stdout).unwrap();
    assert_eq!(
        zg[0]["partitions"],
        serde_json::json!([{"topic": "java", "partition": 0, "committed": 50,
                            "log_end": 50, "lag": 0, "member_id": null}]),
        "{}",
        described.stdout
    );
    let unknown = zc(&["groups", "describe", "-b", addr, "nope"]).code(1);
    assert!(
        unknown.stderr.contains("no consumer group nope"),
        "{}",
        unknown.stderr
    );
    let (perf, _) = kafka_tool(
        "kafka-producer-perf-test",
        &[
            "--bootstrap-server",
            addr,
            "--topic",
            "perf",
            "--num-records",
            "20000",
            "--record-size",
            "100",
            "--throughput",
            "-1",
            "--command-property",
            "acks=all",
        ],
        b"",
    );
    assert!(perf.contains("20000 records sent"), "{perf}");
    let (perf, _) = kafka_tool(
        "kafka-consumer-perf-test",
        &[
            "--bootstrap-server",
            addr,
            "--topic",
            "perf",
            "--num-records",
            "20000",
            "--timeout",
            "60000",
        ],
        b"",
    );
    // start, end, MB, MB/s, records, ...: every record read.
    let row = perf.lines().last().unwrap_or_default();
    assert_eq!(row.split(", ").nth(4), Some("20000"), "{perf}");
}

/// Kafka's Java command-line clients against `zc serve`: every row of the table works.
#[test]
fn kafka_java_clients_against_zc_serve() {
    if !installed() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let served = Broker::start(dir.path(), &[]);
    java_clients_work(&served.addr());
}

/// The same rows against Apache Kafka.
#[test]
fn kafka_java_clients_against_apache_kafka() {
    let Some(kafka) = Kafka::shared() else {
        return;
    };
    java_clients_work(&kafka.addr());
}
