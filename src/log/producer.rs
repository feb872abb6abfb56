//! Idempotent producers: what a partition remembers about each producer so that a retried
//! batch is stored once, as Kafka's `ProducerStateManager` does.
//!
//! An idempotent producer stamps each batch with its producer id, an epoch, and the
//! sequence number of its first record (counting per partition from 0). When an
//! acknowledgement is lost, it sends the same batch again; when it restarts after a crash,
//! it resends what was in flight. The partition keeps, per producer id, the epoch and the
//! last [`BATCHES_KEPT`] batches' sequence ranges with the offsets they got, and checks each
//! incoming batch the way Kafka's `ProducerAppendInfo` does:
//!
//! - same epoch and a sequence range it already holds: a **duplicate**, answered with the
//!   original offsets and not appended;
//! - an epoch below the one it holds: `INVALID_PRODUCER_EPOCH` (a fenced, older instance);
//! - a new epoch must start at sequence 0; the same epoch must continue at last + 1
//!   (wrapping after `i32::MAX`): otherwise `OUT_OF_ORDER_SEQUENCE_NUMBER`, and the
//!   producer retries in order or fails, instead of leaving a gap or a reordering;
//! - an unknown producer id is accepted at any sequence (its history may predate the log).
//!
//! Nothing of this is written separately: the batches in the log carry every field, so
//! opening a partition rebuilds the state by walking the batch headers of its segments
//! (Kafka saves `.snapshot` files to avoid re-reading; docs/reliability.md has the
//! measured cost of the walk).

use std::collections::{HashMap, VecDeque};

use super::batch::BatchHeader;

/// Batches remembered per producer: Kafka's `ProducerStateEntry.NUM_BATCHES_TO_RETAIN`,
/// which is also why a producer may have at most 5 requests in flight.
pub const BATCHES_KEPT: usize = 5;

/// One appended batch of a producer: its sequence range and where it went.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BatchSeen {
    pub first_seq: i32,
    pub last_seq: i32,
    pub first_offset: i64,
    pub last_offset: i64,
}

#[derive(Debug, Clone, Default)]
struct Entry {
    epoch: i16,
    batches: VecDeque<BatchSeen>,
}

/// What a batch from a producer may do.
#[derive(Debug, PartialEq, Eq)]
pub enum Verdict {
    /// Not idempotent, or next in sequence: append it.
    Append,
    /// Already appended: answer with these offsets, append nothing.
    Duplicate(BatchSeen),
    /// Refused with INVALID_PRODUCER_EPOCH.
    StaleEpoch(String),
    /// Refused with OUT_OF_ORDER_SEQUENCE_NUMBER.
    OutOfOrder(String),
}

/// Per partition: every producer id seen in the log, its epoch and its last batches.
#[derive(Debug, Clone, Default)]
pub struct ProducerState {
    producers: HashMap<i64, Entry>,
}

impl ProducerState {
    /// Producers known.
    pub fn len(&self) -> usize {
        self.producers.len()
    }

    pub fn is_empty(&self) -> bool {
        self.producers.is_empty()
    }

    /// The highest producer id seen: ids handed out later must be above it, or a new
    /// producer would inherit an old one's sequence.
    pub fn max_id(&self) -> Option<i64> {
        self.producers.keys().copied().max()
    }

    /// Checks a batch about to be appended. `pending` are the batches of the same append
    /// call checked before it (they are not recorded yet, but a later batch of the call
    /// must continue their sequence).
    pub fn check(&self, header: &BatchHeader, pending: &ProducerState) -> Verdict {
        if header.producer_id < 0 {
            return Verdict::Append;
        }
        let (id, epoch) = (header.producer_id, header.producer_epoch);
        let (first, last) = (header.base_sequence, last_sequence(header));
        let current = pending
            .producers
            .get(&id)
            .or_else(|| self.producers.get(&id));
        let Some(current) = current else {
            return Verdict::Append;
        };
        if epoch == current.epoch
            && let Some(seen) = current
                .batches
                .iter()
                .find(|b| b.first_seq == first && b.last_seq == last)
        {
            return Verdict::Duplicate(*seen);
        }
        if epoch < current.epoch {
            return Verdict::StaleEpoch(format!(
                "producer {id} sent epoch {epoch}, older than its epoch {} here: a newer \
                 instance of it has taken over",
                current.epoch
            ));
        }
        if epoch != current.epoch {
            return if first == 0 {
                Verdict::Append
            } else {
                Verdict::OutOfOrder(format!(
                    "producer {id} starts epoch {epoch} at sequence {first}, not 0"
                ))
            };
        }
        match current.batches.back() {
            Some(b) if !follows(b.last_seq, first) => Verdict::OutOfOrder(format!(
                "producer {id} sent sequence {first}, expected {} (after {})",
                b.last_seq.wrapping_add(1).max(0),
                b.last_seq
            )),
            _ => Verdict::Append,
        }
    }

    /// Records an appended batch (whose offsets are assigned).
    pub fn record(&mut self, header: &BatchHeader) {
        if header.producer_id < 0 {
            return;
        }
        let entry = self.producers.entry(header.producer_id).or_default();
        if header.producer_epoch != entry.epoch {
            entry.epoch = header.producer_epoch;
            entry.batches.clear();
        }
        if entry.batches.len() == BATCHES_KEPT {
            entry.batches.pop_front();
        }
        entry.batches.push_back(BatchSeen {
            first_seq: header.base_sequence,
            last_seq: last_sequence(header),
            first_offset: header.base_offset,
            last_offset: header.last_offset(),
        });
    }

