"""The Kafka baseline: a raw aiokafka consume-and-produce passthrough, run as its own process
(like the worker), so both use one core of their own and the bench measures them the same way.

It consumes ``--src`` (all ``--partitions``, assigned, in consumer group ``--group``), produces each
record's key and value to ``--dst`` with the worker's producer settings (``acks=all``,
``linger_ms=1``), and every second (the worker's commit interval) waits for the produced
records to be acknowledged and then commits the consumed offsets, i.e. the same
at-least-once contract the Faust worker keeps. It prints ``ready`` once it is assigned and
exits after ``--count`` records have been passed on and committed.

``python -m agents.bench.passthrough --bootstrap HOST:PORT --src T1 --dst T2 --group G --count N``
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import time
from collections.abc import Sequence

from aiokafka import TopicPartition

from agents.kafka_io import Target, aio_consumer, aio_producer
from agents.security import connection
from agents.settings import Settings

COMMIT_INTERVAL_S = 1.0


async def passthrough(
    target: Target, src: str, partitions: int, dst: str, group: str, count: int
) -> int:
    consumer = aio_consumer(
        target, group_id=group, enable_auto_commit=False, auto_offset_reset="earliest"
    )
    producer = aio_producer(target, acks="all", linger_ms=1)
    await consumer.start()
    await producer.start()
    try:
        consumer.assign([TopicPartition(src, p) for p in range(partitions)])
        print("ready", flush=True)
        n = 0
        next_commit = time.monotonic() + COMMIT_INTERVAL_S
        send = producer.send
        while n < count:
            batch = await consumer.getmany(timeout_ms=200)
            for records in batch.values():
                for rec in records:
                    await send(dst, value=rec.value, key=rec.key, headers=list(rec.headers))
                n += len(records)
            if time.monotonic() >= next_commit:
                await producer.flush()
                await consumer.commit()
                next_commit = time.monotonic() + COMMIT_INTERVAL_S
        await producer.flush()
        await consumer.commit()
        return n
    finally:
        await producer.stop()
        await consumer.stop()


def main(argv: Sequence[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m agents.bench.passthrough")
    ap.add_argument("--bootstrap", required=True)
    ap.add_argument("--src", required=True)
    ap.add_argument("--partitions", type=int, default=4, help="partitions of --src")
    ap.add_argument("--dst", required=True)
    ap.add_argument("--group", required=True)
    ap.add_argument("--count", type=int, required=True)
    a = ap.parse_args(argv)
    # where from --bootstrap; TLS and SASL from the CAREPATH_* settings the bench passes
    target = connection(Settings(broker=f"kafka://{a.bootstrap}"))
    n = asyncio.run(passthrough(target, a.src, a.partitions, a.dst, a.group, a.count))
    print(f"passed {n}", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
