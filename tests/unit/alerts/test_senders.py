"""Alert senders against a local HTTP sink and a local SMTP server; the outbox keeps what a channel refused."""

from __future__ import annotations

import pytest

from pipeline.alerts.delivery import deliver
from pipeline.alerts.events import Alert
from pipeline.alerts.senders import DeliveryError, EmailSender, Retry, SmtpSettings, WebhookSender
from tests.support.alert_sinks import smtp_sink, webhook_sink

FAST = Retry(attempts=2, timeout_seconds=5, backoff_seconds=0.01)
ALERT = Alert("[speaking-pipeline] Run 1 failed", "Cause: a step failed.")


def test_the_webhook_gets_slack_compatible_json_and_a_5xx_is_retried() -> None:
    with webhook_sink() as sink:
        sink.fail_next = 1
        WebhookSender(sink.url, FAST).send(ALERT)
    assert sink.posts == [{"text": "[speaking-pipeline] Run 1 failed\nCause: a step failed."}]


def test_a_webhook_error_never_shows_its_url() -> None:
    with webhook_sink() as sink:
        sink.fail_next = 5
        with pytest.raises(DeliveryError) as failure:
            WebhookSender(sink.url, FAST).send(ALERT)
    assert "HTTP 503" in str(failure.value) and "secret-token" not in str(failure.value)


def test_email_with_login_reaches_the_smtp_server() -> None:
    with smtp_sink(auth=("alerts", "pw-secret")) as sink:
        settings = SmtpSettings(
            "127.0.0.1",
            sink.port,
            "dagster@example.org",
            ("ops@example.org", "b@example.org"),
            "alerts",
            "pw-secret",
        )
        EmailSender(settings, FAST).send(ALERT)
    [message] = sink.messages
    assert message["Subject"] == ALERT.subject and message["To"] == "ops@example.org, b@example.org"
    assert sink.envelopes == [("dagster@example.org", ["ops@example.org", "b@example.org"])]
    assert "Cause: a step failed." in sink.bodies()[0]


def test_a_wrong_password_is_not_retried_and_not_shown() -> None:
    with smtp_sink(auth=("alerts", "right")) as sink:
        settings = SmtpSettings(
            "127.0.0.1", sink.port, "a@example.org", ("b@example.org",), "alerts", "wrong-pw"
        )
        with pytest.raises(DeliveryError) as failure:
            EmailSender(settings, FAST).send(ALERT)
    assert "SMTPAuthenticationError" in str(failure.value) and "wrong-pw" not in str(failure.value)
    assert sink.messages == []


def test_starttls_against_a_server_without_it_fails_clearly() -> None:
    with smtp_sink() as sink:
        settings = SmtpSettings("127.0.0.1", sink.port, "a@example.org", ("b@example.org",), starttls=True)
        with pytest.raises(DeliveryError, match="SMTPNotSupportedError"):
            EmailSender(settings, FAST).send(ALERT)


def test_the_outbox_keeps_what_a_failing_channel_did_not_take_and_sends_it_first_later() -> None:
    with webhook_sink() as sink, smtp_sink() as mail:
        email = EmailSender(SmtpSettings("127.0.0.1", mail.port, "a@example.org", ("b@example.org",)), FAST)
        hook = WebhookSender(sink.url, FAST)
        sink.fail_next = 2  # both attempts of the first message
        first = deliver([ALERT, Alert("second", "")], [hook, email], {})
        assert first.sent == {"webhook": 0, "email": 2} and len(first.pending["webhook"]) == 2
        second = deliver([Alert("third", "")], [hook, email], first.pending)
    assert second.pending == {} and second.sent == {"webhook": 3, "email": 1}
    assert [t.split("\n")[0] for t in sink.texts] == [ALERT.subject, "second", "third"]
    assert [m["Subject"] for m in mail.messages] == [ALERT.subject, "second", "third"]
