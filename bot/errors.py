"""Errors grouped by what the caller should do.

    MarketPredictorError
    ├── UserError                 -- the user must fix an input; CLI prints one line, no traceback
    │   ├── ConfigError  (exit 2) -- "config error: <yaml.path>: <what>"
    │   └── DataError    (exit 3) -- "data error: <file>:<row or date>: <what>"
    └── VenueError                -- trouble talking to a broker / exchange
        ├── TransientVenueError   -- timeouts, 5xx: retry with backoff
        │   └── RateLimitedError  -- 429: back off (retry_after seconds if known)
        ├── OrderRejectedError    -- the venue refused this order: skip it, keep trading
        └── FatalVenueError       -- auth or permission problems: stop
"""

from __future__ import annotations


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


class OrderRejectedError(VenueError):
    """The venue refused this order (insufficient funds, bad size): skip it."""


class FatalVenueError(VenueError):
    """Authentication or permission failure: stop trading."""


def without_credentials(text: str) -> str:
    """Return ``text`` with the user:password part of any URL (a database or tracking URI) masked."""
    import re

    return re.sub(r"([A-Za-z][A-Za-z0-9+.-]*://)[^/@\s]+@", r"\1***@", text)
