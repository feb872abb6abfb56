//! `zc groups`: Kafka's `kafka-consumer-groups` for `zc serve` (or any Kafka broker), on
//! the client's group calls ([`crate::client::group_admin`]). `list` prints names one per
//! line; `describe` prints, per group, its state and the same offset table as
//! `kafka-consumer-groups --describe` (GROUP TOPIC PARTITION CURRENT-OFFSET LOG-END-OFFSET
//! LAG CONSUMER-ID HOST CLIENT-ID), then its members with their assignments (`--members`
//! there); `--format json` prints the same as JSON, for scripts.

use std::fmt::Write as _;

use anyhow::{Context, Result, bail};

use super::print;
use crate::cli::client::{GroupsCommand, ListFormat};
use crate::client::{
    ClientConfig, ClientError, Connection, GroupDescription, connect_to_coordinator,
};
use crate::kafka::ErrorCode;

pub fn run(cmd: GroupsCommand) -> Result<()> {
    let config = ClientConfig::default();
    match cmd {
        GroupsCommand::List { bootstrap, format } => {
            let groups = Connection::open(&bootstrap, &config)?.list_groups()?;
            print(&match format {
                ListFormat::Table => groups.iter().map(|g| format!("{}\n", g.group)).collect(),
                ListFormat::Json => json(&groups)?,
            })
        }
        GroupsCommand::Describe {
            bootstrap,
            groups,
            format,
        } => {
            let names = if groups.is_empty() {
                let listed = Connection::open(&bootstrap, &config)?.list_groups()?;
                listed.into_iter().map(|g| g.group).collect()
            } else {
                groups
            };
            let mut described = Vec::new();
            let mut unknown = Vec::new();
            for name in &names {
                let mut conn = connect_to_coordinator(&bootstrap, &config, name)?;
                match conn
                    .describe_group(name)
                    .with_context(|| format!("cannot describe group {name}"))?
                {
                    Some(d) => described.push(d),
                    None => unknown.push(name.as_str()),
                }
            }
            if !unknown.is_empty() {
                bail!(
                    "no consumer group {} at {bootstrap}: it never committed an offset and has \
                     no members; `zc groups list -b {bootstrap}` shows the groups there",
                    unknown.join(", ")
                );
            }
            print(&match format {
                ListFormat::Table => described
                    .iter()
                    .map(describe)
                    .collect::<Vec<_>>()
                    .join("\n"),
                ListFormat::Json => json(&described)?,
            })
        }
        GroupsCommand::Delete { bootstrap, groups } => {
            for name in groups {
                let mut conn = connect_to_coordinator(&bootstrap, &config, &name)?;
                conn.delete_group(&name)
                    .map_err(|e| delete_error(e, &name, &bootstrap))?;
                print(&format!(
                    "Deleted group {name} and its committed offsets.\n"
                ))?;
            }
            Ok(())
        }
    }
}

/// A refused DeleteGroups, with what to do about it.
fn delete_error(e: ClientError, group: &str, bootstrap: &str) -> anyhow::Error {
    let hint = match e.code() {
        Some(ErrorCode::NonEmptyGroup) => format!(
            "group {group} still has members; stop them first (`zc groups describe -b \
             {bootstrap} {group}` shows them)"
        ),
        Some(ErrorCode::GroupIdNotFound) => format!(
            "no consumer group {group} at {bootstrap}; `zc groups list -b {bootstrap}` shows \
             the groups there"
        ),
        _ => format!("cannot delete group {group}"),
    };
    anyhow::Error::new(e).context(hint)
}

fn json(value: &impl serde::Serialize) -> Result<String> {
    let mut text = serde_json::to_string_pretty(value)?;
    text.push('\n');
    Ok(text)
}

