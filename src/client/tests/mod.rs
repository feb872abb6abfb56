//! The client's tests, against the fake broker of `fake_broker.rs`: produce and fetch
//! round trips, the version handshake, acks=0, cut and damaged Fetch data, waiting for a
//! topic being created, and the broker's error codes surfaced with their names.

mod fake_broker;

use std::io::{Read, Write};
use std::net::TcpListener;
use std::thread;
use std::time::{Duration, Instant};

use super::*;
use crate::kafka::{ApiKey, ErrorCode};
use crate::log::batch::BatchBuilder;
use fake_broker::*;
#[test]
fn produce_then_fetch_round_trips_values_in_order() {
    let broker = FakeBroker::start(Behaviour::default());
    let sent = values(250);
    for acks in [Acks::Leader, Acks::All] {
        let topic = format!("t{}", acks.wire());
        let summary = produce(&broker.address(), &topic, &sent, 40, acks).unwrap();
        assert_eq!(
            (
                summary.batches,
                summary.records,
                summary.first_offset,
                summary.last_offset
            ),
            (7, 250, Some(0), Some(249))
        );
        let got = consume(
            &broker.address(),
            &topic,
            StartOffset::Earliest,
            250,
            1 << 20,
        )
        .unwrap();
        let offsets: Vec<i64> = got.iter().map(|(o, _)| *o).collect();
        assert_eq!(offsets, (0..250).collect::<Vec<_>>());
        let got: Vec<Vec<u8>> = got.into_iter().map(|(_, v)| v).collect();
        assert_eq!(got, sent);
    }
    assert_eq!(broker.state().acks.iter().filter(|&&a| a == -1).count(), 7);
}

#[test]
fn handshake_picks_the_highest_version_both_sides_speak() {
    let broker = FakeBroker::start(Behaviour {
        ranges: vec![
            (ApiKey::Fetch, 4, 6),
            (ApiKey::Metadata, 0, 1),
            (ApiKey::Produce, 0, 5),
        ],
        ..Behaviour::default()
    });
    let conn = Connection::open(&broker.address(), &config()).unwrap();
    assert_eq!(conn.handshake_version(), 3);
    assert_eq!(conn.version(ApiKey::Fetch).unwrap(), 6);
    assert_eq!(conn.version(ApiKey::Metadata).unwrap(), 1);
    assert_eq!(conn.version(ApiKey::Produce).unwrap(), 5);
    assert_eq!(conn.version(ApiKey::ListOffsets).unwrap(), 5);
    // And those versions work end to end.
    produce(&broker.address(), "t", &values(3), 2, Acks::Leader).unwrap();
    consume(&broker.address(), "t", StartOffset::Earliest, 3, 1 << 20).unwrap();
    let seen = broker.state().requests.clone();
    assert!(seen.contains(&(ApiKey::Fetch, 6)), "{seen:?}");
    assert!(seen.contains(&(ApiKey::Metadata, 1)), "{seen:?}");
    assert!(!seen.iter().any(|&(api, v)| api == ApiKey::Fetch && v != 6));
}

#[test]
fn handshake_retries_with_the_version_the_broker_lists() {
    let broker = FakeBroker::start(Behaviour {
        api_versions_max: Some(2),
        ..Behaviour::default()
    });
    let conn = Connection::open(&broker.address(), &config()).unwrap();
    assert_eq!(conn.handshake_version(), 2);
    assert_eq!(conn.version(ApiKey::Fetch).unwrap(), 11);
    assert_eq!(
        broker.state().requests,
        [(ApiKey::ApiVersions, 3), (ApiKey::ApiVersions, 2)]
    );

    // A broker older than KIP-511 lists nothing: v0 always works.
    let old = FakeBroker::start(Behaviour {
        api_versions_max: Some(0),
        pre_kip_511: true,
        ..Behaviour::default()
    });
    let conn = Connection::open(&old.address(), &config()).unwrap();
    assert_eq!(conn.handshake_version(), 0);
    assert_eq!(
        old.state().requests,
        [(ApiKey::ApiVersions, 3), (ApiKey::ApiVersions, 0)]
    );
}

