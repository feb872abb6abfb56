#!/usr/bin/env python3
"""Decode a zc log with kafka-python's own record-batch reader: an independent check
that what zc writes is Kafka's format and not merely zc's.

Usage: kafka_python_decode.py LOG_DIR
Walks every <topic>-<partition>/*.log under LOG_DIR in name order and, for each batch,
checks with kafka-python: magic 2, the CRC-32C, record count, and that offsets run on
without gaps inside the batch, across batches and across segments; and that the segment
name is the offset of its first record. Prints one summary line and exits 0, or prints
the first problem and exits 1. Exits 3 if kafka-python is not installed.
"""
import os
import sys

try:
    from kafka.record.memory_records import MemoryRecords
except ImportError as e:  # the Rust test decides whether that is a skip or a failure
    print(f"kafka-python is not installed: {e}", file=sys.stderr)
    sys.exit(3)


def fail(msg):
    print(f"FAIL: {msg}", file=sys.stderr)
    sys.exit(1)


def check_partition(path):
    next_offset = None
    batches = records = 0
    for name in sorted(n for n in os.listdir(path) if n.endswith(".log")):
        with open(os.path.join(path, name), "rb") as f:
            data = f.read()
        expected_base = int(name[:-4])
        mem = MemoryRecords(data)
        first = True
        while True:
            batch = mem.next_batch()
            if batch is None:
                break
            where = f"{name} batch at offset {batch.base_offset}"
            if batch.magic != 2:
                fail(f"{where}: magic {batch.magic}")
            if not batch.validate_crc():
                fail(f"{where}: CRC mismatch")
            if first and batch.base_offset != expected_base:
                fail(f"{where}: segment name says {expected_base}")
            first = False
            if next_offset is not None and batch.base_offset != next_offset:
                fail(f"{where}: expected offset {next_offset}")
            offsets = [r.offset for r in batch]
            if len(offsets) != batch.records_count:
                fail(f"{where}: {len(offsets)} records, header says {batch.records_count}")
            if offsets != list(range(batch.base_offset, batch.base_offset + len(offsets))):
                fail(f"{where}: record offsets not contiguous")
            next_offset = batch.base_offset + batch.last_offset_delta + 1
            batches += 1
            records += len(offsets)
    return batches, records


def main():
    root = sys.argv[1]
    parts = sorted(d for d in os.listdir(root) if os.path.isdir(os.path.join(root, d)))
    if not parts:
        fail(f"no partition directories in {root}")
    batches = records = 0
    for p in parts:
        b, r = check_partition(os.path.join(root, p))
        batches += b
        records += r
    import kafka
    print(f"kafka-python {kafka.__version__}: {len(parts)} partition(s), {batches} batches, "
          f"{records} records, every CRC valid, offsets contiguous")


if __name__ == "__main__":
    main()
