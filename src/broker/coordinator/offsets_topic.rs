//! `__consumer_offsets`: where the coordinator keeps what must survive a restart, in
//! exactly the records Kafka writes, so Kafka's own tools can read zc's log dir.
//!
//! A group's state is a *compacted changelog*: every change is appended as a record whose
//! key names what changed and whose value is the new state; a null value (a *tombstone*)
//! deletes the key. Replaying the topic from the start and keeping the last value of every
//! key rebuilds the state, which is all a restarted coordinator does. Two kinds of record,
//! told apart by the int16 version that opens the key (schemas from Kafka's
//! `group-coordinator/src/main/resources/common/message/`):
//!
//! ```text
//! OffsetCommitKey v1:  group string | topic string | partition int32
//! OffsetCommitValue v3: offset int64 | leaderEpoch int32 | metadata string | commitTimestamp int64
//! GroupMetadataKey v2: group string
//! GroupMetadataValue v3: protocolType string | generation int32 | protocol nullable string |
//!   leader nullable string | currentStateTimestamp int64 | members [memberId string |
//!   groupInstanceId nullable string | clientId string | clientHost string |
//!   rebalanceTimeout int32 | sessionTimeout int32 | subscription bytes | assignment bytes]
//! ```
//!
//! (Each value opens with its own int16 version too. These are the versions Kafka 4 writes:
//! the highest non-flexible ones.) A group lives in partition `abs(javaHashCode(group)) %
//! partitions`, as in Kafka, where the partition's leader *is* the group's coordinator;
//! zc creates the topic with the broker's default partition count. Kafka compacts the topic
//! in the background; zc does not, so the log grows by one small batch per commit.

use std::os::unix::fs::FileExt;

use anyhow::{Context as _, Result, bail};

use crate::broker::topics::{CreateError, Topics};
use crate::kafka::primitives::{FieldResult, Reader, Writer};
use crate::log::batch::{self, BatchBuilder};

/// The internal topic's name (Kafka's `Topic.GROUP_METADATA_TOPIC_NAME`).
pub const OFFSETS_TOPIC: &str = "__consumer_offsets";

const OFFSET_COMMIT_KEY_VERSION: i16 = 1;
const OFFSET_COMMIT_VALUE_VERSION: i16 = 3;
const GROUP_METADATA_KEY_VERSION: i16 = 2;
const GROUP_METADATA_VALUE_VERSION: i16 = 3;

/// A committed offset as stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OffsetValue {
    pub offset: i64,
    pub leader_epoch: i32,
    pub metadata: String,
    pub commit_timestamp: i64,
}

/// One member as the group metadata record stores it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredMember {
    pub member_id: String,
    pub client_id: String,
    pub client_host: String,
    pub rebalance_timeout_ms: i32,
    pub session_timeout_ms: i32,
    pub subscription: Vec<u8>,
    pub assignment: Vec<u8>,
}

/// A group's membership as stored after each rebalance.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GroupValue {
    pub protocol_type: String,
    pub generation: i32,
    pub protocol: Option<String>,
    pub leader: Option<String>,
    pub current_state_timestamp: i64,
    pub members: Vec<StoredMember>,
}

/// One record of the topic, decoded. `None` values are tombstones.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StoredRecord {
    Offset {
        group: String,
        topic: String,
        partition: i32,
        value: Option<OffsetValue>,
    },
    Group {
        group: String,
        value: Option<GroupValue>,
    },
}