#[test]
fn no_common_version_is_an_error_naming_both_ranges() {
    let broker = FakeBroker::start(Behaviour {
        ranges: vec![(ApiKey::Produce, 0, 2)],
        ..Behaviour::default()
    });
    let conn = Connection::open(&broker.address(), &config()).unwrap();
    let e = Producer::new(conn, "t", 0, Acks::Leader, 1).unwrap_err();
    assert_eq!(
        e.to_string(),
        format!(
            "{} and zc share no version of Produce: zc speaks 3..=8, the broker 0..=2",
            broker.address()
        )
    );
}

#[test]
fn acks_zero_expects_no_response() {
    let broker = FakeBroker::start(Behaviour::default());
    let started = Instant::now();
    // Waiting for an answer that never comes would take the 5 s request timeout.
    let summary = produce(&broker.address(), "t", &values(100), 10, Acks::None).unwrap();
    assert!(started.elapsed() < Duration::from_secs(4));
    assert_eq!(broker.state().acks, [0; 10]);
    assert_eq!((summary.first_offset, summary.last_offset), (None, None));
    // The closing ListOffsets round trip proves the broker processed all ten requests.
    assert_eq!(summary.log_end_offset, Some(100));
    assert_eq!(broker.state().logs["t"].1, 100);
}

#[test]
fn partial_trailing_batch_is_skipped_and_fetched_again() {
    let broker = FakeBroker::start(Behaviour {
        // Batches of 7 records are about 140 bytes: every fetch ends inside a batch.
        fetch_cut: Some(333),
        ..Behaviour::default()
    });
    let sent = values(200);
    produce(&broker.address(), "t", &sent, 7, Acks::Leader).unwrap();
    let got = consume(&broker.address(), "t", StartOffset::At(5), 195, 1 << 20).unwrap();
    assert_eq!(got[0], (5, sent[5].clone()));
    let got: Vec<Vec<u8>> = got.into_iter().map(|(_, v)| v).collect();
    assert_eq!(got, sent[5..]);
    let fetches = broker
        .state()
        .requests
        .iter()
        .filter(|(api, _)| *api == ApiKey::Fetch)
        .count();
    assert!(
        fetches > 10,
        "only {fetches} fetches: the cut did not happen"
    );
}

/// A broker that sends only the beginning of the first batch (no KIP-74 "at least one
/// whole batch" rule, and a batch bigger than the budget): fetching again would get the
/// same bytes forever, so the client must stop and say what to change. Simulated with a
/// log whose only batch is cut short.
#[test]
fn a_first_batch_larger_than_the_fetch_is_an_error_not_a_hang() {
    let broker = FakeBroker::start(Behaviour::default());
    let mut data = Vec::new();
    let mut b = BatchBuilder::new(&mut data, 0);
    b.append(0, None, Some(&[b'x'; 2000]), &[]);
    let size = b.finish();
    broker.preload("big", &data[..size - 1], 1);
    let e = consume(&broker.address(), "big", StartOffset::Earliest, 1, 1000).unwrap_err();
    let text = e.to_string();
    assert!(text.contains(&format!("needs {size} bytes")), "{text}");
    assert!(text.contains("--fetch-max-bytes"), "{text}");
}

#[test]
fn unknown_topic_is_surfaced_with_its_name_and_a_hint() {
    let broker = FakeBroker::start(Behaviour::default());
    let e = consume(&broker.address(), "nope", StartOffset::Earliest, 1, 1 << 20).unwrap_err();
    assert_eq!(e.code(), Some(ErrorCode::UnknownTopicOrPartition));
    let text = e.to_string();
    assert!(
        text.starts_with(&format!(
            "Metadata request to {} failed with UNKNOWN_TOPIC_OR_PARTITION (3) for topic nope",
            broker.address()
        )),
        "{text}"
    );
    assert!(text.contains("topic nope does not exist"), "{text}");
}

