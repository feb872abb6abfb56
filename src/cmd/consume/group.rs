//! `zc consume --group`: read the partitions the group assigns to this member, from the
//! group's committed offsets, through as many rebalances as the group goes through.
//!
//! One *generation* at a time: join, read each assigned partition (round robin, one Fetch
//! each), and every 3 s commit how far it got and heartbeat. When the heartbeat says the
//! group is rebalancing (a member joined or left), the member flushes what it printed,
//! commits, and joins again ([`GroupMember`] explains why that loses and repeats nothing);
//! its new partitions start at the offsets the group committed, whoever committed them.
//! Without `--follow` the run ends once every partition of the current generation reaches
//! its end as it was when the generation began; with it, at `--timeout` or never. Either
//! way the member commits and leaves, so the others take over at once.

use std::io::{self, BufWriter, StdoutLock, Write};
use std::ops::ControlFlow;
use std::time::{Duration, Instant};

use anyhow::{Result, bail};

use super::Tally;
use crate::cli::client::ConsumeArgs;
use crate::client::{
    ClientConfig, Connection, Consumer, GroupMember, Membership, OffsetSpec, StartOffset,
    connect_to_leader,
};

/// One assigned partition being read.
struct Assigned {
    partition: i32,
    consumer: Consumer,
    /// Where this generation stops reading it (without `--follow`).
    end: Option<i64>,
    /// The offset last committed for it (-1: none).
    committed: i64,
}

impl Assigned {
    fn done(&self) -> bool {
        self.end.is_some_and(|end| self.consumer.position() >= end)
    }
}

/// How a generation ended.
enum Ended {
    /// Every partition read to its end (or `--timeout` passed with `--follow`).
    Done,
    /// The group rebalanced: join again.
    Rejoin,
    /// Whoever reads our stdout closed it (`| head`): a normal end.
    StdoutClosed,
}

type Out<'a> = BufWriter<StdoutLock<'a>>;

pub(super) fn run(args: &ConsumeArgs, group: &str, quiet: bool) -> Result<()> {
    let config = ClientConfig::default();
    let partitions = Connection::open(&args.bootstrap, &config)?
        .list_topics()?
        .into_iter()
        .find(|(name, _)| *name == args.topic)
        .map(|(_, n)| n as i32);
    let Some(partitions) = partitions else {
        bail!(
            "topic {} does not exist at {}; produce to it first, or check the name",
            args.topic,
            args.bootstrap
        );
    };
    let mut member = GroupMember::join(&args.bootstrap, &config, group, &args.topic, partitions)?;
    let deadline = args.timeout.map(|t| Instant::now() + t);
    let mut out = BufWriter::with_capacity(64 << 10, io::stdout().lock());
    let mut tally = Tally::default();
    // Timed like `zc consume` without a group: from the first Fetch, joining apart.
    let mut started = None;
    let mut assigned = loop {
        let mut assigned = assign(&mut member, args, &config, quiet)?;
        started.get_or_insert_with(Instant::now);
        match read(
            &mut member,
            &mut assigned,
            args,
            &mut out,
            &mut tally,
            deadline,
        )? {
            Ended::Done => break assigned,
            Ended::StdoutClosed => return Ok(()),
            Ended::Rejoin => {
                drop(assigned);
                member.rejoin()?;
            }
        }
    };
    match out.flush() {
        Err(e) if e.kind() == io::ErrorKind::BrokenPipe => return Ok(()),
        other => other?,
    }
    if commit(&mut member, &mut assigned)? != Membership::Current && !quiet {
        eprintln!(
            "zc consume: group {group} rebalanced as the run ended; the offsets read since \
             the last commit were not committed"
        );
    }
    let elapsed = started.map_or(Duration::ZERO, |s| s.elapsed());
    member.leave()?;
    let line = tally.summary(elapsed, args.bench);
    if args.bench {
        crate::cmd::print(&format!("{line} (group {group})\n"))?;
    } else if !quiet {
        eprintln!("{line}; committed and left group {group}");
    }
    Ok(())
}

/// Opens a consumer for each partition of the member's current assignment, at the
/// group's committed offset (`--from` where there is none).
fn assign(
    member: &mut GroupMember,
    args: &ConsumeArgs,
    config: &ClientConfig,
    quiet: bool,
) -> Result<Vec<Assigned>> {
    let committed = member.committed(&member.partitions.clone())?;
    if !quiet {
        let starts: Vec<String> = committed
            .iter()
            .map(|(p, o)| match o {
                -1 => format!("{}-{p} from --from (nothing committed)", args.topic),
                o => format!("{}-{p} from committed offset {o}", args.topic),
            })
            .collect();
        eprintln!(
            "zc consume: joined group {} as {} (generation {}) in {:.2} s; reading {}",
            args.group.as_deref().unwrap_or_default(),
            member.member_id(),
            member.generation(),
            member.join_time.as_secs_f64(),
            if starts.is_empty() {
                "nothing (no partition assigned)".to_owned()
            } else {
                starts.join(", ")
            }
        );
    }
    let mut assigned = Vec::new();
    for (partition, offset) in committed {
        let conn = connect_to_leader(&args.bootstrap, &args.topic, partition, false, config)?;
        let from = if offset >= 0 {
            StartOffset::At(offset)
        } else {
            args.from
        };
        let mut consumer = Consumer::new(conn, &args.topic, partition, from, args.fetch_max_bytes)?;
        consumer.set_fetch_min_bytes(args.fetch_min_bytes);
        let end = if args.follow {
            None
        } else {
            Some(
                consumer
                    .connection()?
                    .list_offset(&args.topic, partition, OffsetSpec::Latest)?,
            )
        };
        consumer.set_ahead_limit(end);
        assigned.push(Assigned {
            partition,
            consumer,
            end,
            committed: offset,
        });
    }
    Ok(assigned)
}

