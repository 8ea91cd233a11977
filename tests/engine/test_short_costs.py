"""Short borrow fees charged per bar, the short Kelly fraction, and ml_signal's allow_short rule."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from bot.configure import parse_config
from bot.errors import ConfigError
from bot.risk.sizing import kelly_fraction, payoff_ratio, short_payoff
from strategies.base import BarView, Enter, Exit
from strategies.ml_signal import MlSignalParams, MlSignalStrategy
from tests.engine.test_shorts import COMM, ENTRY, FLAT, run


def test_a_short_pays_its_borrow_fee_on_every_bar_it_is_open_at_the_close():
    # Mon..Thu: no weekend bars, so 252 bars a year; the short is open at the closes of bars 1, 2 and 3 (the end)
    bars = [FLAT, [101, 103, 99, 97], [98, 99, 96, 95], [96, 97, 95, 96]]
    ledger = run(bars, [-1, 0, 0, 0], short_fee=0.1)
    fees = [50 * c * 0.1 / 252 for c in (97, 95, 96)]
    t = ledger.trades_frame().iloc[0]
    assert t.exit_reason == "end" and math.isclose(t.borrow, sum(fees), rel_tol=0, abs_tol=1e-12)
    assert math.isclose(t.pnl, (ENTRY - 96) * 50, abs_tol=1e-9)
    assert math.isclose(t.pnl_net, t.pnl - t.commission - sum(fees), abs_tol=1e-9)
    assert math.isclose(t.commission, 50 * (ENTRY + 96) * COMM, abs_tol=1e-9)
    eq = ledger.equity_frame()
    assert math.isclose(eq.equity.iloc[-1], 10_000 + t.pnl_net, abs_tol=1e-9)
    # each bar's mark already carries that bar's fee: equity = cash + short value (negative) at the close
    assert math.isclose(eq.cash.iloc[1], 10_000 + 50 * ENTRY * (1 - COMM) - fees[0], abs_tol=1e-9)


def test_longs_pay_no_borrow_fee():
    ledger = run([FLAT, [101, 103, 99, 97], [98, 99, 96, 95]], [2, 0, 0], short_fee=0.5)
    t = ledger.trades_frame().iloc[0]
    assert t.side == "long" and t.borrow == 0.0 and t.pnl_net == t.pnl - t.commission


def test_short_fee_must_not_be_negative():
    with pytest.raises(ConfigError) as e:
        parse_config({"name": "x", "data": {"symbols": ["A"]}, "broker": {"short_fee": -0.01}})
    assert str(e.value).startswith("broker.short_fee: ")
    assert e.value.where == "broker.short_fee"


def test_short_payoff_is_mean_loss_over_mean_win():
    close = pd.Series(np.exp(np.cumsum(np.random.default_rng(3).normal(0, 0.01, 300))))
    b = payoff_ratio(close, 1, 100).iloc[-1]
    r = close.pct_change().iloc[-100:]
    assert short_payoff(b) == pytest.approx(-r[r < 0].mean() / r[r > 0].mean(), rel=1e-12)
    assert math.isnan(short_payoff(float("nan"))) and math.isnan(short_payoff(0.0))


def _strategy(**params):
    risk = parse_config(
        {"name": "k", "data": {"symbols": ["A"]}, "risk": {"sizing": "kelly", "fraction": 0.5, "max_position": 0.25}}
    ).risk
    return MlSignalStrategy(MlSignalParams(entry_threshold=0.6, exit_threshold=0.55, **params), risk)


def _view(p, payoff=1.25, position=0.0):
    return BarView("A", pd.Timestamp("2024-01-02", tz="UTC"), 10.0, {"prob_up": p, "payoff": payoff}, position, False)


def test_kelly_short_uses_p_down_and_the_short_payoff():
    s = _strategy(allow_short=True)
    assert s.sells_short() and not _strategy().sells_short()
    intent = s.decide(_view(0.3))  # P(down) 0.7, short payoff 1 / 1.25 = 0.8: 0.7 - 0.3 / 0.8 = 0.325
    assert isinstance(intent, Enter) and intent.side == "short" and intent.prob == pytest.approx(0.7)
    assert intent.fraction == pytest.approx(0.5 * kelly_fraction(0.7, 0.8)) == pytest.approx(0.1625)
    assert s.decide(_view(0.3, payoff=4.0)) is None  # 0.7 - 0.3 x 4 < 0: no edge, no short
    assert s.decide(_view(0.41)) is None  # above 1 - entry_threshold
    assert _strategy().decide(_view(0.3)) is None  # long only by default


def test_ml_signal_buys_a_short_back_when_p_up_rises_above_one_minus_exit():
    s = _strategy(allow_short=True)
    assert s.decide(_view(0.44, position=-5)) is None  # below 1 - exit_threshold = 0.45: hold
    assert isinstance(s.decide(_view(0.46, position=-5)), Exit)
    assert isinstance(s.decide(_view(0.7, position=-5)), Exit)  # exits first; may go long on a later bar
    assert isinstance(s.decide(_view(0.5, position=5)), Exit)  # longs unchanged
