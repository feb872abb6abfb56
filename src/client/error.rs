//! What can go wrong talking to a broker, and what to do about it.
//!
//! Every error names the broker address and the API, because "connection refused" means
//! little until you know *which* of the two addresses (bootstrap or advertised) refused,
//! and "UNKNOWN_TOPIC_OR_PARTITION" means little until you know whether it came from
//! Metadata, Fetch or Produce. Broker error codes keep Kafka's upper-case names, the ones
//! every Kafka tool prints, plus a hint saying what to do.

use std::fmt;
use std::io;
use std::time::Duration;

use crate::kafka::{ApiKey, ErrorCode};
use crate::log::batch::BatchError;

/// An error of the Kafka client. The variants differ in what the caller can do about them.
#[derive(Debug)]
pub enum ClientError {
    /// The TCP connection could not be opened (refused, unreachable, timed out, bad name).
    Connect { broker: String, source: io::Error },
    /// Metadata named a leader address this client cannot reach: the broker advertises
    /// an address that is wrong from where the client runs.
    Advertised {
        bootstrap: String,
        node_id: i32,
        source: Box<ClientError>,
    },
    /// No response within the time limit.
    Timeout {
        broker: String,
        api: ApiKey,
        waited: Duration,
    },
    /// The broker closed the connection instead of answering.
    Closed { broker: String, api: ApiKey },
    /// Sending or receiving failed.
    Io {
        broker: String,
        api: ApiKey,
        source: io::Error,
    },
    /// The broker's bytes do not make sense: a malformed or oversized frame, a response
    /// to another request, a partition we did not ask for.
    Protocol {
        broker: String,
        api: ApiKey,
        detail: String,
    },
    /// The broker speaks no version of `api` that this client speaks.
    Unsupported {
        broker: String,
        api: ApiKey,
        /// The broker's range, if it listed the API at all.
        theirs: Option<(i16, i16)>,
    },
    /// The broker answered with an error code.
    Broker {
        broker: String,
        api: ApiKey,
        code: ErrorCode,
        topic: Option<String>,
        partition: Option<i32>,
        /// The broker's own words (Produce v8+), if any.
        message: Option<String>,
    },
    /// Metadata kept saying the partition is not ready (no leader, or a topic the broker
    /// was asked to create still unknown) until the client's wait for it ran out.
    NotReady {
        broker: String,
        topic: String,
        partition: i32,
        /// What the last Metadata said: UNKNOWN_TOPIC_OR_PARTITION or LEADER_NOT_AVAILABLE.
        code: ErrorCode,
        waited: Duration,
        /// Metadata requests sent.
        requests: u32,
    },
    /// The topic exists but has no such partition.
    NoSuchPartition {
        broker: String,
        topic: String,
        partition: i32,
        partitions: usize,
    },
    /// The records themselves are wrong: a bad CRC, a gap in the offsets, a format this
    /// client cannot read.
    Data {
        broker: String,
        topic: String,
        partition: i32,
        offset: i64,
        problem: DataProblem,
    },
}

/// What is wrong with fetched records.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DataProblem {
    /// The batch does not validate (CRC, lengths, magic, record framing).
    Corrupt(BatchError),
    /// Records are missing: the next record should have had offset `expected`.
    Gap { expected: i64, found: i64 },
    /// A compressed batch whose records do not inflate (broken stream, unknown codec, or
    /// more than the inflation limit).
    Undecodable(String),
    /// The first batch does not fit the fetch budget, so no progress is possible.
    TooLarge { needed: usize, budget: usize },
    /// The broker answered OFFSET_OUT_OF_RANGE: a fetch may start anywhere in
    /// `start..=end` (at `end` it waits for new records), and `offset` is not in there.
    OutOfRange { start: i64, end: i64 },
}

impl ClientError {
    /// The broker's error code, for callers that branch on it.
    pub fn code(&self) -> Option<ErrorCode> {
        match self {
            ClientError::Broker { code, .. } => Some(*code),
            ClientError::NotReady { code, .. } => Some(*code),
            ClientError::Advertised { source, .. } => source.code(),
            _ => None,
        }
    }
}