/// One group the way `kafka-consumer-groups --describe` and `--members` show it, after a
/// line with its state.
fn describe(g: &GroupDescription) -> String {
    let protocol = match (g.protocol_type.as_str(), g.protocol.as_str()) {
        ("", _) => "none (only committed offsets)".to_owned(),
        (kind, "") => kind.to_owned(),
        (kind, assignor) => format!("{kind}/{assignor}"),
    };
    let mut out = format!(
        "Group {} at {}: state {}, protocol {protocol}, {} member(s)\n\n",
        g.group,
        g.coordinator,
        g.state,
        g.members.len()
    );
    let dash = |v: Option<i64>| v.map_or("-".to_owned(), |v| v.to_string());
    let mut rows = vec![
        [
            "GROUP",
            "TOPIC",
            "PARTITION",
            "CURRENT-OFFSET",
            "LOG-END-OFFSET",
            "LAG",
            "CONSUMER-ID",
            "HOST",
            "CLIENT-ID",
        ]
        .map(str::to_owned)
        .to_vec(),
    ];
    for p in &g.partitions {
        let member = p
            .member_id
            .as_ref()
            .and_then(|id| g.members.iter().find(|m| &m.member_id == id));
        rows.push(vec![
            g.group.clone(),
            p.topic.clone(),
            p.partition.to_string(),
            dash(p.committed),
            dash(p.log_end),
            dash(p.lag),
            member.map_or("-".into(), |m| m.member_id.clone()),
            member.map_or("-".into(), |m| m.host.clone()),
            member.map_or("-".into(), |m| m.client_id.clone()),
        ]);
    }
    if g.partitions.is_empty() {
        out.push_str("No partition is assigned or committed.\n");
    } else {
        out.push_str(&columns(&rows));
    }
    out.push('\n');
    if g.members.is_empty() {
        let _ = writeln!(out, "Consumer group {} has no active members.", g.group);
        return out;
    }
    let mut rows = vec![
        [
            "CONSUMER-ID",
            "HOST",
            "CLIENT-ID",
            "#PARTITIONS",
            "ASSIGNMENT",
        ]
        .map(str::to_owned)
        .to_vec(),
    ];
    for m in &g.members {
        let count: usize = m.assignment.iter().map(|(_, p)| p.len()).sum();
        let assignment: Vec<String> = m
            .assignment
            .iter()
            .map(|(t, parts)| {
                let parts: Vec<String> = parts.iter().map(i32::to_string).collect();
                format!("{t}({})", parts.join(","))
            })
            .collect();
        rows.push(vec![
            m.member_id.clone(),
            m.host.clone(),
            m.client_id.clone(),
            count.to_string(),
            if assignment.is_empty() {
                "-".into()
            } else {
                assignment.join(" ")
            },
        ]);
    }
    out.push_str(&columns(&rows));
    out
}

/// Left-aligned columns two spaces apart, as Kafka's tools print them.
fn columns(rows: &[Vec<String>]) -> String {
    let widths: Vec<usize> = (0..rows[0].len())
        .map(|c| rows.iter().map(|r| r[c].chars().count()).max().unwrap_or(0))
        .collect();
    let mut out = String::new();
    for row in rows {
        let cells: Vec<String> = row
            .iter()
            .zip(&widths)
            .map(|(cell, w)| format!("{cell:<w$}"))
            .collect();
        out.push_str(cells.join("  ").trim_end());
        out.push('\n');
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::client::group_admin::{MemberInfo, PartitionProgress};

    #[test]
    fn describe_looks_like_kafka_consumer_groups() {
        let g = GroupDescription {
            group: "g".into(),
            coordinator: "127.0.0.1:9092".into(),
            state: "Stable".into(),
            protocol_type: "consumer".into(),
            protocol: "range".into(),
            members: vec![MemberInfo {
                member_id: "m-1".into(),
                client_id: "zc".into(),
                host: "/127.0.0.1".into(),
                assignment: vec![("t".into(), vec![0])],
            }],
            partitions: vec![
                PartitionProgress {
                    topic: "t".into(),
                    partition: 0,
                    committed: Some(5),
                    log_end: Some(8),
                    lag: Some(3),
                    member_id: Some("m-1".into()),
                },
                PartitionProgress {
                    topic: "t".into(),
                    partition: 1,
                    committed: None,
                    log_end: Some(2),
                    lag: None,
                    member_id: None,
                },
            ],
        };
        assert_eq!(
            describe(&g),
            "Group g at 127.0.0.1:9092: state Stable, protocol consumer/range, 1 member(s)\n\n\
             GROUP  TOPIC  PARTITION  CURRENT-OFFSET  LOG-END-OFFSET  LAG  CONSUMER-ID  HOST        CLIENT-ID\n\
             g      t      0          5               8               3    m-1          /127.0.0.1  zc\n\
             g      t      1          -               2               -    -            -           -\n\
             \n\
             CONSUMER-ID  HOST        CLIENT-ID  #PARTITIONS  ASSIGNMENT\n\
             m-1          /127.0.0.1  zc         1            t(0)\n"
        );
    }
}
