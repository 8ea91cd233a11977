"""Backtests put bracket exit prices on the venue's grid (broker.price_increment), as live does."""

from __future__ import annotations

import pytest

from bot.backtest import run_backtest
from bot.configure import parse_config
from bot.errors import ConfigError
from bot.venues.increments import is_on_tick
from tests.fakes.bars import random_bars


def _exit_fills(symbol: str, scale: float, increment) -> list[tuple[float, float]]:
    """Return (fill price, that bar's open) of every bracket exit that filled."""
    bars = {symbol: random_bars(300, start="2024-03-01", freq="1h", vol=0.02, seed=11) * scale}
    broker = dict(commission=0.0, slippage=0.0, fractional=True)
    if increment != "default":
        broker["price_increment"] = increment
    cfg = parse_config(
        dict(
            name="ticks",
            data=dict(source="sample", symbols=[symbol], timeframe="1h"),
            strategy=dict(name="sma_cross", params=dict(fast=3, slow=7)),
            broker=broker,
            risk=dict(sizing="fixed_fraction", fraction=0.3, max_position=0.5, stop_loss=0.02, take_profit=0.03),
        )
    )
    orders = run_backtest(cfg, bars=bars).ledger.orders_frame()
    done = orders[orders["reason"].isin(["stop_loss", "take_profit"]) & (orders["status"] == "filled")]
    opens = bars[symbol]["open"]
    return [(p, float(opens.loc[t])) for p, t in zip(done["fill_price"], done["fill_time"], strict=True)]


@pytest.mark.parametrize(
    ("symbol", "scale", "increment", "tick"),
    [
        ("AAPL", 1.0, "default", 0.01),  # auto: whole cents at or above $1
        ("PENNY", 1 / 200, "auto", 0.0001),  # auto: $0.0001 below $1
        ("BTC/USDT", 1.0, 0.05, 0.05),  # a fixed tick (crypto: the market's tickSize)
    ],
)
def test_bracket_exits_fill_on_the_tick(symbol, scale, increment, tick) -> None:
    fills = _exit_fills(symbol, scale, increment)
    at_order_price = [p for p, o in fills if p != o]  # a gap through the price fills at the open
    assert len(at_order_price) >= 3
    assert all(is_on_tick(round(p, 10), tick) for p in at_order_price)


def test_no_rounding_when_asked_and_for_crypto_on_auto() -> None:
    for symbol, increment in [("AAPL", None), ("BTC/USDT", "auto")]:
        off = [p for p, o in _exit_fills(symbol, 1.0, increment) if p != o and not is_on_tick(p, 0.01)]
        assert off  # exact close * (1 +- pct)


def test_price_increment_must_be_positive() -> None:
    with pytest.raises(ConfigError, match="broker.price_increment: must be auto, a positive tick"):
        parse_config(dict(name="t", data=dict(symbols=["A"]), broker=dict(price_increment=0)))
