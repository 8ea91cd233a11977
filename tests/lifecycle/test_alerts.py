"""Alerts: the log always, a Slack/Discord-style webhook (URL from the environment) on loopback."""

from __future__ import annotations

from bot.alerts import Alerter
from bot.config.lifecycle import AlertsConfig
from tests.lifecycle.loopback import WebhookServer


def test_webhook_receives_slack_and_discord_fields():
    with WebhookServer() as hook:
        alerter = Alerter.from_config(AlertsConfig(), {"MP_ALERT_WEBHOOK_URL": hook.url})
        assert alerter.send("warning", "drift in demo", "3 features drifted", action="halt_entries", psi=0.4)
        assert not alerter.send("info", "routine")  # below min_level: log only
    (got,) = hook.received
    body = got["json"]
    assert got["path"] == "/hook/secret-token" and got["headers"]["Content-Type"] == "application/json"
    assert body["text"] == body["content"] == "[WARNING] drift in demo: 3 features drifted"
    assert body["fields"] == {"action": "halt_entries", "psi": 0.4} and body["level"] == "warning"


def test_no_url_or_bad_url_means_log_only(capsys):
    assert Alerter.from_config(AlertsConfig(), {}).url is None
    assert Alerter.from_config(AlertsConfig(), {"MP_ALERT_WEBHOOK_URL": "file:///etc/passwd"}).url is None
    assert Alerter.from_config(AlertsConfig(webhook_env="MY_HOOK"), {"MY_HOOK": "http://127.0.0.1:1/x"}).url


def test_delivery_failures_are_logged_not_raised():
    with WebhookServer(status=500) as hook:
        assert not Alerter(hook.url).send("critical", "kill switch")
        assert len(hook.received) == 1
    closed = Alerter("http://127.0.0.1:9/nothing-listens", timeout=1)
    assert not closed.send("critical", "kill switch") and closed.sent == []
