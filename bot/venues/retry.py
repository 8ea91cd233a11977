"""Bounded retries with deterministic exponential backoff, and idempotent order submission.

Delays are ``base_delay * factor**n`` capped at ``max_delay`` (no jitter, so tests can assert
them); a :class:`~bot.errors.RateLimitedError` waits at least its ``retry_after``. The sleep
function is injected so tests run instantly.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import TypeVar

from loguru import logger
from pydantic import BaseModel, ConfigDict, Field

from bot.errors import (
    DuplicateOrderError,
    OrderRejectedError,
    OutcomeUnknownError,
    RateLimitedError,
    TransientVenueError,
)
from bot.venues.types import OrderState

T = TypeVar("T")
Sleep = Callable[[float], None]


class RetryPolicy(BaseModel):
    """How often and how patiently to retry transient venue errors."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    attempts: int = Field(5, ge=1, le=20, description="total tries, first one included")
    base_delay: float = Field(0.5, gt=0, description="seconds before the first retry")
    factor: float = Field(2.0, ge=1.0)
    max_delay: float = Field(30.0, gt=0)
    max_retry_after: float = Field(300.0, gt=0, description="give up if asked to wait longer")
    lookup_tries: int = Field(3, ge=1, le=20, description="lookups of an order whose send outcome is unknown")
    lookup_interval: float = Field(0.5, ge=0, description="seconds between those lookups")

    def delay(self, retry: int) -> float:
        """Return the backoff before retry number ``retry`` (0-based)."""
        return min(self.base_delay * self.factor**retry, self.max_delay)

    def wait(self, retry: int, error: Exception) -> float:
        """Return the wait before retry ``retry`` after ``error`` (honours Retry-After)."""
        delay = self.delay(retry)
        if isinstance(error, RateLimitedError) and error.retry_after is not None:
            delay = max(delay, float(error.retry_after))
        return delay


def call_with_retry(
    fn: Callable[[], T], *, policy: RetryPolicy, sleep: Sleep = time.sleep, what: str = "venue call"
) -> T:
    """Call ``fn``; retry :class:`TransientVenueError` up to ``policy.attempts`` tries in all."""
    for retry in range(policy.attempts):
        try:
            return fn()
        except TransientVenueError as err:
            wait = policy.wait(retry, err)
            if retry + 1 >= policy.attempts or wait > policy.max_retry_after:
                raise
            logger.warning("{}: {}; retry {}/{} in {:.2f}s", what, err, retry + 1, policy.attempts - 1, wait)
            sleep(wait)
    raise AssertionError("unreachable")  # pragma: no cover


def submit_idempotently(
    send: Callable[[], OrderState],
    lookup: Callable[[], OrderState | None],
    *,
    policy: RetryPolicy,
    sleep: Sleep = time.sleep,
    what: str = "submit",
    resolve: Callable[[], OrderState | None] | None = None,
) -> OrderState:
    """Place an order so that it exists at most once at the venue.

    The order is looked up by its client order id before the first send (a restarted bot
    replaying its journal must not create it again). After a failure that leaves the outcome
    unknown (timeout, dropped connection, 5xx, 429) nothing is resent until ``resolve`` says
    the venue does not have it: ``resolve`` (default: :func:`lookup_over_grace` of ``lookup``)
    looks it up repeatedly over a grace period, because a venue can answer "no such order" for
    an order it accepted a moment ago (Binance -2013), and the venue client's version also
    checks the account's trades since the send. ``resolve`` raises
    :class:`~bot.errors.OutcomeUnknownError` when the evidence is ambiguous; it propagates, and
    the caller looks the order up again later instead of resending.

    A rejection is checked against a lookup (a venue refusing a duplicate client order id
    means the order is already there); a :class:`~bot.errors.DuplicateOrderError` that no
    lookup explains becomes :class:`~bot.errors.OutcomeUnknownError`, never a resend.
    """

    def find() -> OrderState | None:
        return call_with_retry(lookup, policy=policy, sleep=sleep, what=f"{what} lookup")

    settle = resolve or (lambda: lookup_over_grace(find, policy=policy, sleep=sleep))
    existing = find()
    if existing is not None:
        return existing
    last: TransientVenueError | None = None
    for retry in range(policy.attempts):
        try:
            return send()
        except DuplicateOrderError as err:
            existing = settle()
            if existing is not None:
                logger.info("{}: venue refused a duplicate; the order already exists", what)
                return existing
            raise OutcomeUnknownError(
                f"{what}: the venue says the id is in use but shows no such order yet; not resending ({err})"
            ) from err
        except OrderRejectedError as err:
            existing = settle() if last is not None else find()
            if existing is not None:
                logger.info("{}: venue refused a resend; the order already exists", what)
                return existing
            if last is not None:  # the first send may still land (a request the venue is still processing)
                raise OutcomeUnknownError(
                    f"{what}: a resend was refused ({err}) after a send whose outcome "
                    f"is unknown ({last}); looked up again later"
                ) from err
            raise
        except TransientVenueError as err:
            last = err
            wait = policy.wait(retry, err)
            if retry + 1 >= policy.attempts or wait > policy.max_retry_after:
                break
            logger.warning("{}: {}; checking the venue before resending in {:.2f}s", what, err, wait)
            sleep(wait)
            existing = settle()
            if existing is not None:
                logger.info("{}: order found at the venue after a failed send; not resending", what)
                return existing
    assert last is not None
    try:
        existing = settle()
    except TransientVenueError:
        existing = None
    if existing is not None:
        return existing
    raise OutcomeUnknownError(f"{what}: outcome unknown after {policy.attempts} tries: {last}") from last


def lookup_over_grace(
    find: Callable[[], OrderState | None], *, policy: RetryPolicy, sleep: Sleep = time.sleep
) -> OrderState | None:
    """Look an order up ``policy.lookup_tries`` times, ``policy.lookup_interval`` s apart."""
    for n in range(policy.lookup_tries):
        state = find()
        if state is not None:
            return state
        if n + 1 < policy.lookup_tries:
            sleep(policy.lookup_interval)
    return None
