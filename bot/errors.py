"""Errors grouped by what the caller should do.

MarketPredictorError
├── UserError                 -- the user must fix an input; CLI prints one line, no traceback
│   ├── ConfigError  (exit 2) -- "config error: <yaml.path>: <what>"
│   └── DataError    (exit 3) -- "data error: <file>:<row or date>: <what>"
├── JournalUnavailableError   -- the journal's database stayed unreachable after retries: stop
└── VenueError                -- trouble talking to a broker / exchange
    ├── TransientVenueError   -- timeouts, 5xx: retry with backoff
    │   ├── RateLimitedError  -- 429: back off (retry_after seconds if known)
    │   └── OutcomeUnknownError -- an order may exist: look it up later, never resend blindly
    ├── OrderRejectedError    -- the venue refused this order: skip it, keep trading
    │   └── DuplicateOrderError -- the client order id is in use: the order exists
    └── FatalVenueError       -- auth or permission problems: stop
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any


class MarketPredictorError(Exception):
    """Base class of every error this package raises on purpose."""


class UserError(MarketPredictorError):
    """An input the user must fix. ``exit_code`` is what the CLI exits with."""

    exit_code = 1
    prefix = "error"

    def line(self) -> str:
        return f"{self.prefix}: {self}"


class ConfigError(UserError):
    """A config problem: ``where`` is the YAML key path (or the config file's path)."""

    exit_code = 2
    prefix = "config error"

    def __init__(self, where: str, what: str):
        self.where = where
        self.what = what
        super().__init__(f"{where}: {what}")


class DataError(UserError):
    """A data problem: ``where`` is ``<file>:<row or date>`` (or a symbol)."""

    exit_code = 3
    prefix = "data error"
    report: dict  # set (only) by bot.data.validation: the validation report of the failed check

    def __init__(self, where: str, what: str):
        self.where = where
        self.what = what
        super().__init__(f"{where}: {what}")


class VenueError(MarketPredictorError):
    """Trouble talking to a broker or exchange."""


class TransientVenueError(VenueError):
    """Timeout, dropped connection or 5xx: retry with backoff."""


class RateLimitedError(TransientVenueError):
    """HTTP 429 or the venue's equivalent: back off for ``retry_after`` seconds."""

    def __init__(self, message: str, retry_after: float | None = None):
        super().__init__(message)
        self.retry_after = retry_after


class OutcomeUnknownError(TransientVenueError):
    """A send's outcome stays unknown: the venue may hold the order, so it must not be resent.

    Raised when lookups over the grace period do not find the order but the account shows a
    trade that no known order explains (or the venue says the id is taken yet cannot show it).
    """


class OrderRejectedError(VenueError):
    """The venue refused this order (insufficient funds, bad size): skip it."""


class DuplicateOrderError(OrderRejectedError):
    """The venue refused a client order id it already holds: the order exists, do not resend."""


class FatalVenueError(VenueError):
    """Authentication or permission failure: stop trading."""


class JournalUnavailableError(MarketPredictorError):
    """The journal's database stayed unreachable (dropped connections) after every retry: stop."""


_USERINFO = re.compile(r"([A-Za-z][A-Za-z0-9+.-]*://)[^/\s'\"]+@")  # up to the last @ of the authority


def without_credentials(text: str) -> str:
    """Return ``text`` with the user:password part of any URL (a database or tracking URI) masked."""
    return _USERINFO.sub(r"\1***@", text)


def mask_secrets(obj: Any) -> Any:
    """Return ``obj`` (nested dicts/lists: a config, metrics, params) with URL credentials masked."""
    if isinstance(obj, str):
        return without_credentials(obj)
    if isinstance(obj, Mapping):
        return {k: mask_secrets(v) for k, v in obj.items()}
    if isinstance(obj, list | tuple):
        return type(obj)(mask_secrets(v) for v in obj)
    return obj