impl StoredRecord {
    /// The record's key and value bytes.
    pub fn encode(&self) -> (Vec<u8>, Option<Vec<u8>>) {
        let mut key = Writer::new();
        match self {
            StoredRecord::Offset {
                group,
                topic,
                partition,
                value,
            } => {
                key.i16(OFFSET_COMMIT_KEY_VERSION);
                key.string(group);
                key.string(topic);
                key.i32(*partition);
                let value = value.as_ref().map(|v| {
                    let mut w = Writer::new();
                    w.i16(OFFSET_COMMIT_VALUE_VERSION);
                    w.i64(v.offset);
                    w.i32(v.leader_epoch);
                    w.string(&v.metadata);
                    w.i64(v.commit_timestamp);
                    w.into_inner()
                });
                (key.into_inner(), value)
            }
            StoredRecord::Group { group, value } => {
                key.i16(GROUP_METADATA_KEY_VERSION);
                key.string(group);
                let value = value.as_ref().map(|v| {
                    let mut w = Writer::new();
                    w.i16(GROUP_METADATA_VALUE_VERSION);
                    w.string(&v.protocol_type);
                    w.i32(v.generation);
                    w.nullable_string(v.protocol.as_deref());
                    w.nullable_string(v.leader.as_deref());
                    w.i64(v.current_state_timestamp);
                    w.array_of(&v.members, |w, m| {
                        w.string(&m.member_id);
                        w.nullable_string(None); // groupInstanceId: no static members
                        w.string(&m.client_id);
                        w.string(&m.client_host);
                        w.i32(m.rebalance_timeout_ms);
                        w.i32(m.session_timeout_ms);
                        w.bytes(&m.subscription);
                        w.bytes(&m.assignment);
                    });
                    w.into_inner()
                });
                (key.into_inner(), value)
            }
        }
    }

    /// Decodes a record; key versions 0/1 are offset commits and 2 group metadata, as in
    /// Kafka. Value versions 0 to 3 are read (the fields each lacks get Kafka's defaults).
    pub fn decode(key: &[u8], value: Option<&[u8]>) -> FieldResult<StoredRecord> {
        let mut k = Reader::new(key);
        let key_version = k.i16("key.version")?;
        let record = if key_version <= OFFSET_COMMIT_KEY_VERSION {
            let group = k.string("offset_commit_key.group")?;
            let topic = k.string("offset_commit_key.topic")?;
            let partition = k.i32("offset_commit_key.partition")?;
            let value = value.map(decode_offset_value).transpose()?;
            StoredRecord::Offset {
                group,
                topic,
                partition,
                value,
            }
        } else {
            let group = k.string("group_metadata_key.group")?;
            let value = value.map(decode_group_value).transpose()?;
            StoredRecord::Group { group, value }
        };
        k.finish("record key")?;
        Ok(record)
    }
}

fn decode_offset_value(bytes: &[u8]) -> FieldResult<OffsetValue> {
    let mut r = Reader::new(bytes);
    let version = r.i16("offset_commit_value.version")?;
    let offset = r.i64("offset_commit_value.offset")?;
    let leader_epoch = if version >= 3 {
        r.i32("offset_commit_value.leader_epoch")?
    } else {
        -1
    };
    let metadata = r.string("offset_commit_value.metadata")?;
    let commit_timestamp = r.i64("offset_commit_value.commit_timestamp")?;
    if version == 1 {
        r.i64("offset_commit_value.expire_timestamp")?;
    }
    // Version 4+ (flexible) would end in a tagged-field section; Kafka does not write it yet.
    Ok(OffsetValue {
        offset,
        leader_epoch,
        metadata,
        commit_timestamp,
    })
}

