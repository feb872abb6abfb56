//! Sending record batches to one partition with Produce, several requests in flight.
//!
//! The producer's speed comes from two things Kafka clients do:
//! - **Batching**: records travel in batches (built by the caller with
//!   [`BatchBuilder`](crate::log::batch::BatchBuilder), `baseOffset` 0: the broker assigns
//!   the real offsets, and the CRC does not cover the field, so it can).
//! - **Pipelining**: the next request goes out before the previous answer is back, up to
//!   `max_in_flight` (Kafka's `max.in.flight.requests.per.connection`, 5). The broker
//!   answers in order, so the oldest request is always the next answer; with one
//!   connection and no retries, batches are appended in the order they were sent.
//!
//! `acks` says when the broker answers: `1` after the leader appended, `-1` ("all") after
//! every in-sync replica has it (the same here: one broker), and `0` **never**. With
//! acks=0 the client gets no offsets and no errors; it cannot even tell whether the broker
//! read the requests before the process exits. So [`Producer::finish`] ends an acks=0 run
//! with a ListOffsets round trip: the broker answers requests in order, so its answer
//! means every Produce before it was processed, and it gives the end offset.

use std::collections::VecDeque;
use std::time::Duration;

use crate::kafka::{
    ApiKey, ErrorCode, ProducePartition, ProduceRequest, ProduceResponse, ProduceTopic, RequestBody,
};

use super::connection::{Connection, Pending};
use super::error::ClientError;
use super::partition::OffsetSpec;

/// When the broker acknowledges a Produce.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Acks {
    /// `0`: no response at all.
    None,
    /// `1`: once the leader has appended the batch.
    Leader,
    /// `-1`: once all in-sync replicas have it (Kafka's default since 3.0, and librdkafka's).
    All,
}

impl Acks {
    /// The int16 on the wire.
    pub fn wire(self) -> i16 {
        match self {
            Acks::None => 0,
            Acks::Leader => 1,
            Acks::All => -1,
        }
    }
}

/// What a producer sent and what the broker said about it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct ProduceSummary {
    pub batches: u64,
    pub records: u64,
    /// Bytes of record batches sent.
    pub batch_bytes: u64,
    /// Offset of the first record, from the first acknowledgement (acks 1 and -1).
    pub first_offset: Option<i64>,
    /// Offset of the last record, from the last acknowledgement (acks 1 and -1).
    pub last_offset: Option<i64>,
    /// The partition's end offset after the last batch (acks 0 only, from ListOffsets).
    pub log_end_offset: Option<i64>,
}

/// A producer to one partition, connected to its leader.
#[derive(Debug)]
pub struct Producer {
    conn: Connection,
    version: i16,
    topic: String,
    partition: i32,
    acks: Acks,
    max_in_flight: usize,
    /// Requests sent and not answered yet, oldest first, with their record counts.
    in_flight: VecDeque<(Pending, u32)>,
    summary: ProduceSummary,
}

impl Producer {
    /// Fails if the broker speaks no Produce version we speak (v3+, record format v2).
    pub fn new(
        conn: Connection,
        topic: &str,
        partition: i32,
        acks: Acks,
        max_in_flight: usize,
    ) -> Result<Self, ClientError> {
        let version = conn.version(ApiKey::Produce)?;
        Ok(Producer {
            conn,
            version,
            topic: topic.to_owned(),
            partition,
            acks,
            max_in_flight: max_in_flight.max(1),
            in_flight: VecDeque::new(),
            summary: ProduceSummary::default(),
        })
    }

    /// The connection, for its broker address and negotiated versions.
    pub fn connection(&self) -> &Connection {
        &self.conn
    }

    /// Sends one batch of `records` records (`batch` is one whole RecordBatch v2). Waits
    /// for the oldest answer first when `max_in_flight` requests are already out.
    pub fn send(&mut self, batch: &[u8], records: u32) -> Result<(), ClientError> {
        if self.in_flight.len() >= self.max_in_flight {
            self.receive_oldest()?;
        }
        let timeout_ms =
            i32::try_from(self.conn.config().request_timeout.as_millis()).unwrap_or(i32::MAX);
        let request = RequestBody::Produce(ProduceRequest {
            transactional_id: None,
            acks: self.acks.wire(),
            timeout_ms,
            topic_data: vec![ProduceTopic {
                name: self.topic.clone(),
                partition_data: vec![ProducePartition {
                    index: self.partition,
                    records: Some(batch),
                }],
            }],
        });
        let pending = self.conn.send(self.version, &request)?;
        if self.acks != Acks::None {
            self.in_flight.push_back((pending, records));
        }
        self.summary.batches += 1;
        self.summary.records += u64::from(records);
        self.summary.batch_bytes += batch.len() as u64;
        Ok(())
    }

    /// Waits for every answer (for acks=0: a ListOffsets round trip, see the module docs)
    /// and returns the summary.
    pub fn finish(mut self) -> Result<ProduceSummary, ClientError> {
        while !self.in_flight.is_empty() {
            self.receive_oldest()?;
        }
        if self.acks == Acks::None && self.summary.batches > 0 {
            let end = self
                .conn
                .list_offset(&self.topic, self.partition, OffsetSpec::Latest)?;
            self.summary.log_end_offset = Some(end);
        }
        Ok(self.summary)
    }

    fn receive_oldest(&mut self) -> Result<(), ClientError> {
        let Some((pending, records)) = self.in_flight.pop_front() else {
            return Ok(());
        };
        // The broker may wait up to timeout_ms (for replicas); give it a second more.
        let response: ProduceResponse = self.conn.receive(pending, Duration::from_secs(1))?;
        let broker = self.conn.broker();
        let Some(p) = response
            .responses
            .iter()
            .filter(|t| t.name == self.topic)
            .flat_map(|t| &t.partition_responses)
            .find(|p| p.index == self.partition)
        else {
            return Err(ClientError::Protocol {
                broker: broker.to_owned(),
                api: ApiKey::Produce,
                detail: format!(
                    "the response does not mention {}-{}",
                    self.topic, self.partition
                ),
            });
        };
        if p.error_code != ErrorCode::None {
            return Err(ClientError::Broker {
                broker: broker.to_owned(),
                api: ApiKey::Produce,
                code: p.error_code,
                topic: Some(self.topic.clone()),
                partition: Some(self.partition),
                message: p.error_message.clone(),
            });
        }
        self.summary.first_offset.get_or_insert(p.base_offset);
        self.summary.last_offset = Some(p.base_offset + i64::from(records) - 1);
        Ok(())
    }
}