    /// Takes in the producers recorded in `pending` (after their batches were appended).
    pub fn merge(&mut self, pending: ProducerState) {
        self.producers.extend(pending.producers);
    }

    /// The entry of `id` as this call would see it, copied into `pending` so that later
    /// batches of the call check against it.
    pub fn stage(&self, pending: &mut ProducerState, header: &BatchHeader) {
        if header.producer_id < 0 {
            return;
        }
        if !pending.producers.contains_key(&header.producer_id)
            && let Some(entry) = self.producers.get(&header.producer_id)
        {
            pending.producers.insert(header.producer_id, entry.clone());
        }
        pending.record(header);
    }
}

/// The sequence number of a batch's last record (sequences wrap after `i32::MAX`).
fn last_sequence(header: &BatchHeader) -> i32 {
    let last = i64::from(header.base_sequence) + i64::from(header.last_offset_delta);
    (last % (i64::from(i32::MAX) + 1)) as i32
}

/// Whether `next` is the sequence right after `last` (Kafka's `inSequence`).
fn follows(last: i32, next: i32) -> bool {
    i64::from(next) == i64::from(last) + 1 || (next == 0 && last == i32::MAX)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn batch(id: i64, epoch: i16, first_seq: i32, records: i32, base_offset: i64) -> BatchHeader {
        BatchHeader {
            base_offset,
            batch_length: 0,
            partition_leader_epoch: 0,
            magic: 2,
            crc: 0,
            attributes: 0,
            last_offset_delta: records - 1,
            base_timestamp: 0,
            max_timestamp: 0,
            producer_id: id,
            producer_epoch: epoch,
            base_sequence: first_seq,
            records_count: records,
        }
    }

    fn appended(state: &mut ProducerState, h: BatchHeader) {
        assert_eq!(state.check(&h, &ProducerState::default()), Verdict::Append);
        state.record(&h);
    }

    #[test]
    fn a_resent_batch_is_a_duplicate_with_its_original_offsets() {
        let mut state = ProducerState::default();
        appended(&mut state, batch(7, 0, 0, 3, 100));
        appended(&mut state, batch(7, 0, 3, 2, 103));
        let again = state.check(&batch(7, 0, 0, 3, 0), &ProducerState::default());
        assert_eq!(
            again,
            Verdict::Duplicate(BatchSeen {
                first_seq: 0,
                last_seq: 2,
                first_offset: 100,
                last_offset: 102
            })
        );
    }

    #[test]
    fn only_the_last_five_batches_are_remembered() {
        let mut state = ProducerState::default();
        for i in 0..6 {
            appended(&mut state, batch(7, 0, i, 1, i64::from(i)));
        }
        let none = ProducerState::default();
        assert!(matches!(
            state.check(&batch(7, 0, 1, 1, 0), &none),
            Verdict::Duplicate(_)
        ));
        // The first batch has been forgotten: it is now just out of order.
        assert!(matches!(
            state.check(&batch(7, 0, 0, 1, 0), &none),
            Verdict::OutOfOrder(_)
        ));
    }

    #[test]
    fn gaps_old_epochs_and_new_epochs_not_at_zero_are_refused() {
        let mut state = ProducerState::default();
        appended(&mut state, batch(7, 1, 0, 2, 0));
        let none = ProducerState::default();
        assert!(matches!(
            state.check(&batch(7, 1, 5, 1, 0), &none),
            Verdict::OutOfOrder(_)
        ));
        assert!(matches!(
            state.check(&batch(7, 0, 2, 1, 0), &none),
            Verdict::StaleEpoch(_)
        ));
        assert!(matches!(
            state.check(&batch(7, 2, 3, 1, 0), &none),
            Verdict::OutOfOrder(_)
        ));
        assert_eq!(state.check(&batch(7, 2, 0, 1, 0), &none), Verdict::Append);
        assert_eq!(state.check(&batch(7, 1, 2, 1, 0), &none), Verdict::Append);
        // Unknown producers and non-idempotent batches go through.
        assert_eq!(state.check(&batch(8, 0, 42, 1, 0), &none), Verdict::Append);
        assert_eq!(
            state.check(&batch(-1, -1, -1, 1, 0), &none),
            Verdict::Append
        );
    }

    #[test]
    fn batches_of_one_call_continue_each_others_sequence_and_sequences_wrap() {
        let mut state = ProducerState::default();
        appended(&mut state, batch(7, 0, i32::MAX - 1, 2, 0));
        let mut pending = ProducerState::default();
        let next = batch(7, 0, 0, 1, 2);
        assert_eq!(state.check(&next, &pending), Verdict::Append);
        state.stage(&mut pending, &next);
        assert!(matches!(
            state.check(&batch(7, 0, 0, 1, 0), &pending),
            Verdict::Duplicate(_)
        ));
        assert_eq!(
            state.check(&batch(7, 0, 1, 1, 3), &pending),
            Verdict::Append
        );
    }
}
