"""Shorts in the Backtrader adapter, computed by hand: the entry sells at the next open, the bracket's
buy stop sits above and its buy limit below the decision close, Exit buys the whole short back."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from bot.configure import parse_config
from bot.engine.adapter import _bracket_prices
from bot.engine.simulate import simulate
from strategies.base import BarView, Enter, Exit, Strategy, StrategyParams

COMM, SLIP = 0.001, 0.0005
DAYS = pd.date_range("2024-01-01", periods=6, freq="D", tz="UTC")


class Scripted(Strategy):
    """Short when ``go`` < 0 and flat, buy back when ``go`` > 0 and short, long when ``go`` == 2 and flat."""

    Params = StrategyParams
    signal_columns = ("go",)

    def __init__(self, go, risk, fraction=0.5):
        super().__init__(StrategyParams(), risk)
        self.go, self.fraction = go, fraction

    def sells_short(self) -> bool:
        return True

    def compute_signals(self, bars, prob_up):
        return pd.DataFrame({"go": np.asarray(self.go, float)}, index=bars.index)

    def decide(self, view: BarView):
        g = view.signals["go"]
        if view.pending or g == 0:
            return None
        if g < 0 and view.position <= 0:
            return Enter(view.symbol, self.fraction, prob=0.6, side="short")
        if g == 2:
            return Enter(view.symbol, self.fraction, prob=0.6)
        return Exit(view.symbol) if view.position != 0 else None


def config(short_fee=0.0, **risk):
    return parse_config(
        {
            "name": "shorts",
            "data": {"symbols": ["S"]},
            "strategy": {"name": "sma_cross"},
            "broker": {
                "cash": 10_000,
                "commission": COMM,
                "slippage": SLIP,
                "price_increment": None,
                "short_fee": short_fee,
            },
            "risk": {"sizing": "fixed_fraction", "fraction": 0.5, "max_position": 0.5, **risk},
        }
    )


def run(ohlc, go, short_fee=0.0, **risk):
    cfg = config(short_fee, **risk)
    bars = pd.DataFrame(ohlc, columns=["open", "high", "low", "close"], index=DAYS[: len(ohlc)], dtype=float)
    bars["volume"] = 1e6
    strategy = Scripted(go, cfg.risk)
    signals = {"S": strategy.compute_signals(bars, None)}
    ledger, _ = simulate(cfg, {"S": bars}, signals, strategy, fractional=False)
    return ledger


# decision bar: close 100, so size = floor(min(0.5 x 10000, 10000 / 1.0215) / 100) = 50
FLAT = [100, 100, 100, 100]
ENTRY = 101 * (1 - SLIP)  # market sell at the next open, slipped down


def _check(t, exit_price, raw_exit, reason, size=50):
    assert (t.side, t["size"], t.exit_reason) == ("short", size, reason)
    assert math.isclose(t.entry_price, ENTRY, rel_tol=0, abs_tol=1e-9)
    assert math.isclose(t.exit_price, exit_price, rel_tol=0, abs_tol=1e-9)
    assert math.isclose(t.pnl, (ENTRY - exit_price) * size, abs_tol=1e-9)
    comm = size * (ENTRY + exit_price) * COMM
    assert math.isclose(t.commission, comm, abs_tol=1e-9)
    assert math.isclose(t.pnl_net, t.pnl - comm, abs_tol=1e-9)
    assert math.isclose(t.slippage, size * (101 - ENTRY) + size * abs(exit_price - raw_exit), abs_tol=1e-9)


def test_a_short_stopped_out_inside_the_bar_buys_at_the_stop_plus_slippage():
    bars = [FLAT, [101, 103, 99, 102], [103, 106, 102, 105.5], [105, 105, 104, 104]]
    ledger = run(bars, [-1, 0, 0, 0], stop_loss=0.05, take_profit=0.08)
    orders = ledger.orders_frame().set_index("reason")
    assert list(orders.side) == ["sell", "buy", "buy"]
    assert list(orders.type) == ["market", "stop", "limit"]
    assert orders.loc["stop_loss", "size"] == orders.loc["take_profit", "size"] == 50
    assert list(orders.status) == ["filled", "filled", "canceled"]
    (t,) = ledger.trades_frame().itertuples(index=False)
    t = pd.Series(t._asdict())
    _check(t, 105 * (1 + SLIP), 105, "stop_loss")  # stop 100 x 1.05 = 105, hit intrabar (high 106)
    assert t.entry_prob == pytest.approx(0.4)  # trades.csv keeps P(up); the short's Enter.prob was P(down)
    eq = ledger.equity_frame()
    assert math.isclose(eq.equity.iloc[-1], 10_000 + t.pnl_net, abs_tol=1e-9)


def test_a_short_gapping_through_its_stop_buys_at_the_open_plus_slippage():
    bars = [FLAT, [101, 103, 99, 102], [107, 108, 106, 107], [107, 107, 107, 107]]
    t = run(bars, [-1, 0, 0, 0], stop_loss=0.05, take_profit=0.08).trades_frame().iloc[0]
    _check(t, 107 * (1 + SLIP), 107, "stop_loss")


def test_the_stop_wins_when_a_bar_reaches_both_legs():
    bars = [FLAT, [101, 103, 99, 102], [100, 106, 91, 95], [95, 95, 95, 95]]
    t = run(bars, [-1, 0, 0, 0], stop_loss=0.05, take_profit=0.08).trades_frame().iloc[0]
    _check(t, 105 * (1 + SLIP), 105, "stop_loss")


def test_a_short_taking_profit_inside_the_bar_buys_at_the_limit():
    bars = [FLAT, [101, 103, 99, 97], [95, 96, 91, 93], [93, 93, 93, 93]]
    ledger = run(bars, [-1, 0, 0, 0], stop_loss=0.05, take_profit=0.08)
    t = ledger.trades_frame().iloc[0]
    _check(t, 92.0, 92.0, "take_profit")  # limit 100 x 0.92 = 92, low 91: filled at the limit, no slippage
    assert list(ledger.orders_frame().status) == ["filled", "canceled", "filled"]


def test_a_short_gapping_through_its_take_profit_buys_at_the_open_plus_slippage():
    bars = [FLAT, [101, 103, 99, 97], [90, 91, 89, 90], [90, 90, 90, 90]]
    t = run(bars, [-1, 0, 0, 0], stop_loss=0.05, take_profit=0.08).trades_frame().iloc[0]
    _check(t, 90 * (1 + SLIP), 90, "take_profit")


def test_a_short_trailing_stop_follows_the_closes_down():
    # Bracket children work from the bar after the entry's fill (Backtrader activates them then), so the
    # stop is 100 x 1.04 = 104 on bar 2, trails to 95 x 1.04 = 98.8 after its close, and bar 3's high hits it.
    bars = [FLAT, [101, 101, 95, 96], [96, 97, 94, 95], [97, 99, 96, 98], [98, 98, 98, 98]]
    ledger = run(bars, [-1, 0, 0, 0, 0], trailing_stop=0.04)
    orders = ledger.orders_frame()
    assert list(orders.type) == ["market", "trailing_stop"] and list(orders.reason) == ["entry", "trailing_stop"]
    t = ledger.trades_frame().iloc[0]
    _check(t, 95 * 1.04 * (1 + SLIP), 95 * 1.04, "trailing_stop")


def test_exit_buys_the_short_back_at_the_next_open():
    bars = [FLAT, [101, 103, 99, 97], [98, 99, 96, 97], [96, 97, 95, 96]]
    ledger = run(bars, [-1, 0, 1, 0])
    assert list(ledger.orders_frame().side) == ["sell", "buy"]
    t = ledger.trades_frame().iloc[0]
    _check(t, 96 * (1 + SLIP), 96, "signal")


def test_a_short_still_open_at_the_end_is_marked_at_the_close_paying_commission():
    bars = [FLAT, [101, 103, 99, 97], [98, 99, 96, 95]]
    ledger = run(bars, [-1, 0, 0])
    t = ledger.trades_frame().iloc[0]
    assert t.exit_reason == "end" and t.exit_price == 95
    assert math.isclose(t.pnl, (ENTRY - 95) * 50, abs_tol=1e-9)
    assert math.isclose(t.commission, 50 * (ENTRY + 95) * COMM, abs_tol=1e-9)
    assert math.isclose(ledger.equity_frame().equity.iloc[-1], 10_000 + t.pnl_net, abs_tol=1e-9)


def test_enter_on_the_other_side_is_ignored_until_flat():
    bars = [FLAT, [101, 103, 99, 97], [98, 99, 96, 97], [96, 97, 95, 96]]
    ledger = run(bars, [-1, 2, 2, 0])  # long entries while short: no orders
    assert list(ledger.orders_frame().reason) == ["entry"]
    assert ledger.trades_frame().iloc[0].side == "short"


def test_the_kill_switch_flattens_a_short():
    bars = [FLAT, [101, 112, 100, 111], [112, 113, 111, 112], [112, 112, 112, 112]]
    ledger = run(bars, [-1, 0, 0, 0], max_drawdown_halt=0.02, flatten_on_halt=True)
    t = ledger.trades_frame().iloc[0]
    assert list(ledger.orders_frame().side) == ["sell", "buy"]
    _check(t, 112 * (1 + SLIP), 112, "halt")


def test_a_short_entry_is_budgeted_against_cash_not_backing_shorts():
    # two symbols would be neater; one symbol shorted twice shows it: the second short adds to the first
    bars = [FLAT, [100, 100, 100, 100], [100, 100, 100, 100], [100, 100, 100, 100]]
    cfg = config()
    df = pd.DataFrame(bars, columns=["open", "high", "low", "close"], index=DAYS[:4], dtype=float)
    df["volume"] = 1e6
    strategy = Scripted([-1, -1, 0, 0], cfg.risk, fraction=1.0)
    ledger, _ = simulate(cfg, {"S": df}, {"S": strategy.compute_signals(df, None)}, strategy, fractional=False)
    sizes = list(ledger.orders_frame()["size"])
    assert sizes[0] == math.floor(10_000 / (1 + COMM + SLIP + 0.02) / 100) == 97
    cash = 10_000 + 97 * 100 * (1 - SLIP) * (1 - COMM)  # the proceeds, less commission
    free = cash - 97 * 100  # less the short's value at the close: 9985.4
    assert sizes[1] == math.floor(min(free, free / (1 + COMM + SLIP + 0.02)) / 100) == 97  # not 99 from all cash


def test_short_bracket_prices_mirror_the_long_ones_on_the_tick():
    view = BarView("S", DAYS[0], 100.07, {}, 0.0, False)
    assert _bracket_prices(view, "auto", "stop_loss", 0.0333, 0.0777, short=True) == (103.40, 92.29)
    assert _bracket_prices(view, "auto", "stop_loss", 0.0333, 0.0777, short=False) == (96.74, 107.85)
    assert _bracket_prices(view, 0.05, "trailing_stop", None, 0.0777, short=True) == (None, 92.30)
    assert _bracket_prices(view, None, None, None, None, short=True) == (None, None)


def test_a_take_profit_of_100_percent_or_more_has_no_short_leg():
    bars = [FLAT, [101, 103, 99, 97], [98, 99, 96, 97]]
    orders = run(bars, [-1, 0, 0], stop_loss=0.05, take_profit=1.5).orders_frame()
    assert list(orders.reason) == ["entry", "stop_loss"]