fn decode_group_value(bytes: &[u8]) -> FieldResult<GroupValue> {
    let mut r = Reader::new(bytes);
    let version = r.i16("group_metadata_value.version")?;
    let protocol_type = r.string("group_metadata_value.protocol_type")?;
    let generation = r.i32("group_metadata_value.generation")?;
    let protocol = r.nullable_string("group_metadata_value.protocol")?;
    let leader = r.nullable_string("group_metadata_value.leader")?;
    let current_state_timestamp = if version >= 2 {
        r.i64("group_metadata_value.current_state_timestamp")?
    } else {
        -1
    };
    let members = r.array_of("group_metadata_value.members", 16, |r| {
        let member_id = r.string("group_metadata_value.members.member_id")?;
        if version >= 3 {
            r.nullable_string("group_metadata_value.members.group_instance_id")?;
        }
        let client_id = r.string("group_metadata_value.members.client_id")?;
        let client_host = r.string("group_metadata_value.members.client_host")?;
        let rebalance_timeout_ms = if version >= 1 {
            r.i32("group_metadata_value.members.rebalance_timeout")?
        } else {
            -1
        };
        Ok(StoredMember {
            member_id,
            client_id,
            client_host,
            rebalance_timeout_ms,
            session_timeout_ms: r.i32("group_metadata_value.members.session_timeout")?,
            subscription: r
                .bytes("group_metadata_value.members.subscription")?
                .to_vec(),
            assignment: r.bytes("group_metadata_value.members.assignment")?.to_vec(),
        })
    })?;
    Ok(GroupValue {
        protocol_type,
        generation,
        protocol,
        leader,
        current_state_timestamp,
        members,
    })
}

/// Java's `String.hashCode` (over UTF-16 code units, wrapping), which Kafka uses to place
/// a group in a partition of the offsets topic.
fn java_hash_code(s: &str) -> i32 {
    s.encode_utf16()
        .fold(0i32, |h, c| h.wrapping_mul(31).wrapping_add(i32::from(c)))
}

/// Kafka's `GroupMetadataManager.partitionFor`: `Utils.abs(hash) % partitions`, where
/// `Utils.abs(MIN_VALUE)` is 0.
pub fn partition_for(group: &str, partitions: usize) -> usize {
    let h = java_hash_code(group);
    let abs = if h == i32::MIN { 0 } else { h.unsigned_abs() };
    abs as usize % partitions.max(1)
}

/// Appends `records` of one group as one batch (all or nothing, like Kafka's appends to
/// this topic), creating the topic on first use.
pub fn append(topics: &Topics, group: &str, records: &[StoredRecord], now_ms: i64) -> Result<()> {
    if records.is_empty() {
        return Ok(());
    }
    let topic = topics
        .get_or_create(OFFSETS_TOPIC)
        .map_err(|e| match e {
            CreateError::Io(e) => e,
            other => anyhow::anyhow!("{other}"),
        })
        .with_context(|| format!("cannot create {OFFSETS_TOPIC}"))?;
    let index = partition_for(group, topic.partitions.len());
    let mut log = topic
        .partition(index as i32)
        .with_context(|| format!("{OFFSETS_TOPIC} has no partition {index}"))?;
    let mut buf = Vec::new();
    let mut batch = BatchBuilder::new(&mut buf, 0);
    let encoded: Vec<_> = records.iter().map(StoredRecord::encode).collect();
    for (key, value) in &encoded {
        batch.append(now_ms, Some(key), value.as_deref(), &[]);
    }
    batch.finish();
    log.append_batches(&mut buf)
        .with_context(|| format!("cannot append to {OFFSETS_TOPIC}-{index}"))?;
    drop(log);
    topics.notify_appended(&topic);
    Ok(())
}