/// The Metadata requests the fake broker saw.
fn metadata_requests(broker: &FakeBroker) -> usize {
    let st = broker.state();
    st.requests
        .iter()
        .filter(|(api, _)| *api == ApiKey::Metadata)
        .count()
}

#[test]
fn a_producer_waits_while_the_broker_creates_the_topic() {
    let broker = FakeBroker::start(Behaviour {
        create_after: 3,
        ..Behaviour::default()
    });
    let summary = produce(&broker.address(), "fresh", &values(10), 10, Acks::All).unwrap();
    assert_eq!(summary.last_offset, Some(9));
    assert_eq!(
        metadata_requests(&broker),
        4,
        "three unknown answers, then found"
    );
}

#[test]
fn a_topic_that_is_never_created_ends_the_wait_with_the_reason() {
    let broker = FakeBroker::start(Behaviour {
        create_after: usize::MAX,
        ..Behaviour::default()
    });
    let config = ClientConfig {
        metadata_wait: Duration::from_millis(400),
        ..config()
    };
    let e = connect_to_leader(&broker.address(), "never", 0, true, &config).unwrap_err();
    assert_eq!(e.code(), Some(ErrorCode::UnknownTopicOrPartition));
    // A pause of 100 ms fits in 400 ms, then 200 ms (unless the machine is slow), never
    // the next 400 ms.
    let asked = metadata_requests(&broker);
    assert!((2..=3).contains(&asked), "{asked}");
    let text = e.to_string();
    assert!(
        text.starts_with(&format!(
            "topic never is still unknown to {} (UNKNOWN_TOPIC_OR_PARTITION (3)) after",
            broker.address()
        )),
        "{text}"
    );
    assert!(
        text.contains(&format!("and {asked} Metadata requests")),
        "{text}"
    );
    assert!(text.contains("zc topics create never"), "{text}");
    assert!(text.contains("--max-block"), "{text}");

    // Without a wait, the first answer is the error; a consumer never asks to create, so
    // an unknown topic stays unknown and it does not wait either.
    let no_wait = ClientConfig {
        metadata_wait: Duration::ZERO,
        ..config.clone()
    };
    let e = connect_to_leader(&broker.address(), "never", 0, true, &no_wait).unwrap_err();
    assert!(matches!(e, ClientError::Broker { .. }), "{e}");
    let e = connect_to_leader(&broker.address(), "never", 0, false, &config).unwrap_err();
    assert!(matches!(e, ClientError::Broker { .. }), "{e}");
    assert_eq!(metadata_requests(&broker), asked + 2);
}

#[test]
fn produce_error_codes_are_surfaced_with_the_brokers_message() {
    let broker = FakeBroker::start(Behaviour {
        produce_error: Some(ErrorCode::MessageTooLarge),
        ..Behaviour::default()
    });
    let e = produce(&broker.address(), "t", &values(3), 3, Acks::Leader).unwrap_err();
    assert_eq!(e.code(), Some(ErrorCode::MessageTooLarge));
    let text = e.to_string();
    assert!(text.contains("Produce request to"), "{text}");
    assert!(
        text.contains("MESSAGE_TOO_LARGE (10) for t-0 (as asked)"),
        "{text}"
    );
    assert!(text.contains("--batch-size"), "{text}");
}

#[test]
fn offset_out_of_range_names_the_valid_range() {
    let broker = FakeBroker::start(Behaviour::default());
    produce(&broker.address(), "t", &values(10), 5, Acks::Leader).unwrap();
    let e = consume(&broker.address(), "t", StartOffset::At(50), 1, 1 << 20).unwrap_err();
    let text = e.to_string();
    assert!(
        text.contains("offset 50 is outside the partition's range [0, 10]"),
        "{text}"
    );
}

#[test]
fn corrupt_fetched_batch_is_reported_with_its_offset() {
    let broker = FakeBroker::start(Behaviour {
        corrupt_fetch: true,
        ..Behaviour::default()
    });
    produce(&broker.address(), "t", &values(4), 4, Acks::Leader).unwrap();
    let e = consume(&broker.address(), "t", StartOffset::Earliest, 4, 1 << 20).unwrap_err();
    let text = e.to_string();
    assert!(
        text.contains("the batch at offset 0 is damaged: CRC-32C mismatch"),
        "{text}"
    );
}

