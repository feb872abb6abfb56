//! ApiVersions must list exactly the APIs zc handles, both ways: every advertised (API,
//! version) gets an answer from the handlers, and every other Kafka API key is refused
//! before a handler sees it, with its name in the log line.

use std::net::SocketAddr;
use std::sync::atomic::AtomicBool;
use std::sync::{Arc, mpsc};
use std::time::Duration;

use super::handlers::{Advertised, Context, Listener, Reply, handle};
use super::topics::{TopicLimits, Topics};
use crate::kafka::codes::KAFKA_API_NAMES;
use crate::kafka::tests::sample;
use crate::kafka::{
    ApiKey, ApiVersionsResponse, DecodeError, RequestBody, SUPPORTED_APIS, decode_request,
    encode_request,
};
use crate::log::partition::LogConfig;

fn context(dir: &std::path::Path) -> Context {
    let limits = TopicLimits {
        default_partitions: 1,
        max_partitions: 100,
        max_creations_per_request: 10,
        fd_reserve: 0,
    };
    let (topics, _) = Topics::open(dir, LogConfig::default(), limits).unwrap();
    Context::new(
        topics,
        Advertised {
            plain: ("127.0.0.1".into(), 9092),
            tls: None,
        },
        true,
        Arc::new(AtomicBool::new(false)),
        Arc::new(|_| {}),
    )
    .unwrap()
}

#[test]
fn every_advertised_api_and_version_is_answered_by_a_handler() {
    let dir = tempfile::tempdir().unwrap();
    let ctx = Arc::new(context(dir.path()));
    let advertised = ApiVersionsResponse::supported().api_keys;
    assert_eq!(advertised.len(), SUPPORTED_APIS.len());
    for entry in advertised {
        let api = ApiKey::from_code(entry.api_key).expect("advertised APIs are implemented");
        for v in entry.min_version..=entry.max_version {
            let mut body = sample(api, v);
            if let RequestBody::Fetch(f) = &mut body {
                f.max_wait_ms = 0; // answer at once instead of waiting for data
            }
            let frame = encode_request(40 + i32::from(v), Some("test"), v, &body);
            // Run the handler on its own thread: one that blocked would hang the test.
            let (tx, rx) = mpsc::channel();
            let ctx = ctx.clone();
            std::thread::spawn(move || {
                let request = decode_request(&frame[4..]).expect("an advertised version decodes");
                let peer: SocketAddr = "127.0.0.1:1".parse().unwrap();
                let answered = match handle(&ctx, request, peer, Listener::Plain) {
                    Reply::Frame(f) => f[4..8] == (40 + i32::from(v)).to_be_bytes(),
                    Reply::Fetch { .. } => true,
                    Reply::Nothing => false,
                };
                let _ = tx.send(answered);
            });
            let answered = rx
                .recv_timeout(Duration::from_secs(10))
                .unwrap_or_else(|_| panic!("{api} v{v}: no answer within 10 s"));
            assert!(answered, "{api} v{v}: advertised but not answered");
        }
    }
}

#[test]
fn every_other_kafka_api_is_refused_by_name_before_any_handler() {
    for (key, name) in KAFKA_API_NAMES.iter().enumerate() {
        let key = key as i16;
        if ApiKey::from_code(key).is_some() {
            assert_eq!(ApiKey::from_code(key).unwrap().name(), *name);
            continue;
        }
        let mut frame = Vec::new();
        frame.extend_from_slice(&key.to_be_bytes());
        frame.extend_from_slice(&0i16.to_be_bytes()); // version
        frame.extend_from_slice(&7i32.to_be_bytes()); // correlation id
        frame.extend_from_slice(&(-1i16).to_be_bytes()); // null client id
        let e = decode_request(&frame).unwrap_err();
        assert!(matches!(e, DecodeError::UnknownApiKey(_)), "{name}: {e:?}");
        assert_eq!(e.reply(), None);
        let logged = e.to_string();
        assert!(
            logged.starts_with(&format!("{name} (API key {key},"))
                && logged.contains("not supported"),
            "{logged}"
        );
    }
    let transactional = decode_request(&[0, 24, 0, 0, 0, 0, 0, 7, 255, 255]).unwrap_err();
    assert!(
        transactional.to_string().contains("transactions"),
        "{transactional}"
    );
}
