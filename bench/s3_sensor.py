"""One uploads-sensor tick over a large bucket: S3 events via SQS against a full listing, side by side.

The issue's target: with 100,000 existing sessions and 100 new ones, a tick finishes in under 2 s
against a local S3 server. Existing sessions are put straight into moto's store (PUTting 200,000
objects over HTTP would take minutes and emit no events anyway, as they predate the notification);
the new ones are real boto3 PUTs, so moto's S3 delivers their ObjectCreated events to SQS itself.
Every method must find exactly the new sessions, or the run fails.

moto's SQS ReceiveMessage recomputes every queue attribute for each message it hands out, which
makes it O(queue depth) per message where SQS is O(1); the bench replaces that one check (see
``_speed_up_moto_sqs``) and ``--moto-as-is`` keeps moto as shipped, to show what that costs.
"""

from __future__ import annotations

import argparse
import logging
import math
import sys
import tempfile
import time
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from pipeline.intake.discovery import discover
from pipeline.intake.registry import UploadRegistry
from pipeline.intake.tick import DiscoveryCursor
from pipeline.status.store import StatusStore
from pipeline.storage.change_feed import ListingFeed, SqsChangeFeed
from pipeline.storage.s3 import S3Storage
from tests.support.s3_server import (
    create_bucket,
    moto_s3_server,
    seed_objects,
    subscribe_queue,
)

logger = logging.getLogger(__name__)

PREFIX = "uploads"
TARGET_SECONDS = 2.0


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--sessions", type=int, default=100_000, help="existing sessions (2 objects each)")
    parser.add_argument("--new", type=int, default=100, help="sessions uploaded since the last tick")
    parser.add_argument(
        "--moto-as-is",
        action="store_true",
        help="keep moto's O(queue depth) ReceiveMessage (see _speed_up_moto_sqs)",
    )
    parser.add_argument(
        "--skip-dagster-aws",
        action="store_true",
        help="skip dagster_aws.s3.sensor.get_objects (another full listing)",
    )


def _speed_up_moto_sqs() -> None:
    """Make moto's ReceiveMessage O(1) per message, as SQS is, instead of O(queue depth).

    moto checks each message it hands out against the queue's retention period by recomputing
    every queue attribute, including counts over all messages: receiving 200 events costs ~3 s of
    simulator time that real SQS (10-30 ms a ReceiveMessage) does not have. The semantics stay.
    """
    from moto.core.utils import unix_time
    from moto.sqs.models import SQSBackend

    def is_valid(self: Any, queue_name: str, message: Any) -> bool:
        retention = int(self.get_queue(queue_name).message_retention_period)
        return retention + message.sent_timestamp / 1000 > unix_time()

    SQSBackend.is_message_valid_based_on_retention_period = is_valid  # type: ignore[method-assign]


def _key(i: int, name: str) -> str:
    return f"{PREFIX}/learner{i // 100:05d}/s{i:07d}/{name}"


def _timed(fn: Callable[[], Any]) -> tuple[float, Any]:
    start = time.perf_counter()
    result = fn()
    return time.perf_counter() - start, result


