"""Where alerts go: a Slack-compatible webhook (``{"text": ...}``) and/or e-mail over SMTP.

Each sender tries a message a few times with a short timeout and backoff and raises
``DeliveryError`` when it gives up; ``delivery`` keeps what was not delivered for the next tick.
Error messages never include the webhook URL (it carries a token) or the SMTP password.
"""

from __future__ import annotations

import json
import logging
import smtplib
import ssl
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass
from email import policy
from email.message import EmailMessage
from typing import Protocol

from pipeline.alerts.events import Alert

logger = logging.getLogger(__name__)


class DeliveryError(Exception):
    """A channel did not take a message after its retries."""


class _Final(DeliveryError):
    """Retrying cannot help (the server refused the request itself)."""


class Sender(Protocol):
    name: str

    def send(self, alert: Alert) -> None: ...


@dataclass(frozen=True)
class Retry:
    attempts: int = 3
    timeout_seconds: float = 10.0
    backoff_seconds: float = 1.0  # doubled after each failed attempt

    def run(self, what: str, attempt: Callable[[], None]) -> None:
        """Call ``attempt()`` until it returns; a ``_Final`` error stops at once."""
        delay = self.backoff_seconds
        for n in range(1, self.attempts + 1):
            try:
                attempt()
                return
            except _Final as exc:
                raise DeliveryError(f"{what}: {exc}") from None
            except DeliveryError as exc:
                if n == self.attempts:
                    raise DeliveryError(f"{what}: {exc} (after {n} attempts)") from None
                logger.info("alert delivery to %s failed (%s), attempt %d of %d", what, exc, n, self.attempts)
                time.sleep(delay)
                delay *= 2


class WebhookSender:
    """POSTs ``{"text": alert.text}`` as JSON (Slack, Mattermost, Rocket.Chat, Teams workflows...)."""

    name = "webhook"

    def __init__(self, url: str, retry: Retry | None = None) -> None:
        self._url = url
        self._retry = retry or Retry()

    def _post(self, alert: Alert) -> None:
        body = json.dumps({"text": alert.text}).encode()
        request = urllib.request.Request(
            self._url, data=body, method="POST", headers={"Content-Type": "application/json"}
        )
        try:
            with urllib.request.urlopen(request, timeout=self._retry.timeout_seconds) as response:
                response.read()
        except urllib.error.HTTPError as exc:
            if exc.code in (408, 429) or exc.code >= 500:
                raise DeliveryError(f"HTTP {exc.code}") from None
            raise _Final(f"HTTP {exc.code}: check ALERT_WEBHOOK_URL") from None
        except (urllib.error.URLError, OSError) as exc:  # refused, unreachable, timed out
            raise DeliveryError(f"unreachable ({type(getattr(exc, 'reason', exc)).__name__})") from None

    def send(self, alert: Alert) -> None:
        self._retry.run("webhook", lambda: self._post(alert))


@dataclass(frozen=True)
class SmtpSettings:
    host: str
    port: int
    sender: str
    recipients: tuple[str, ...]
    user: str | None = None
    password: str | None = None
    starttls: bool = False


#: SMTP line endings; a subject up to 200 characters stays on its line (folded at 78, Python's email
#: package moves a bracketed first word to a continuation line, which readers show as a leading space).
_EMAIL_POLICY = policy.SMTP.clone(max_line_length=200)


class EmailSender:
    """One e-mail per alert: the alert's subject, its text as the plain-text body."""

    name = "email"

    def __init__(self, settings: SmtpSettings, retry: Retry | None = None) -> None:
        self._settings = settings
        self._retry = retry or Retry()

    def _send(self, alert: Alert) -> None:
        s = self._settings
        message = EmailMessage(policy=_EMAIL_POLICY)
        message["Subject"] = alert.subject
        message["From"] = s.sender
        message["To"] = ", ".join(s.recipients)
        message.set_content(alert.text)
        try:
            with smtplib.SMTP(s.host, s.port, timeout=self._retry.timeout_seconds) as smtp:
                if s.starttls:
                    smtp.starttls(context=ssl.create_default_context())
                if s.user:
                    smtp.login(s.user, s.password or "")
                smtp.send_message(message)
        except (
            smtplib.SMTPAuthenticationError,
            smtplib.SMTPRecipientsRefused,
            smtplib.SMTPSenderRefused,
        ) as exc:
            raise _Final(f"{type(exc).__name__}: check the ALERT_SMTP_* and ALERT_EMAIL_* settings") from None
        except (smtplib.SMTPException, OSError) as exc:  # refused, unreachable, timed out, 4xx
            raise DeliveryError(f"{s.host}:{s.port} failed ({type(exc).__name__})") from None

    def send(self, alert: Alert) -> None:
        self._retry.run("email", lambda: self._send(alert))
