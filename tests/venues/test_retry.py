"""Backoff delays, Retry-After, bounded attempts and idempotent submission (pure, no I/O)."""

from __future__ import annotations

import pydantic
import pytest

from bot.errors import (
    DuplicateOrderError,
    FatalVenueError,
    OrderRejectedError,
    OutcomeUnknownError,
    RateLimitedError,
    TransientVenueError,
)
from bot.venues.retry import RetryPolicy, call_with_retry, submit_idempotently
from bot.venues.types import OrderState

POLICY = RetryPolicy(
    attempts=4, base_delay=0.5, factor=2.0, max_delay=3.0, max_retry_after=60, lookup_tries=2, lookup_interval=0.1
)
STATE = OrderState("c1", "v1", "X", "buy", 1.0, 0.0, None, "new", None, None)


class Script:
    """A callable that raises or returns the scripted outcomes in turn."""

    def __init__(self, *outcomes):
        self.outcomes, self.calls = list(outcomes), 0

    def __call__(self):
        self.calls += 1
        out = self.outcomes.pop(0)
        if isinstance(out, Exception):
            raise out
        return out


def test_delays_are_exponential_capped_and_deterministic() -> None:
    assert [POLICY.delay(i) for i in range(5)] == [0.5, 1.0, 2.0, 3.0, 3.0]
    assert POLICY.wait(0, RateLimitedError("429", retry_after=7)) == 7.0
    assert POLICY.wait(2, RateLimitedError("429", retry_after=1)) == 2.0
    assert POLICY.wait(1, RateLimitedError("429")) == 1.0


def test_policy_is_a_strict_frozen_config() -> None:
    with pytest.raises(pydantic.ValidationError):
        RetryPolicy(attempts=3, atempts=4)
    with pytest.raises(pydantic.ValidationError):
        RetryPolicy(attempts=0)
    with pytest.raises(pydantic.ValidationError):
        POLICY.attempts = 9


def test_call_with_retry_recovers_and_records_delays() -> None:
    sleeps: list[float] = []
    fn = Script(TransientVenueError("t"), RateLimitedError("r", retry_after=5), "ok")
    assert call_with_retry(fn, policy=POLICY, sleep=sleeps.append) == "ok"
    assert sleeps == [0.5, 5.0]


def test_call_with_retry_is_bounded() -> None:
    sleeps: list[float] = []
    fn = Script(*[TransientVenueError("t")] * 10)
    with pytest.raises(TransientVenueError):
        call_with_retry(fn, policy=POLICY, sleep=sleeps.append)
    assert fn.calls == 4 and sleeps == [0.5, 1.0, 2.0]


def test_fatal_errors_and_huge_retry_after_are_not_retried() -> None:
    sleeps: list[float] = []
    with pytest.raises(FatalVenueError):
        call_with_retry(Script(FatalVenueError("auth")), policy=POLICY, sleep=sleeps.append)
    with pytest.raises(RateLimitedError):
        call_with_retry(Script(RateLimitedError("ban", retry_after=3600)), policy=POLICY, sleep=sleeps.append)
    assert sleeps == []


def test_submit_does_not_send_what_the_venue_already_has() -> None:
    send, lookup = Script(), Script(STATE)
    assert submit_idempotently(send, lookup, policy=POLICY, sleep=lambda s: None) == STATE
    assert send.calls == 0


def test_submit_after_a_lost_answer_finds_the_order() -> None:
    send, lookup = Script(TransientVenueError("timeout")), Script(None, STATE)
    sleeps: list[float] = []
    assert submit_idempotently(send, lookup, policy=POLICY, sleep=sleeps.append) == STATE
    assert (send.calls, lookup.calls, sleeps) == (1, 2, [0.5])


def test_submit_resends_only_when_the_order_is_absent() -> None:
    send = Script(TransientVenueError("500"), RateLimitedError("429", retry_after=4), STATE)
    lookup = Script(*[None] * 5)
    sleeps: list[float] = []
    assert submit_idempotently(send, lookup, policy=POLICY, sleep=sleeps.append) == STATE
    # before each resend the order is looked up lookup_tries times, lookup_interval apart
    assert (send.calls, lookup.calls, sleeps) == (3, 5, [0.5, 0.1, 4.0, 0.1])


def test_an_order_the_venue_shows_late_is_not_resent() -> None:
    """Binance answers -2013 for a while after accepting an order: one miss proves nothing."""
    send, lookup = Script(TransientVenueError("answer lost")), Script(None, None, STATE)
    assert submit_idempotently(send, lookup, policy=POLICY, sleep=lambda s: None) == STATE
    assert send.calls == 1


def test_ambiguous_evidence_stops_the_resend() -> None:
    def resolve():
        raise OutcomeUnknownError("a trade of an order the venue cannot show yet")

    send = Script(TransientVenueError("answer lost"), STATE)
    with pytest.raises(OutcomeUnknownError):
        submit_idempotently(send, Script(None), policy=POLICY, sleep=lambda s: None, resolve=resolve)
    assert send.calls == 1


def test_a_duplicate_id_the_venue_cannot_show_is_unknown_not_rejected() -> None:
    send = Script(DuplicateOrderError("Duplicate order sent."))
    with pytest.raises(OutcomeUnknownError):
        submit_idempotently(send, Script(None, None, None), policy=POLICY, sleep=lambda s: None)
    assert send.calls == 1


def test_rejection_is_raised_unless_the_order_exists() -> None:
    with pytest.raises(OrderRejectedError):
        submit_idempotently(
            Script(OrderRejectedError("no")),
            Script(None, None),
            policy=POLICY,
            sleep=lambda s: None,
        )
    found = submit_idempotently(
        Script(OrderRejectedError("duplicate id")),
        Script(None, STATE),
        policy=POLICY,
        sleep=lambda s: None,
    )
    assert found == STATE


def test_submit_gives_up_after_bounded_attempts() -> None:
    send = Script(*[TransientVenueError("down")] * 10)
    lookup = Script(*[None] * 10)
    with pytest.raises(OutcomeUnknownError):  # a TransientVenueError: looked up again later
        submit_idempotently(send, lookup, policy=POLICY, sleep=lambda s: None)
    assert send.calls == POLICY.attempts


def test_a_refused_resend_after_an_unknown_send_is_unknown_not_rejected() -> None:
    """The first send may still be in flight at the venue (alpaca fault sim, seed 5): the order
    must stay pending and be looked up again, not be journaled rejected while it fills."""
    send = Script(TransientVenueError("read timeout"), OrderRejectedError("insufficient buying power"))
    with pytest.raises(OutcomeUnknownError):
        submit_idempotently(send, Script(*[None] * 5), policy=POLICY, sleep=lambda s: None)
