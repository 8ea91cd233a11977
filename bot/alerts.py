"""Alerts: always to the log, optionally to a Slack/Discord-style webhook (JSON POST).

The webhook URL is a secret (Slack and Discord URLs carry their token), so it comes only from the
environment variable named by ``alerts.webhook_env`` (default ``MP_ALERT_WEBHOOK_URL``), never from
the YAML. The POST body carries both ``text`` (Slack) and ``content`` (Discord) plus structured
``fields``. Delivery failures are logged and never raised: an alert must not stop trading.
"""

from __future__ import annotations

import json
import os
import urllib.request
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from loguru import logger

from bot.config.lifecycle import AlertsConfig
from bot.errors import mask_secrets, without_credentials

LEVELS = {"info": 0, "warning": 1, "critical": 2}
Post = Callable[[str, bytes, float], int]


def _urllib_post(url: str, body: bytes, timeout: float) -> int:
    req = urllib.request.Request(
        url,
        data=body,
        method="POST",
        headers={"Content-Type": "application/json", "User-Agent": "market-predictor-alerts"},
    )
    with urllib.request.urlopen(req, timeout=timeout) as resp:  # noqa: S310 - scheme checked by the caller
        return int(resp.status)


def webhook_body(level: str, title: str, text: str, fields: Mapping[str, Any]) -> dict:
    """Return the JSON document posted to the webhook."""
    line = f"[{level.upper()}] {title}" + (f": {text}" if text else "")
    return {
        "text": line,
        "content": line[:2000],
        "level": level,
        "title": title,
        "fields": {k: v if isinstance(v, str | int | float | bool) or v is None else str(v) for k, v in fields.items()},
    }


@dataclass
class Alerter:
    """Send alerts to the log and, when a URL is configured, to a webhook."""

    url: str | None = None
    timeout: float = 5.0
    min_level: str = "warning"
    post: Post = _urllib_post
    sent: list[dict] = field(default_factory=list)  # what was delivered to the webhook (for status pages)

    @classmethod
    def from_config(cls, cfg: AlertsConfig, environ: Mapping[str, str] | None = None) -> Alerter:
        """Build an Alerter whose webhook URL comes from the environment variable ``cfg.webhook_env``."""
        env = os.environ if environ is None else environ
        url = env.get(cfg.webhook_env) if cfg.webhook_env else None
        if url and not url.startswith(("http://", "https://")):
            logger.warning(f"{cfg.webhook_env} is not an http(s) URL; webhook alerts are off")
            url = None
        return cls(url or None, cfg.timeout, cfg.min_level)

    def send(self, level: str, title: str, text: str = "", **fields: Any) -> bool:
        """Log the alert and post it to the webhook if its level is high enough; return True if posted."""
        if level not in LEVELS:
            raise ValueError(f"unknown alert level {level!r}")
        title, text, fields = without_credentials(title), without_credentials(text), mask_secrets(fields)
        log = {"info": logger.info, "warning": logger.warning, "critical": logger.error}[level]
        log(f"ALERT {title}" + (f": {text}" if text else "") + (f" {fields}" if fields else ""))
        if not self.url or LEVELS[level] < LEVELS[self.min_level]:
            return False
        body = webhook_body(level, title, text, fields)
        try:
            status = self.post(self.url, json.dumps(body, default=str).encode(), self.timeout)
        except Exception as e:  # noqa: BLE001 - any delivery failure is logged, never raised
            logger.warning(f"alert webhook failed: {type(e).__name__}: {e}")
            return False
        if not 200 <= status < 300:
            logger.warning(f"alert webhook answered HTTP {status}")
            return False
        self.sent.append(body)
        return True