/// Reads the assigned partitions in turn until they are done, the deadline passes or the
/// group rebalances; commits and heartbeats every 3 s meanwhile.
fn read(
    member: &mut GroupMember,
    assigned: &mut [Assigned],
    args: &ConsumeArgs,
    out: &mut Out<'_>,
    tally: &mut Tally,
    deadline: Option<Instant>,
) -> Result<Ended> {
    // Each partition gets its share of the long poll, so an idle one does not hold up
    // the others (one connection each: a Fetch waits for its partition alone).
    let max_wait = Duration::from_millis(args.max_wait_ms) / assigned.len().max(1) as u32;
    let mut next = 0;
    loop {
        if member.heartbeat_due() {
            if flush(out)?.is_some() {
                return Ok(Ended::StdoutClosed);
            }
            // Commit first: while the group waits for us to rejoin, our generation is
            // still the current one and the commit counts.
            if commit(member, assigned)? != Membership::Current {
                return Ok(Ended::Rejoin);
            }
            match member.heartbeat()? {
                Membership::Current => {}
                Membership::Rebalancing | Membership::Lost => return Ok(Ended::Rejoin),
            }
        }
        if assigned.iter().all(Assigned::done) && !args.follow {
            return Ok(Ended::Done);
        }
        let left = deadline.map(|d| d.saturating_duration_since(Instant::now()));
        if left.is_some_and(|l| l.is_zero()) {
            if args.follow {
                return Ok(Ended::Done);
            }
            let behind: Vec<String> = assigned
                .iter()
                .filter(|a| !a.done())
                .map(|a| {
                    format!(
                        "{}-{} at {} of {}",
                        args.topic,
                        a.partition,
                        a.consumer.position(),
                        a.end.unwrap_or_default()
                    )
                })
                .collect();
            bail!(
                "gave up after {:.1} s with {} read; not at the end: {}",
                args.timeout.unwrap_or_default().as_secs_f64(),
                crate::text::count(tally.records as usize, "record", "records"),
                behind.join(", ")
            );
        }
        let wait = left.map_or(max_wait, |l| l.min(max_wait));
        let Some(a) = (0..assigned.len())
            .map(|i| (next + i) % assigned.len())
            .find(|&i| !assigned[i].done())
            .map(|i| {
                next = i + 1;
                &mut assigned[i]
            })
        else {
            // No partition assigned (more members than partitions): keep the membership
            // until the group changes or the run ends.
            std::thread::sleep(wait);
            continue;
        };
        let mut write_error = None;
        let polled = a.consumer.poll(wait, |record| {
            if !args.bench {
                let value = record.value.unwrap_or_default();
                if let Err(e) = out.write_all(value).and_then(|()| out.write_all(b"\n")) {
                    write_error = Some(e);
                    return ControlFlow::Break(());
                }
            }
            tally.add(record.offset, record.value.map_or(0, <[u8]>::len));
            ControlFlow::Continue(())
        })?;
        tally.batch_bytes += polled.batch_bytes;
        // With --follow, show what arrived before waiting in the next Fetch.
        if args.follow && polled.records > 0 && write_error.is_none() && !args.bench {
            write_error = out.flush().err();
        }
        match write_error {
            None => {}
            Some(e) if e.kind() == io::ErrorKind::BrokenPipe => return Ok(Ended::StdoutClosed),
            Some(e) => return Err(e.into()),
        }
    }
}

/// Flushes stdout before a commit: a committed offset promises its records were handed
/// on. `Some(())`: the reader has gone (a normal end).
fn flush(out: &mut Out<'_>) -> Result<Option<()>> {
    match out.flush() {
        Ok(()) => Ok(None),
        Err(e) if e.kind() == io::ErrorKind::BrokenPipe => Ok(Some(())),
        Err(e) => Err(e.into()),
    }
}

/// Commits the position of every partition that moved since its last commit.
fn commit(member: &mut GroupMember, assigned: &mut [Assigned]) -> Result<Membership> {
    let moved: Vec<(i32, i64)> = assigned
        .iter()
        .filter(|a| a.consumer.position() != a.committed)
        .map(|a| (a.partition, a.consumer.position()))
        .collect();
    let outcome = member.commit(&moved)?;
    if outcome == Membership::Current {
        for a in assigned.iter_mut() {
            a.committed = a.consumer.position();
        }
    }
    Ok(outcome)
}