/// Every record of the topic, partition by partition, in offset order; empty when the
/// topic does not exist yet. A record that does not decode stops the start-up with its
/// offset: guessing past it could resurrect a deleted group or an old offset.
pub fn replay(topics: &Topics) -> Result<Vec<StoredRecord>> {
    let Some(topic) = topics.get(OFFSETS_TOPIC) else {
        return Ok(Vec::new());
    };
    let mut out = Vec::new();
    for index in 0..topic.partitions.len() {
        let log = topic.partition(index as i32).expect("index in range");
        let mut offset = log.log_start_offset();
        let end = log.log_end_offset();
        while offset < end {
            let Some(slice) = log
                .read(offset, 1 << 20)
                .with_context(|| format!("cannot read {OFFSETS_TOPIC}-{index} at {offset}"))?
            else {
                break;
            };
            let mut bytes = vec![0u8; slice.len as usize];
            slice
                .file
                .read_exact_at(&mut bytes, slice.position)
                .with_context(|| format!("cannot read {OFFSETS_TOPIC}-{index}"))?;
            let mut rest = &bytes[..];
            while !rest.is_empty() {
                let bad = |e| {
                    anyhow::anyhow!("{OFFSETS_TOPIC}-{index}: bad batch after offset {offset}: {e}")
                };
                let size = batch::BatchHeader::parse(rest).map_err(bad)?.size();
                let (this, next) = rest.split_at(size.min(rest.len()));
                let header = batch::validate(this).map_err(bad)?;
                if header.compression() != 0 {
                    bail!(
                        "{OFFSETS_TOPIC}-{index}: compressed batch at offset {}; zc writes this topic uncompressed",
                        header.base_offset
                    );
                }
                for (i, record) in batch::records(this).enumerate() {
                    let at = header.base_offset + i as i64;
                    let record = record
                        .map_err(|e| anyhow::anyhow!("{OFFSETS_TOPIC}-{index} offset {at}: {e}"))?;
                    // A record without a key is not one of the coordinator's: skip it, as
                    // Kafka's loader does for control records.
                    let Some(key) = record.key else { continue };
                    out.push(StoredRecord::decode(key, record.value).map_err(|e| {
                        anyhow::anyhow!("{OFFSETS_TOPIC}-{index} offset {at}: {e}")
                    })?);
                }
                offset = header.last_offset() + 1;
                rest = next;
            }
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn java_hash_matches_known_values() {
        // "".hashCode() == 0, "a" == 97, "group" == 98629247 (computed by the JVM).
        assert_eq!(java_hash_code(""), 0);
        assert_eq!(java_hash_code("a"), 97);
        assert_eq!(java_hash_code("group"), 98_629_247);
        assert_eq!(partition_for("group", 50), 98_629_247 % 50);
    }

    #[test]
    fn offset_commit_record_bytes_are_kafkas() {
        let rec = StoredRecord::Offset {
            group: "g".into(),
            topic: "t".into(),
            partition: 2,
            value: Some(OffsetValue {
                offset: 5,
                leader_epoch: -1,
                metadata: String::new(),
                commit_timestamp: 7,
            }),
        };
        let (key, value) = rec.encode();
        assert_eq!(key, [0, 1, 0, 1, b'g', 0, 1, b't', 0, 0, 0, 2]);
        let value = value.unwrap();
        assert_eq!(
            value,
            [
                0, 3, 0, 0, 0, 0, 0, 0, 0, 5, 0xff, 0xff, 0xff, 0xff, 0, 0, 0, 0, 0, 0, 0, 0, 0, 7
            ]
        );
        assert_eq!(StoredRecord::decode(&key, Some(&value)).unwrap(), rec);
    }

    #[test]
    fn group_record_and_tombstones_round_trip() {
        let rec = StoredRecord::Group {
            group: "g".into(),
            value: Some(GroupValue {
                protocol_type: "consumer".into(),
                generation: 3,
                protocol: Some("range".into()),
                leader: Some("m1".into()),
                current_state_timestamp: 9,
                members: vec![StoredMember {
                    member_id: "m1".into(),
                    client_id: "c".into(),
                    client_host: "/127.0.0.1".into(),
                    rebalance_timeout_ms: 300_000,
                    session_timeout_ms: 45_000,
                    subscription: vec![1, 2],
                    assignment: vec![3],
                }],
            }),
        };
        let (key, value) = rec.encode();
        assert_eq!(StoredRecord::decode(&key, value.as_deref()).unwrap(), rec);
        let tomb = StoredRecord::Group {
            group: "g".into(),
            value: None,
        };
        let (key, value) = tomb.encode();
        assert_eq!(value, None);
        assert_eq!(StoredRecord::decode(&key, None).unwrap(), tomb);
    }
}
