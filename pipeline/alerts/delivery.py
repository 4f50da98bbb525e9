"""Delivery with an outbox: what a channel did not take is kept and sent first next time.

The outbox lives in the caller's cursor (the alerts sensor keeps it in Dagster), so a message is
neither lost when a chat tool or mail server is down nor sent twice to a channel that took it.
It is bounded: past ``MAX_PENDING`` messages a channel's oldest are dropped, with a warning.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

from pipeline.alerts.events import Alert
from pipeline.alerts.senders import DeliveryError, Sender

logger = logging.getLogger(__name__)

MAX_PENDING = 50

#: An alert as the outbox stores it (JSON): subject and body.
Stored = dict[str, str]


@dataclass
class DeliveryReport:
    sent: dict[str, int] = field(default_factory=dict)
    pending: dict[str, list[Stored]] = field(default_factory=dict)
    errors: dict[str, str] = field(default_factory=dict)
    dropped: int = 0


def deliver(
    alerts: Sequence[Alert], senders: Sequence[Sender], outbox: Mapping[str, Sequence[Stored]]
) -> DeliveryReport:
    """Send each channel its pending messages, then ``alerts``, in order; stop a channel at its first failure."""
    report = DeliveryReport()
    fresh = [{"subject": a.subject, "body": a.body} for a in alerts]
    for sender in senders:
        queue = [*outbox.get(sender.name, ()), *fresh]
        sent = 0
        for stored in queue:
            try:
                sender.send(Alert(stored["subject"], stored["body"]))
            except DeliveryError as exc:
                report.errors[sender.name] = str(exc)
                logger.warning(
                    "alerts: %s is failing (%s); %d message(s) kept for the next tick",
                    sender.name,
                    exc,
                    len(queue) - sent,
                )
                break
            sent += 1
        left = queue[sent:]
        if len(left) > MAX_PENDING:
            report.dropped += len(left) - MAX_PENDING
            logger.warning(
                "alerts: %d undelivered %s message(s) dropped (outbox full)",
                len(left) - MAX_PENDING,
                sender.name,
            )
            left = left[-MAX_PENDING:]
        report.sent[sender.name] = sent
        if left:
            report.pending[sender.name] = left
    return report
