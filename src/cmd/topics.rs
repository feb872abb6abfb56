//! `zc topics`: Kafka's `kafka-topics` for `zc serve` (or any Kafka broker), on the
//! client's admin calls ([`crate::client::admin`]). Output follows `kafka-topics`: names one
//! per line for `list`, "Created topic X." for `create`, and for `describe` a topic line
//! with its settings, then one line per partition, here with its offsets too.

use std::fmt::Write as _;

use anyhow::{Context, Result};

use super::print;
use crate::cli::client::TopicsCommand;
use crate::client::{ClientConfig, Connection, PartitionInfo};
use crate::kafka::ConfigEntry;

pub fn run(cmd: TopicsCommand) -> Result<()> {
    let config = ClientConfig::default();
    let connect = |bootstrap: &str| Connection::open(bootstrap, &config);
    match cmd {
        TopicsCommand::List { bootstrap } => {
            let topics = connect(&bootstrap)?.list_topics()?;
            print(
                &topics
                    .iter()
                    .map(|(name, _)| format!("{name}\n"))
                    .collect::<String>(),
            )
        }
        TopicsCommand::Create {
            bootstrap,
            topic,
            partitions,
            replication_factor,
            validate_only,
        } => {
            connect(&bootstrap)?.create_topic(
                &topic,
                partitions.unwrap_or(-1),
                replication_factor.unwrap_or(-1),
                validate_only,
            )?;
            print(&if validate_only {
                format!("The broker would create topic {topic} (validate only: nothing created).\n")
            } else {
                format!("Created topic {topic}.\n")
            })
        }
        TopicsCommand::Alter {
            bootstrap,
            topic,
            partitions,
        } => {
            connect(&bootstrap)?.create_partitions(&topic, partitions)?;
            print(&format!("Topic {topic} now has {partitions} partitions.\n"))
        }
        TopicsCommand::Delete { bootstrap, topics } => {
            let mut conn = connect(&bootstrap)?;
            for topic in topics {
                conn.delete_topic(&topic)?;
                print(&format!("Deleted topic {topic}.\n"))?;
            }
            Ok(())
        }
        TopicsCommand::Describe { bootstrap, topics } => {
            let mut conn = connect(&bootstrap)?;
            let topics = if topics.is_empty() {
                conn.list_topics()?
                    .into_iter()
                    .map(|(name, _)| name)
                    .collect()
            } else {
                topics
            };
            for topic in topics {
                let (partitions, configs) = conn
                    .describe_topic(&topic)
                    .with_context(|| format!("cannot describe topic {topic}"))?;
                print(&describe(&topic, &partitions, &configs))?;
            }
            Ok(())
        }
    }
}

/// `kafka-topics --describe`'s layout, plus each partition's offsets.
fn describe(topic: &str, partitions: &[PartitionInfo], configs: &[ConfigEntry]) -> String {
    let replication = partitions.first().map_or(0, |p| p.replicas.len());
    let settings: Vec<String> = configs
        .iter()
        .map(|c| format!("{}={}", c.name, c.value.as_deref().unwrap_or("null")))
        .collect();
    let mut out = format!(
        "Topic: {topic}\tPartitionCount: {}\tReplicationFactor: {replication}\tConfigs: {}\n",
        partitions.len(),
        settings.join(",")
    );
    let ids = |ids: &[i32]| ids.iter().map(i32::to_string).collect::<Vec<_>>().join(",");
    for p in partitions {
        let _ = writeln!(
            out,
            "\tTopic: {topic}\tPartition: {}\tLeader: {}\tReplicas: {}\tIsr: {}\tOffsets: {}..{} ({} records)",
            p.index,
            p.leader,
            ids(&p.replicas),
            ids(&p.isr),
            p.start,
            p.end,
            p.end - p.start
        );
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::kafka::ConfigSource;

    #[test]
    fn describe_looks_like_kafka_topics() {
        let p = |index, end| PartitionInfo {
            index,
            leader: 1,
            replicas: vec![1],
            isr: vec![1],
            start: 0,
            end,
        };
        let config = ConfigEntry {
            name: "segment.bytes".into(),
            value: Some("1024".into()),
            read_only: true,
            source: ConfigSource::StaticBroker,
            config_type: 3,
            documentation: None,
        };
        assert_eq!(
            describe("t", &[p(0, 5), p(1, 0)], &[config]),
            "Topic: t\tPartitionCount: 2\tReplicationFactor: 1\tConfigs: segment.bytes=1024\n\
             \tTopic: t\tPartition: 0\tLeader: 1\tReplicas: 1\tIsr: 1\tOffsets: 0..5 (5 records)\n\
             \tTopic: t\tPartition: 1\tLeader: 1\tReplicas: 1\tIsr: 1\tOffsets: 0..0 (0 records)\n"
        );
    }
}