impl fmt::Display for ClientError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ClientError::Connect { broker, source } => {
                write!(f, "cannot connect to {broker}: {source}")?;
                if source.kind() == io::ErrorKind::ConnectionRefused {
                    write!(f, "; is a broker (zc serve) listening there?")?;
                }
                Ok(())
            }
            ClientError::Advertised {
                bootstrap,
                node_id,
                source,
            } => write!(
                f,
                "{source}. That address is what the broker at {bootstrap} advertises for node \
                 {node_id} in its Metadata, and clients always reconnect to it: make the broker \
                 advertise an address reachable from here (zc serve --advertise HOST:PORT)"
            ),
            ClientError::Timeout {
                broker,
                api,
                waited,
            } => write!(
                f,
                "{} request to {broker}: no response within {:.1} s",
                api.name(),
                waited.as_secs_f64()
            ),
            ClientError::Closed { broker, api } => write!(
                f,
                "{} request to {broker}: the broker closed the connection without answering \
                 (its log may say why)",
                api.name()
            ),
            ClientError::Io {
                broker,
                api,
                source,
            } => write!(f, "{} request to {broker}: {source}", api.name()),
            ClientError::Protocol {
                broker,
                api,
                detail,
            } => write!(
                f,
                "{} response from {broker} is not valid Kafka protocol: {detail}",
                api.name()
            ),
            ClientError::Unsupported {
                broker,
                api,
                theirs,
            } => {
                let ours = api.versions();
                write!(
                    f,
                    "{broker} and zc share no version of {}: zc speaks {}..={}, the broker ",
                    api.name(),
                    ours.min,
                    ours.max
                )?;
                match theirs {
                    Some((min, max)) => write!(f, "{min}..={max}"),
                    None => write!(f, "does not offer it"),
                }
            }
            ClientError::Broker {
                broker,
                api,
                code,
                topic,
                partition,
                message,
            } => {
                write!(f, "{} request to {broker} failed with {code}", api.name())?;
                match (topic, partition) {
                    (Some(t), Some(p)) => write!(f, " for {t}-{p}")?,
                    (Some(t), None) => write!(f, " for topic {t}")?,
                    _ => {}
                }
                if let Some(m) = message {
                    write!(f, " ({m})")?;
                }
                // The hints are about producing and consuming; an admin request's error
                // (e.g. deleting a topic that does not exist) speaks for itself.
                let admin = matches!(
                    api,
                    ApiKey::CreateTopics
                        | ApiKey::DeleteTopics
                        | ApiKey::CreatePartitions
                        | ApiKey::DescribeConfigs
                );
                if let Some(h) = hint(*code, topic.as_deref()).filter(|_| !admin) {
                    write!(f, ": {h}")?;
                }
                Ok(())
            }
            ClientError::NotReady {
                broker,
                topic,
                partition,
                code,
                waited,
                requests,
            } => {
                let waited = format!(
                    "after {:.1} s and {requests} Metadata requests",
                    waited.as_secs_f64()
                );
                if *code == ErrorCode::UnknownTopicOrPartition {
                    write!(
                        f,
                        "topic {topic} is still unknown to {broker} ({code}) {waited} asking it \
                         to create the topic: this broker does not create topics on first use \
                         (Kafka with auto.create.topics.enable=false, zc serve with \
                         --no-auto-create); create it first (zc topics create {topic}), or wait \
                         longer (zc produce --max-block)"
                    )
                } else {
                    write!(
                        f,
                        "{topic}-{partition} still has no leader at {broker} ({code}) {waited}: \
                         the cluster is electing one, or the partition's replicas are offline; \
                         check the brokers' logs, or retry later"
                    )
                }
            }
            ClientError::NoSuchPartition {
                broker,
                topic,
                partition,
                partitions,
            } => write!(
                f,
                "topic {topic} on {broker} has no partition {partition}; it has {partitions} \
                 (0..={})",
                partitions.saturating_sub(1)
            ),
            ClientError::Data {
                broker,
                topic,
                partition,
                offset,
                problem,
            } => {
                write!(f, "records of {topic}-{partition} from {broker}: ")?;
                match problem {
                    DataProblem::Corrupt(e) => {
                        write!(f, "the batch at offset {offset} is damaged: {e}")
                    }
                    DataProblem::Gap { expected, found } => write!(
                        f,
                        "offsets are not contiguous: expected {expected}, got {found} \
                         ({} records missing)",
                        found - expected
                    ),
                    DataProblem::Undecodable(why) => {
                        write!(
                            f,
                            "the compressed batch at offset {offset} is unreadable: {why}"
                        )
                    }
                    DataProblem::TooLarge { needed, budget } => write!(
                        f,
                        "the batch at offset {offset} needs {needed} bytes but the broker sent \
                         only {budget}; raise --fetch-max-bytes"
                    ),
                    DataProblem::OutOfRange { start, end } => write!(
                        f,
                        "offset {offset} is outside the partition's range [{start}, {end}]; \
                         use --from earliest, --from latest or an offset in that range"
                    ),
                }
            }
        }
    }
}