#[test]
fn offset_gap_is_reported() {
    let broker = FakeBroker::start(Behaviour::default());
    let mut data = Vec::new();
    for base in [0, 3] {
        let mut b = BatchBuilder::new(&mut data, base);
        b.append(0, None, Some(b"a"), &[]);
        b.append(0, None, Some(b"b"), &[]);
        b.finish();
    }
    broker.preload("t", &data, 5);
    let e = consume(&broker.address(), "t", StartOffset::Earliest, 4, 1 << 20).unwrap_err();
    assert!(
        e.to_string()
            .contains("offsets are not contiguous: expected 2, got 3 (1 records missing)"),
        "{e}"
    );
}

#[test]
fn client_follows_the_advertised_address() {
    let leader = FakeBroker::start(Behaviour::default());
    let bootstrap = FakeBroker::start(Behaviour {
        advertise: Some(leader.address()),
        ..Behaviour::default()
    });
    let sent = values(5);
    produce(&bootstrap.address(), "t", &sent, 5, Acks::Leader).unwrap();
    assert_eq!(leader.state().logs["t"].1, 5);
    assert!(
        !bootstrap
            .state()
            .requests
            .iter()
            .any(|(api, _)| *api == ApiKey::Produce)
    );
}

#[test]
fn unreachable_advertised_address_says_so() {
    // A port nobody listens on: bind one, note it, close it.
    let port = TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let broker = FakeBroker::start(Behaviour {
        advertise: Some(format!("127.0.0.1:{port}")),
        ..Behaviour::default()
    });
    let e = produce(&broker.address(), "t", &values(1), 1, Acks::Leader).unwrap_err();
    let text = e.to_string();
    assert!(
        text.starts_with(&format!("cannot connect to 127.0.0.1:{port}")),
        "{text}"
    );
    assert!(
        text.contains(&format!("the broker at {} advertises", broker.address())),
        "{text}"
    );
    assert!(text.contains("--advertise"), "{text}");
}

#[test]
fn silent_broker_times_out_naming_address_and_api() {
    let broker = FakeBroker::start(Behaviour {
        silent: true,
        ..Behaviour::default()
    });
    let config = ClientConfig {
        request_timeout: Duration::from_millis(200),
        ..config()
    };
    let started = Instant::now();
    let e = Connection::open(&broker.address(), &config).unwrap_err();
    assert!(started.elapsed() < Duration::from_secs(3));
    assert_eq!(
        e.to_string(),
        format!(
            "ApiVersions request to {}: no response within 0.2 s",
            broker.address()
        )
    );
}

#[test]
fn refused_connection_names_the_address() {
    let port = TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let e = Connection::open(&format!("127.0.0.1:{port}"), &config()).unwrap_err();
    let text = e.to_string();
    assert!(text.starts_with(&format!("cannot connect to 127.0.0.1:{port}")));
    assert!(
        text.contains("is a broker (zc serve) listening there?"),
        "{text}"
    );
}

#[test]
fn a_peer_that_is_not_kafka_is_refused_without_allocating() {
    // Something that answers every request with "HTTP/1.1 400": its first four bytes,
    // read as a frame size, claim over a gigabyte.
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    thread::spawn(move || {
        if let Ok((mut s, _)) = listener.accept() {
            let _ = s.set_read_timeout(Some(SOCKET_TIMEOUT));
            let mut buf = [0u8; 64];
            let _ = s.read(&mut buf);
            let _ = s.write_all(b"HTTP/1.1 400 Bad Request\r\n\r\n");
            let _ = s.read(&mut buf);
        }
    });
    let e = Connection::open(&addr.to_string(), &config()).unwrap_err();
    let text = e.to_string();
    assert!(text.contains("is not valid Kafka protocol"), "{text}");
    assert!(text.contains("is this port a Kafka broker?"), "{text}");
}
