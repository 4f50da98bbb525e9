"""Alert channels from the environment: ``AlertsResource`` and whether the alerts sensor starts on.

Every setting reaches the resource as ``dg.EnvVar`` (resolved when a tick starts; the UI shows the
variable's name, never its value), and only when the variable is set. The alerts sensor is defined
in every deployment, RUNNING by default when a channel is configured (``ALERT_WEBHOOK_URL`` or
``ALERT_SMTP_HOST``) and STOPPED otherwise; started by hand with no channel, it skips each tick
saying so.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import dagster as dg

from pipeline.alerts.senders import EmailSender, Retry, Sender, SmtpSettings, WebhookSender
from pipeline.config.settings import ConfigError

#: Resource fields and the environment variables that set them.
ALERT_VARIABLES = {
    "webhook_url": "ALERT_WEBHOOK_URL",
    "smtp_host": "ALERT_SMTP_HOST",
    "smtp_port": "ALERT_SMTP_PORT",
    "smtp_user": "ALERT_SMTP_USER",
    "smtp_password": "ALERT_SMTP_PASSWORD",
    "smtp_starttls": "ALERT_SMTP_STARTTLS",
    "email_from": "ALERT_EMAIL_FROM",
    "email_to": "ALERT_EMAIL_TO",
    "ui_url": "ALERT_UI_URL",
}

_TRUE, _FALSE = ("1", "true", "yes", "on"), ("", "0", "false", "no", "off")


class AlertsResource(dg.ConfigurableResource):
    """Where alerts go: a Slack-compatible webhook and/or e-mail over SMTP (STARTTLS optional)."""

    webhook_url: str | None = None
    smtp_host: str | None = None
    smtp_port: str | None = None  # 587 with STARTTLS, else 25
    smtp_user: str | None = None
    smtp_password: str | None = None
    smtp_starttls: str | None = None
    email_from: str | None = None
    email_to: str | None = None  # comma-separated
    ui_url: str | None = None  # the Dagster UI's address, for links in the messages
    timeout_seconds: float = 10.0
    attempts: int = 3  # per message and tick, with backoff (1 s, then 2 s)

    def _starttls(self) -> bool:
        value = (self.smtp_starttls or "").strip().lower()
        if value not in _TRUE + _FALSE:
            raise ConfigError(f"ALERT_SMTP_STARTTLS={value!r} is not a boolean; use true or false")
        return value in _TRUE

    def _smtp(self) -> SmtpSettings:
        recipients = tuple(a.strip() for a in (self.email_to or "").split(",") if a.strip())
        if not (self.email_from and recipients):
            raise ConfigError("ALERT_SMTP_HOST is set: set ALERT_EMAIL_FROM and ALERT_EMAIL_TO too")
        starttls = self._starttls()
        raw_port = (self.smtp_port or "").strip() or ("587" if starttls else "25")
        if not raw_port.isdigit():
            raise ConfigError(f"ALERT_SMTP_PORT={raw_port!r} is not a port number")
        return SmtpSettings(
            host=str(self.smtp_host),
            port=int(raw_port),
            sender=self.email_from,
            recipients=recipients,
            user=self.smtp_user or None,
            password=self.smtp_password or None,
            starttls=starttls,
        )

    def senders(self) -> list[Sender]:
        """The configured channels (none: alerting is off)."""
        retry = Retry(attempts=self.attempts, timeout_seconds=self.timeout_seconds)
        senders: list[Sender] = []
        if self.webhook_url:
            senders.append(WebhookSender(self.webhook_url, retry))
        if self.smtp_host:
            senders.append(EmailSender(self._smtp(), retry))
        return senders


def alerts_resource(env: Mapping[str, str]) -> AlertsResource:
    """The resource with each variable that is set in ``env`` passed as a ``dg.EnvVar``."""
    fields: dict[str, Any] = {
        field: dg.EnvVar(variable) for field, variable in ALERT_VARIABLES.items() if env.get(variable)
    }
    return AlertsResource(**fields)


def alerts_configured(env: Mapping[str, str]) -> bool:
    return bool(env.get("ALERT_WEBHOOK_URL") or env.get("ALERT_SMTP_HOST"))
