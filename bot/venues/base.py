"""The venue client protocol every broker adapter talks to, and shared bar helpers.

Timeframes are written ``<n><unit>`` with unit ``m`` (minutes), ``h``, ``d`` or ``w``:
``1m``, ``15m``, ``1h``, ``4h``, ``1d``. Bars are labelled by their **open** time (UTC) and a
bar is closed once ``open + timeframe <= venue clock``.
"""

from __future__ import annotations

from typing import Protocol, runtime_checkable

import pandas as pd

from bot.orders import OrderRequest
from bot.timeframes import parse_timeframe
from bot.venues.types import Account, Fill, OrderState

BAR_COLUMNS = ["open", "high", "low", "close", "volume"]


@runtime_checkable
class VenueClient(Protocol):
    """What the live broker and data feed need from a venue (Alpaca, a CCXT exchange, ...).

    Every method talks to the venue (the venue is the source of truth) and raises only
    :mod:`bot.errors` venue errors: ``TransientVenueError`` / ``RateLimitedError`` once
    retries are exhausted, ``OrderRejectedError`` for a refused order, ``FatalVenueError``
    for auth/permission problems. Optional: :class:`OrderHistory` (``orders(since)``).

    Optional ``check_tradable(symbols, *, stop_loss, take_profit, fractional, shorts=False)``
    (looked up with ``getattr`` at start-up; the paper venue has none): raise ConfigError naming
    the key path unless the venue trades every symbol with these exits and sizes, and (``shorts``:
    the strategy may enter short) lets every symbol be sold short, as the venue itself reports it
    (Alpaca assets, the exchange's market info). Adapters put prices and sizes on the
    instrument's grid before sending (:mod:`bot.venues.increments`) and reject an order below
    the instrument's minimums with OrderRejectedError, without a request.
    """

    name: str

    def clock(self) -> pd.Timestamp:
        """Return the venue's current time (UTC)."""
        ...

    def get_bars(
        self,
        symbol: str,
        timeframe: str,
        start: pd.Timestamp | None = None,
        limit: int | None = None,
    ) -> pd.DataFrame:
        """Return closed bars from ``start`` on (at most the last ``limit`` of them)."""
        ...

    def account(self) -> Account:
        """Return cash and equity."""
        ...

    def positions(self) -> dict[str, float]:
        """Return holdings by symbol as the venue reports them (after fees), non-zero only."""
        ...

    def submit_order(self, req: OrderRequest) -> OrderState:
        """Place ``req`` idempotently (a retry never creates a second order)."""
        ...

    def get_order(self, client_order_id: str, symbol: str | None = None) -> OrderState | None:
        """Return the order with this client id, or None if the venue does not know it."""
        ...

    def resolve_order(
        self, client_order_id: str, symbol: str | None = None, since: pd.Timestamp | None = None
    ) -> OrderState | None:
        """Find an order whose send outcome is unknown (sent at or after ``since``).

        Return its state, or None only when the venue surely does not have it (looked up over a
        grace period; on venues that let a client id be reused, no unexplained trade since
        ``since``). Raise :class:`~bot.errors.OutcomeUnknownError` when that cannot be told yet:
        the caller must not resend.
        """
        ...

    def cancel_order(self, client_order_id: str, symbol: str | None = None) -> OrderState | None:
        """Cancel the order if it is open; return its state afterwards (None if unknown)."""
        ...

    def open_orders(self) -> list[OrderState]:
        """Return every open order (bracket exits included)."""
        ...

    def fills(self, since: pd.Timestamp | None = None) -> list[Fill]:
        """Return executions at or after ``since`` (all if None), oldest first.

        ``since`` is inclusive, so a caller resuming from its last fill time sees that fill
        again: de-duplicate by ``trade_id``. Fills are stamped with the venue's trade time.
        """
        ...

    def sync(self) -> None:
        """Advance client-side order emulation (no-op where the venue does it natively)."""
        ...


@runtime_checkable
class OrderHistory(Protocol):
    """Optional part of a venue client: the order history, for the journal audit.

    Alpaca, CCXT and paper clients implement it; ``isinstance(venue, OrderHistory)`` tells.
    """

    def orders(self, since: pd.Timestamp | None = None) -> list[OrderState]:
        """Return every order created at or after ``since`` (all if None), open and closed,
        bracket exits included as orders of their own (flat, not nested), oldest first."""
        ...


def timeframe_delta(timeframe: str) -> pd.Timedelta:
    """Return the length of ``timeframe`` such as ``1h`` or ``1d`` (``bot.timeframes.parse_timeframe``)."""
    return parse_timeframe(timeframe, "timeframe")


def empty_bars() -> pd.DataFrame:
    """Return an empty bar table with the standard columns and a UTC index."""
    index = pd.DatetimeIndex([], tz="UTC", name="timestamp")
    return pd.DataFrame({c: pd.Series([], dtype=float) for c in BAR_COLUMNS}, index=index)


def make_bars(rows: list[tuple[pd.Timestamp, float, float, float, float, float]]) -> pd.DataFrame:
    """Return a sorted, de-duplicated bar table from ``(time, o, h, l, c, v)`` rows."""
    if not rows:
        return empty_bars()
    df = pd.DataFrame(rows, columns=["timestamp", *BAR_COLUMNS])
    df["timestamp"] = pd.to_datetime(df["timestamp"], utc=True)
    df = df.drop_duplicates("timestamp", keep="last").set_index("timestamp").sort_index()
    return df.astype(float)


def closed_only(bars: pd.DataFrame, timeframe: str, clock: pd.Timestamp, limit: int | None = None) -> pd.DataFrame:
    """Drop bars still open at ``clock``; keep only the last ``limit`` if given."""
    closed = bars[bars.index + timeframe_delta(timeframe) <= clock]
    return closed.iloc[-limit:] if limit else closed
