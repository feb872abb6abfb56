//! Kafka's consumer protocol: the bytes members of a `consumer` group exchange through the
//! coordinator without the coordinator reading them.
//!
//! JoinGroup carries each member's *subscription* (the topics it wants) as opaque
//! metadata; SyncGroup carries the leader's *assignment* for each member (the partitions
//! it reads) as opaque bytes; DescribeGroups hands both back as they were sent. Their
//! schemas are `ConsumerProtocolSubscription` and `ConsumerProtocolAssignment` in Kafka's
//! `clients/src/main/resources/common/message/`. Every version begins with the same fields
//! (later versions append: owned partitions, generation and rack in subscription v1-v3),
//! so a reader of version 0's fields reads any version, which is what Kafka's own
//! `ConsumerProtocol` does with versions newer than it knows.

use super::primitives::{FieldResult, Reader, Writer};

/// Topics and their partitions, in the order the bytes list them.
pub type TopicPartitions = Vec<(String, Vec<i32>)>;

/// A subscription, version 0: `topics`, no user data.
pub fn encode_subscription(topics: &[&str]) -> Vec<u8> {
    let mut w = Writer::new();
    w.i16(0);
    w.array_of(topics, |w, t| w.string(t));
    w.nullable_bytes(None);
    w.into_inner()
}

/// The topics of a subscription of any version.
pub fn decode_subscription(bytes: &[u8]) -> FieldResult<Vec<String>> {
    let mut r = Reader::new(bytes);
    r.i16("subscription.version")?;
    r.array_of("subscription.topics", 2, |r| r.string("subscription.topic"))
}

/// An assignment, version 0: `partitions` of each topic, no user data.
pub fn encode_assignment(assigned: &[(&str, &[i32])]) -> Vec<u8> {
    let mut w = Writer::new();
    w.i16(0);
    w.array_of(assigned, |w, (topic, partitions)| {
        w.string(topic);
        w.array_of(partitions, |w, p| w.i32(*p));
    });
    w.nullable_bytes(None);
    w.into_inner()
}

/// The partitions of an assignment of any version. Empty bytes are an empty assignment:
/// what a member gets between JoinGroup and SyncGroup, or when it leads nothing.
pub fn decode_assignment(bytes: &[u8]) -> FieldResult<TopicPartitions> {
    if bytes.is_empty() {
        return Ok(Vec::new());
    }
    let mut r = Reader::new(bytes);
    r.i16("assignment.version")?;
    r.array_of("assignment.topics", 6, |r| {
        let topic = r.string("assignment.topic")?;
        let partitions = r.array_of("assignment.partitions", 4, |r| {
            r.i32("assignment.partition")
        })?;
        Ok((topic, partitions))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn assignments_round_trip() {
        let bytes = encode_assignment(&[("t", &[1, 3]), ("u", &[])]);
        assert_eq!(
            decode_assignment(&bytes).unwrap(),
            [("t".to_owned(), vec![1, 3]), ("u".to_owned(), vec![])]
        );
        assert!(decode_assignment(&[]).unwrap().is_empty());
        assert!(decode_assignment(&bytes[..bytes.len() - 7]).is_err());
    }

    #[test]
    fn later_versions_are_read_by_their_common_fields() {
        // Subscription v1 as the Java client sends it: topics, user data, owned partitions.
        let mut w = Writer::new();
        w.i16(1);
        w.array_of(&["a", "b"], |w, t| w.string(t));
        w.nullable_bytes(None);
        w.array_of(&[("a", 0)], |w, (t, p)| {
            w.string(t);
            w.array_of(&[*p], |w, p| w.i32(*p));
        });
        assert_eq!(decode_subscription(&w.into_inner()).unwrap(), ["a", "b"]);
        assert_eq!(
            decode_subscription(&encode_subscription(&["t"])).unwrap(),
            ["t"]
        );
    }
}
