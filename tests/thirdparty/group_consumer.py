#!/usr/bin/env python3
"""A group consumer from a real client library, driven by tests/groups.rs.

Usage: group_consumer.py CLIENT BOOTSTRAP GROUP TOPIC EXPECT MODE
  CLIENT  confluent (librdkafka), kafka-python or aiokafka
  EXPECT  drain mode: records to read before committing and leaving
  MODE    drain:  subscribe, read EXPECT records, linger 2 s (a record read twice or one
                  past the end would show), commit synchronously, close (LeaveGroup);
          member: subscribe and read until stdin closes, committing after every record,
                  then close (confluent only).
Prints, flushed, one line per event: `assigned P,P,...` (member mode), `record P OFFSET`,
`committed`, `closed`. Exits 3 if the client library is not installed.
"""
import sys
import threading
import time

client, bootstrap, group, topic, expect, mode = sys.argv[1:7]
expect = int(expect)
# Kafka's minimum session timeout (group.min.session.timeout.ms), so an expiry test is short.
SESSION_MS = 6000
HEARTBEAT_MS = 1000
LINGER_S = 2.0


def say(line):
    print(line, flush=True)


def confluent():
    try:
        from confluent_kafka import Consumer
    except ImportError as e:
        print(f"confluent-kafka is not installed: {e}", file=sys.stderr)
        sys.exit(3)
    c = Consumer({
        "bootstrap.servers": bootstrap, "group.id": group, "auto.offset.reset": "earliest",
        "enable.auto.commit": False, "session.timeout.ms": SESSION_MS,
        "heartbeat.interval.ms": HEARTBEAT_MS,
    })
    stop = threading.Event()

    def on_assign(consumer, parts):
        say("assigned " + ",".join(str(p.partition) for p in sorted(parts, key=lambda p: p.partition)))

    c.subscribe([topic], on_assign=on_assign)
    if mode == "member":
        threading.Thread(target=lambda: (sys.stdin.read(), stop.set()), daemon=True).start()
        while not stop.is_set():
            m = c.poll(0.2)
            if m is None or m.error():
                continue
            say(f"record {m.partition()} {m.offset()}")
            c.commit(message=m, asynchronous=False)
    else:
        got, linger_until = 0, None
        while linger_until is None or time.monotonic() < linger_until:
            m = c.poll(0.2)
            if m is not None and not m.error():
                say(f"record {m.partition()} {m.offset()}")
                got += 1
            if got >= expect and linger_until is None:
                linger_until = time.monotonic() + LINGER_S
        if got:  # librdkafka refuses a commit with nothing consumed (_NO_OFFSET)
            c.commit(asynchronous=False)
        say("committed")
    c.close()
    say("closed")


def kafka_python():
    try:
        from kafka import KafkaConsumer
    except ImportError as e:
        print(f"kafka-python is not installed: {e}", file=sys.stderr)
        sys.exit(3)
    c = KafkaConsumer(topic, bootstrap_servers=bootstrap, group_id=group,
                      auto_offset_reset="earliest", enable_auto_commit=False,
                      session_timeout_ms=SESSION_MS, heartbeat_interval_ms=HEARTBEAT_MS)
    got, linger_until = 0, None
    while linger_until is None or time.monotonic() < linger_until:
        for tp, records in c.poll(timeout_ms=200).items():
            for r in records:
                say(f"record {tp.partition} {r.offset}")
                got += 1
        if got >= expect and linger_until is None:
            linger_until = time.monotonic() + LINGER_S
    c.commit()
    say("committed")
    c.close()
    say("closed")


def aiokafka():
    try:
        import asyncio
        from aiokafka import AIOKafkaConsumer
    except ImportError as e:
        print(f"aiokafka is not installed: {e}", file=sys.stderr)
        sys.exit(3)

    async def run():
        c = AIOKafkaConsumer(topic, bootstrap_servers=bootstrap, group_id=group,
                             auto_offset_reset="earliest", enable_auto_commit=False,
                             session_timeout_ms=SESSION_MS, heartbeat_interval_ms=HEARTBEAT_MS)
        await c.start()
        got, linger_until = 0, None
        while linger_until is None or time.monotonic() < linger_until:
            batches = await c.getmany(timeout_ms=200)
            for tp, records in batches.items():
                for r in records:
                    say(f"record {tp.partition} {r.offset}")
                    got += 1
            if got >= expect and linger_until is None:
                linger_until = time.monotonic() + LINGER_S
        await c.commit()
        say("committed")
        await c.stop()
        say("closed")

    asyncio.run(run())


{"confluent": confluent, "kafka-python": kafka_python, "aiokafka": aiokafka}[client]()
