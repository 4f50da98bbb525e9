"""Where the uploads sensor learns what changed: a full listing, or S3 event notifications via SQS.

S3 cannot filter a listing by time, so a listing costs in proportion to everything under the
prefix (100,000 sessions: tens of seconds a tick). S3 event notifications delivered to an SQS
queue cost in proportion to what is new. Both sit behind ``ChangeFeed`` so discovery is the same.

The SQS feed is at-least-once without loss: a tick never deletes the messages it receives. Their
receipt handles go into the returned state, which discovery keeps under the tick's number; the next
tick deletes those of the last tick the daemon committed, first. A tick that is not committed leaves its messages
to reappear after the visibility timeout, and a replay only shows discovery objects whose content
versions its registry already has, which request nothing.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime
from typing import Any, Protocol
from urllib.parse import unquote_plus

from botocore.exceptions import BotoCoreError, ClientError, NoCredentialsError, PartialCredentialsError

from pipeline.domain.errors import PermanentError, TransientError
from pipeline.storage.base import ObjectInfo, Storage

logger = logging.getLogger(__name__)

_SQS_BATCH = 10  # the most ReceiveMessage returns and DeleteMessageBatch accepts
_TRANSIENT_STATUS = 500


class ChangeFeed(Protocol):
    """The objects changed since ``state``, and the state to persist for the next call.

    ``state`` is what this feed returned last time (``{}`` at first). Removed objects need not be
    reported: discovery lists each touched session folder whole anyway. No feed filters by time:
    discovery compares content versions with its registry, so old timestamps lose nothing.
    """

    def changes(self, state: dict[str, Any]) -> tuple[list[ObjectInfo], dict[str, Any]]: ...


class ListingFeed:
    """Lists everything (one listing of the prefix): simple, but O(objects) a tick."""

    def __init__(self, storage: Storage) -> None:
        self.storage = storage

    def changes(self, state: dict[str, Any]) -> tuple[list[ObjectInfo], dict[str, Any]]:
        return list(self.storage.list()), {}


class SqsChangeFeed:
    """S3 ObjectCreated/ObjectRemoved notifications from an SQS queue: O(new objects) a tick.

    ``bucket`` and ``storage_prefix`` are the uploads storage's; events for other buckets or keys
    outside the prefix are consumed and ignored, so one queue may serve a wider notification rule.
    """

    def __init__(
        self,
        sqs_client: Any,
        queue_url: str,
        storage_prefix: str,
        bucket: str,
        max_messages: int = 1000,
        *,
        visibility_timeout: int = 300,
    ) -> None:
        self.client = sqs_client
        self.queue_url = queue_url
        self.prefix = storage_prefix.strip("/")
        self.bucket = bucket
        self.max_messages = max_messages
        # Long enough that a slow tick never sees its own in-flight messages come back; short
        # enough that the messages of a tick that was not committed return within minutes.
        self.visibility_timeout = visibility_timeout

    def changes(self, state: dict[str, Any]) -> tuple[list[ObjectInfo], dict[str, Any]]:
        self._delete(list(state.get("receipts", ())))
        latest: dict[str, tuple[ObjectInfo, bool]] = {}  # key -> its newest event, and whether a creation
        receipts: list[str] = []
        while len(receipts) < self.max_messages:
            with self._translate("receive from"):
                response = self.client.receive_message(
                    QueueUrl=self.queue_url,
                    MaxNumberOfMessages=min(_SQS_BATCH, self.max_messages - len(receipts)),
                    WaitTimeSeconds=0,
                    VisibilityTimeout=self.visibility_timeout,
                )
            messages = response.get("Messages", [])
            if not messages:
                break
            for message in messages:
                receipts.append(message["ReceiptHandle"])
                for info, created in self._parse(message.get("Body", "")):
                    if info.key not in latest or latest[info.key][0].modified <= info.modified:
                        latest[info.key] = (info, created)
        changed = [info for info, created in latest.values() if created]  # created, then removed: gone
        if receipts:
            logger.debug("received %d message(s), %d created object(s)", len(receipts), len(changed))
        return changed, {"receipts": receipts}

    def _delete(self, receipts: list[str]) -> None:
        """Acknowledge the messages of the last committed tick; a stale handle only means a replay."""
        for start in range(0, len(receipts), _SQS_BATCH):
            entries = [
                {"Id": str(i), "ReceiptHandle": h} for i, h in enumerate(receipts[start : start + _SQS_BATCH])
            ]
            with self._translate("delete from"):
                failed = self.client.delete_message_batch(QueueUrl=self.queue_url, Entries=entries).get(
                    "Failed", []
                )
            for failure in failed:
                logger.warning(
                    "could not delete an SQS message (%s); it may be seen again", failure.get("Code")
                )

    def _parse(self, body: str) -> Iterator[tuple[ObjectInfo, bool]]:
        try:
            event = json.loads(body)
            if isinstance(event, dict) and event.get("Type") == "Notification" and "Message" in event:
                event = json.loads(event["Message"])  # delivered through SNS
        except (ValueError, TypeError):
            logger.warning("ignoring an SQS message that is not an S3 event: %.80r", body)
            return
        if not isinstance(event, dict) or event.get("Event") == "s3:TestEvent":
            return  # S3 sends a test event when the notification is configured
        for record in event.get("Records", ()):
            event = self._object_event(record)
            if event is not None:
                yield event

    def _object_event(self, record: Any) -> tuple[ObjectInfo, bool] | None:
        """The object of a creation or removal under the prefix; a removal alone makes nothing ready."""
        try:
            name = str(record.get("eventName", ""))
            if not name.startswith(("ObjectCreated", "ObjectRemoved")):
                return None
            s3 = record["s3"]
            if s3["bucket"]["name"] != self.bucket:
                return None
            key = unquote_plus(s3["object"]["key"])
            modified = datetime.fromisoformat(record["eventTime"].replace("Z", "+00:00")).timestamp()
            size = int(s3["object"].get("size", 0))
            etag = str(s3["object"].get("eTag") or "").strip('"') or None  # absent on removals
        except (KeyError, TypeError, ValueError, AttributeError):
            logger.warning("ignoring a malformed S3 event record: %.200r", record)
            return None
        root = f"{self.prefix}/" if self.prefix else ""
        if not key.startswith(root) or key.endswith("/"):
            return None
        relative = key[len(root) :]
        if any(part.startswith(".") for part in relative.split("/")):
            return None  # hidden files, skipped as the listings skip them
        return ObjectInfo(key=relative, size=size, modified=modified, etag=etag), name.startswith(
            "ObjectCreated"
        )

    @contextmanager
    def _translate(self, action: str) -> Iterator[None]:
        """Throttling and outages are worth retrying next tick; a missing queue or denial is not."""
        try:
            yield
        except ClientError as exc:
            code = str(exc.response.get("Error", {}).get("Code", ""))
            status = int(exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode") or 0)
            if status >= _TRANSIENT_STATUS or status == 429 or "Throttl" in code or "Unavailable" in code:
                raise TransientError(
                    f"SQS is unavailable ({code or status}) to {action} {self.queue_url}"
                ) from exc
            raise PermanentError(
                f"SQS refused to {action} {self.queue_url} ({code or status}): check UPLOADS_EVENTS_QUEUE_URL "
                "and that the credentials may sqs:ReceiveMessage and sqs:DeleteMessage on it"
            ) from exc
        except (NoCredentialsError, PartialCredentialsError) as exc:
            raise PermanentError(f"no usable AWS credentials to {action} {self.queue_url}") from exc
        except BotoCoreError as exc:
            raise TransientError(
                f"cannot reach SQS to {action} {self.queue_url} ({type(exc).__name__})"
            ) from exc