impl std::error::Error for ClientError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            ClientError::Connect { source, .. } | ClientError::Io { source, .. } => Some(source),
            ClientError::Advertised { source, .. } => Some(source.as_ref()),
            ClientError::Data {
                problem: DataProblem::Corrupt(e),
                ..
            } => Some(e),
            _ => None,
        }
    }
}

/// What to do about a broker error code, when there is something to say.
fn hint(code: ErrorCode, topic: Option<&str>) -> Option<String> {
    let topic = topic.unwrap_or("the topic");
    Some(match code {
        ErrorCode::UnknownTopicOrPartition => format!(
            "topic {topic} does not exist; create it (zc topics create), or produce to it \
             first: zc produce asks the broker to create it, which zc serve does unless started \
             with --no-auto-create, and Kafka when auto.create.topics.enable=true"
        ),
        ErrorCode::LeaderNotAvailable | ErrorCode::NotLeaderOrFollower => {
            "the partition has no leader on this broker right now; retry in a moment".into()
        }
        ErrorCode::InvalidTopicException => format!(
            "{topic:?} is not a legal topic name: 1-249 characters from [a-zA-Z0-9._-], not \
             \".\" or \"..\""
        ),
        ErrorCode::MessageTooLarge | ErrorCode::RecordListTooLarge => {
            "a batch is larger than the broker accepts (max.message.bytes); lower --batch-size \
             or send smaller records"
                .into()
        }
        ErrorCode::CorruptMessage | ErrorCode::InvalidRecord => {
            "the broker rejected a batch zc built; this is a bug in zc or in the broker".into()
        }
        ErrorCode::InvalidRequiredAcks => "--acks must be 0, 1 or -1".into(),
        ErrorCode::RequestTimedOut => {
            "the broker could not complete the request in time; retry, or check its log".into()
        }
        ErrorCode::UnknownServerError => {
            "the broker failed internally or sent an error code zc does not know; check the \
             broker's log"
                .into()
        }
        _ => return None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unknown_topic_says_what_to_do() {
        let e = ClientError::Broker {
            broker: "127.0.0.1:9092".into(),
            api: ApiKey::Metadata,
            code: ErrorCode::UnknownTopicOrPartition,
            topic: Some("orders".into()),
            partition: None,
            message: None,
        };
        let text = e.to_string();
        assert!(
            text.contains("Metadata request to 127.0.0.1:9092"),
            "{text}"
        );
        assert!(text.contains("UNKNOWN_TOPIC_OR_PARTITION (3)"), "{text}");
        assert!(text.contains("topic orders does not exist"), "{text}");
        assert!(text.contains("--no-auto-create"), "{text}");
        assert_eq!(e.code(), Some(ErrorCode::UnknownTopicOrPartition));
    }

    #[test]
    fn unsupported_names_both_ranges() {
        let e = ClientError::Unsupported {
            broker: "b:1".into(),
            api: ApiKey::Fetch,
            theirs: Some((0, 3)),
        };
        assert_eq!(
            e.to_string(),
            "b:1 and zc share no version of Fetch: zc speaks 4..=11, the broker 0..=3"
        );
    }
}
