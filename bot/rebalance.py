"""Turn a portfolio strategy's target weights into orders: plain Python, shared by backtests and live.

At a rebalance every tradable symbol's target is ``weight x equity / close`` shares (whole shares,
truncated towards zero, unless fractional). A trade smaller than ``min_trade`` of equity is skipped.
Orders come in three phases so that cash is freed before it is spent: trades that reduce a position
(sells of longs, buys to cover shorts), then sells that open or add to shorts, then buys that open
or add to longs. A flip (long to short or back) is two orders, the close and then the opening of the
other side (venues refuse one order that flips: Alpaca's sell beyond the position held). Buys are
scaled down, all alike, when the cash the earlier phases leave (valued at
the decision close) would not pay for them plus costs and a buffer against the next open's gap.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass

GAP_BUFFER = 0.02  # cash kept back for buys, as the single-symbol adapter does, for gaps at the open


@dataclass(frozen=True)
class PlannedTrade:
    symbol: str
    delta: float  # signed shares: > 0 buy, < 0 sell
    position: float  # signed shares held before the trade
    close: float
    kind: str = "rebalance"  # the order id's intent: "rebalance", or "rebalance_flip" for a flip's opening leg

    @property
    def phase(self) -> int:
        """0: reduces |position|; 1: sells that open or add to a short; 2: buys that open or add to a long."""
        if self.position * self.delta < 0:
            return 0
        return 1 if self.delta < 0 else 2


def rebalance_due(step: int, first: int, every: int) -> bool:
    """Return whether calendar step ``step`` (0 = first bar loaded) is a rebalance bar."""
    return step >= first and (step - first) % every == 0


def target_shares(weight: float, equity: float, close: float, fractional: bool) -> float:
    """Return the signed shares worth ``weight`` of ``equity`` at ``close`` (whole shares towards zero)."""
    raw = weight * equity / close
    return raw if fractional else float(math.trunc(raw))


def plan_trades(
    weights: Mapping[str, float],
    positions: Mapping[str, float],
    closes: Mapping[str, float],
    equity: float,
    fractional: bool,
    min_trade: float,
) -> list[PlannedTrade]:
    """Return the trades that move every symbol in ``closes`` to its weight (absent: 0), in phase order."""
    out = []
    for sym, close in closes.items():
        pos = positions.get(sym, 0.0)
        target = target_shares(weights.get(sym, 0.0), equity, close, fractional)
        delta = target - pos
        if delta == 0 or abs(delta * close) < min_trade * equity:
            continue
        if pos * target < 0:  # a flip is two orders, as venues take them: close the position, then open the other side
            out += [PlannedTrade(sym, -pos, pos, close), PlannedTrade(sym, target, 0.0, close, "rebalance_flip")]
        else:
            out.append(PlannedTrade(sym, delta, pos, close))
    return sorted(out, key=lambda t: t.phase)  # stable: symbols keep their order within a phase


def fit_buys(
    trades: list[PlannedTrade], cash: float, commission: float, slippage: float, fractional: bool
) -> list[PlannedTrade]:
    """Return ``trades`` with phase-2 buys scaled down to the cash the earlier phases leave."""
    left = cash
    for t in trades:
        if t.phase < 2:
            left -= t.delta * t.close + abs(t.delta * t.close) * commission
    buys = sum(t.delta * t.close for t in trades if t.phase == 2)
    budget = max(left, 0.0) / (1 + commission + slippage + GAP_BUFFER)
    if buys <= budget:
        return trades
    scale = budget / buys
    out = []
    for t in trades:
        if t.phase == 2:
            delta = t.delta * scale if fractional else float(math.floor(t.delta * scale))
            if delta <= 0:
                continue
            t = PlannedTrade(t.symbol, delta, t.position, t.close, t.kind)
        out.append(t)
    return out
