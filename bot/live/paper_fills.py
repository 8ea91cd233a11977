"""Fill prices of the paper venue: Backtrader's BackBroker rules, as pure functions.

They reproduce ``bt.brokers.BackBroker`` with ``set_slippage_perc(slip, slip_open=True,
slip_limit=True, slip_match=True, slip_out=False)``, which is how backtests are configured:

* market: the bar's open, slipped adversely, capped at the bar's high (buy) / low (sell);
* limit: a gap through the limit fills at the (slipped, capped) open, else at the limit price;
* stop: a gap through the stop fills at the slipped open, a touch at the slipped stop price,
  both capped at the bar's range;
* trailing stop: after a bar that did not trigger it, the stop follows the close.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Bar:
    open: float
    high: float
    low: float
    close: float


def slip_up(cap: float, price: float, slip: float) -> float:
    """Return ``price`` raised by ``slip`` (a fraction), but never above ``cap``."""
    pslip = price * (1 + slip) if slip else price
    return pslip if pslip <= cap else cap


def slip_down(floor: float, price: float, slip: float) -> float:
    """Return ``price`` lowered by ``slip`` (a fraction), but never below ``floor``."""
    pslip = price * (1 - slip) if slip else price
    return pslip if pslip >= floor else floor


def market_fill(side: str, bar: Bar, slip: float) -> float:
    """Return the fill price of a market order on ``bar``."""
    return slip_up(bar.high, bar.open, slip) if side == "buy" else slip_down(bar.low, bar.open, slip)


def limit_fill(side: str, bar: Bar, limit: float, slip: float) -> float | None:
    """Return the fill price of a limit order on ``bar``, or None if it does not trade."""
    if side == "buy":
        if limit >= bar.open:
            return slip_up(min(bar.high, limit), bar.open, slip)
        return limit if limit >= bar.low else None
    if limit <= bar.open:
        return slip_down(limit, bar.open, slip)
    return limit if limit <= bar.high else None


def stop_fill(side: str, bar: Bar, stop: float, slip: float) -> float | None:
    """Return the fill price of a stop order on ``bar``, or None if it does not trigger."""
    if side == "buy":
        if bar.open >= stop:
            return slip_up(bar.high, bar.open, slip)
        return slip_up(bar.high, stop, slip) if bar.high >= stop else None
    if bar.open <= stop:
        return slip_down(bar.low, bar.open, slip)
    return slip_down(bar.low, stop, slip) if bar.low <= stop else None


def trail(side: str, stop: float, close: float, percent: float) -> float:
    """Return the trailing stop after a bar closing at ``close`` (it only tightens)."""
    if side == "buy":
        return min(stop, close * (1 + percent))
    return max(stop, close * (1 - percent))