def run(args: argparse.Namespace) -> bool:
    """Measure each method once on the same bucket; True when all agree and the feed meets the target."""
    existing, new = args.sessions, args.new
    if not args.moto_as_is:
        _speed_up_moto_sqs()
    with moto_s3_server() as endpoint:
        bucket = create_bucket(endpoint)
        storage = S3Storage(bucket.name, PREFIX, bucket.client)
        names = ("transcript.txt", "session.json")
        seed_seconds, _ = _timed(
            lambda: seed_objects(bucket, {_key(i, n): b"x" for i in range(existing) for n in names})
        )
        logger.info("seeded %d sessions (%d objects) in %.1f s", existing, 2 * existing, seed_seconds)

        # A sensor that has seen the existing sessions: its registry knows them (two listing ticks,
        # the second confirming the first). Every measured tick starts from that cursor, so each
        # method finds the same new sessions (a tick that is not committed leaves nothing behind).
        status = StatusStore(f"sqlite:///{tempfile.mkdtemp()}/status.db")
        registry = UploadRegistry(status.engine)
        known_seconds, seen = _timed(
            lambda: discover(
                storage,
                registry,
                status,
                DiscoveryCursor(),
                now=time.time(),
                quiet_seconds=3600,
                max_sessions=10 * existing,
            )
        )
        cursor = discover(storage, registry, status, seen.cursor, now=time.time(), quiet_seconds=3600).cursor
        logger.info("registered %d sessions in %.1f s", len(seen.ready), known_seconds)
        seeded_until = math.floor(time.time())
        since = seeded_until + 0.5
        sqs, queue_url = subscribe_queue(bucket, PREFIX)
        time.sleep(max(0.0, seeded_until + 1.01 - time.time()))
        for i in range(existing, existing + new):
            for name, body in (("transcript.txt", b"hello"), ("session.json", b"{}")):
                bucket.client.put_object(Bucket=bucket.name, Key=_key(i, name), Body=body)
        expected = sorted(f"s{i:07d}" for i in range(existing, existing + new))

        def tick(feed: Any, from_cursor: DiscoveryCursor = cursor) -> Any:
            return discover(
                storage,
                registry,
                status,
                from_cursor,
                now=time.time(),
                quiet_seconds=3600,
                max_sessions=10_000,
                feed=feed,
            )

        feed = SqsChangeFeed(sqs, queue_url, PREFIX, bucket.name)
        rows: list[tuple[str, float, int]] = []
        sqs_seconds, found = _timed(lambda: tick(feed))
        rows.append(("tick, SQS event feed", sqs_seconds, len(found.ready)))
        listing_seconds, listed = _timed(lambda: tick(ListingFeed(storage)))  # from the same cursor
        ok = sorted(u.session_id for u in listed.ready) == expected
        ack_seconds, acked = _timed(lambda: tick(feed, found.cursor))
        rows.append(("next tick, SQS (acks previous, finds none)", ack_seconds, len(acked.ready)))
        rows.append(("tick, full listing (ListingFeed)", listing_seconds, len(listed.ready)))
        ok = ok and sorted(u.session_id for u in found.ready) == expected and acked.ready == []
        if not args.skip_dagster_aws:
            from dagster_aws.s3.sensor import get_objects

            after = datetime.fromtimestamp(since, UTC)
            dagster_seconds, objs = _timed(
                lambda: get_objects(
                    bucket.name, f"{PREFIX}/", since_last_modified=after, client=bucket.client
                )
            )
            rows.append(("dagster_aws get_objects (listing only)", dagster_seconds, len(objs) // 2))
            ok = ok and len(objs) == 2 * new

    _report(existing, new, rows, sqs_seconds, listing_seconds, ok)
    sys.stdout.write(
        f"moto SQS ReceiveMessage: {'as shipped (O(queue depth))' if args.moto_as_is else 'O(1) fix'}\n"
    )
    return ok and sqs_seconds < TARGET_SECONDS


def _report(
    existing: int, new: int, rows: list[tuple[str, float, int]], feed: float, listing: float, ok: bool
) -> None:
    out = sys.stdout
    out.write(
        f"\nuploads sensor tick: {existing:,} existing sessions ({2 * existing:,} objects), {new} new\n"
    )
    out.write(f"{'method':<44} {'seconds':>9} {'found':>7}\n")
    for name, seconds, count in rows:
        out.write(f"{name:<44} {seconds:>9.3f} {count:>7}\n")
    out.write(f"ratio full listing / SQS feed: {listing / feed:.0f}x\n")
    met = "met" if feed < TARGET_SECONDS else "NOT met"
    out.write(
        f"target: SQS feed tick < {TARGET_SECONDS:.0f} s: {met}; all methods found exactly the new sessions: {ok}\n"
    )


if __name__ == "__main__":
    from bench.__main__ import main

    sys.exit(main())
