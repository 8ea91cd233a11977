"""The rebalancing engine, checked by hand with a tiny PortfolioStrategy of fixed target weights."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from bot.configure import parse_config
from bot.engine.simulate import simulate
from bot.rebalance import PlannedTrade, fit_buys, plan_trades, rebalance_due
from strategies.base import PortfolioParams, PortfolioStrategy, PortfolioView, cap_gross

DAYS = pd.date_range("2020-01-06", periods=8, freq="B", tz="UTC")


class Fixed(PortfolioStrategy):
    """Target weights by calendar step (the last given one applies until the next)."""

    Params = PortfolioParams
    signal_columns = ("x",)

    def __init__(self, params, risk, schedule: dict[int, dict[str, float]]):
        super().__init__(params, risk)
        self.schedule = schedule
        self.views: list[PortfolioView] = []

    def compute_signals(self, bars, prob):
        return pd.DataFrame({"x": np.arange(len(bars), dtype=float)}, index=bars.index)

    def target_weights(self, view):
        self.views.append(view)
        step = DAYS.get_loc(view.timestamp)
        return dict(self.schedule[max(k for k in self.schedule if k <= step)])

    def sells_short(self):
        return True


def _bars(opens, closes) -> pd.DataFrame:
    o, c = np.asarray(opens, float), np.asarray(closes, float)
    return pd.DataFrame(
        {"open": o, "high": np.maximum(o, c) + 1, "low": np.minimum(o, c) - 1, "close": c, "volume": 1e6},
        index=DAYS[: len(o)],
    )


BARS = {
    "AAA": _bars([100, 102, 104, 106, 108, 110, 112, 114], [100, 103, 105, 107, 109, 111, 113, 115]),
    "BBB": _bars([50, 49, 48, 47, 46, 45, 44, 43], [50, 48.5, 47.5, 46.5, 45.5, 44.5, 43.5, 42.5]),
}


def _run(
    schedule, every=3, min_trade=0.0, max_gross=1.0, commission=0.001, slippage=0.01, bars=BARS, short_fee=0.0, **risk
):
    cfg = parse_config(
        {
            "name": "pf-test",
            "data": {"source": "sample", "symbols": list(bars)},
            "strategy": {"name": "sma_cross"},
            "broker": {"cash": 100_000, "commission": commission, "slippage": slippage, "short_fee": short_fee},
            "risk": {"sizing": "fixed_fraction", "max_gross": max_gross, **risk},
        }
    )
    strat = Fixed(PortfolioParams(rebalance_every=every, min_trade=min_trade), cfg.risk, schedule)
    signals = {s: strat.compute_signals(df, None) for s, df in bars.items()}
    ledger, _ = simulate(cfg, bars, signals, strat, fractional=False)
    return ledger, strat


def test_exact_sizes_fill_at_next_open_with_slippage_and_commission_sells_first():
    ledger, strat = _run({0: {"AAA": 0.5, "BBB": -0.25}}, every=100)
    orders = ledger.orders_frame()
    assert list(orders["symbol"]) == ["BBB", "AAA"]  # the short sale is sent before the buy
    bbb, aaa = orders.iloc[0], orders.iloc[1]
    assert (bbb["side"], bbb["size"], aaa["side"], aaa["size"]) == ("sell", 500.0, "buy", 500.0)
    assert bbb["created"] == DAYS[0] and bbb["fill_time"] == DAYS[1] and bbb["reason"] == "rebalance"
    assert aaa["fill_price"] == pytest.approx(102 * 1.01)
    assert bbb["fill_price"] == pytest.approx(49 * 0.99)
    assert aaa["commission"] == pytest.approx(500 * 102 * 1.01 * 0.001)
    assert bbb["commission"] == pytest.approx(500 * 49 * 0.99 * 0.001)
    assert strat.views[0].position == {"AAA": 0.0, "BBB": 0.0} and strat.views[0].equity == 100_000
    # equity = cash + long value - short liability, marked at each close
    eq = ledger.equity_frame()
    cash = 100_000 - aaa["fill_price"] * 500 - aaa["commission"] + bbb["fill_price"] * 500 - bbb["commission"]
    assert eq["cash"].iloc[1] == pytest.approx(cash)
    assert eq["equity"].iloc[1] == pytest.approx(cash + 500 * 103 - 500 * 48.5)


def test_end_marks_close_long_and_short_at_the_last_close_paying_commission():
    ledger, _ = _run({0: {"AAA": 0.5, "BBB": -0.25}}, every=100)
    trades = ledger.trades_frame().set_index("symbol")
    assert set(trades["exit_reason"]) == {"end"}
    assert trades.loc["AAA", "side"] == "long" and trades.loc["BBB", "side"] == "short"
    assert trades.loc["AAA", "exit_price"] == 115 and trades.loc["BBB", "exit_price"] == 42.5
    assert trades.loc["BBB", "pnl"] == pytest.approx((49 * 0.99 - 42.5) * 500)
    end_comm = 500 * 115 * 0.001 + 500 * 42.5 * 0.001
    eq = ledger.equity_frame()
    assert eq["equity"].iloc[-1] == pytest.approx(eq["cash"].iloc[-1] + 500 * 115 - 500 * 42.5 - end_comm)


def test_rebalance_every_n_bars_from_the_first_bar_reduces_before_it_adds():
    ledger, strat = _run({0: {"AAA": 0.5, "BBB": -0.25}, 3: {"AAA": -0.2, "BBB": 0.3}}, every=3)
    assert [v.timestamp for v in strat.views] == [DAYS[0], DAYS[3], DAYS[6]]
    orders = ledger.orders_frame()
    second = orders[orders["created"] == DAYS[3]]
    # each flip is two orders, as venues take them: both closes first, then the short sale, then the buy
    assert list(second["symbol"]) == ["AAA", "BBB", "AAA", "BBB"]
    assert list(second["side"]) == ["sell", "buy", "sell", "buy"]
    assert second["order_id"].is_unique and set(second["reason"]) == {"rebalance"}
    equity = ledger.equity_frame()["equity"].iloc[3]
    assert list(second["size"]) == [500, 500, int(0.2 * equity / 107), int(0.3 * equity / 46.5)]
    # the flip closed the long's trade and opened a short
    trades = ledger.trades_frame()
    aaa = trades[trades["symbol"] == "AAA"]
    assert list(aaa["side"])[:2] == ["long", "short"] and aaa.iloc[0]["exit_reason"] == "rebalance"
    assert aaa.iloc[0]["size"] == 500 and aaa.iloc[0]["exit_time"] == DAYS[4]


def test_trades_below_min_trade_are_skipped():
    ledger, _ = _run({0: {"AAA": 0.5, "BBB": -0.25}, 3: {"AAA": 0.52, "BBB": -0.1}}, every=3, min_trade=0.05)
    second = ledger.orders_frame().query("created == @DAYS[3]")
    assert list(second["symbol"]) == ["BBB"]  # AAA's ~2 % change is skipped, BBB's 15 % is traded
    assert second.iloc[0]["side"] == "buy"


def test_gross_exposure_is_scaled_down_to_max_gross():
    assert cap_gross({"A": 1.5, "B": -1.5}, 1.0) == {"A": 0.5, "B": -0.5}
    assert cap_gross({"A": 0.3, "B": -0.2}, 1.0) == {"A": 0.3, "B": -0.2}
    ledger, _ = _run({0: {"AAA": 1.5, "BBB": -1.5}}, every=100, max_gross=1.0)
    sizes = ledger.orders_frame().set_index("symbol")["size"]
    assert sizes["AAA"] == 500 and sizes["BBB"] == 1000


def test_kill_switch_halts_rebalancing():
    bars = {"AAA": _bars([100, 100, 60, 60, 60, 60, 60, 60], [100, 100, 60, 60, 60, 60, 60, 60]), "BBB": BARS["BBB"]}
    ledger, strat = _run({0: {"AAA": 0.9}}, every=3, bars=bars, slippage=0.0, max_drawdown_halt=0.2)
    assert [v.timestamp for v in strat.views] == [DAYS[0]]  # halted from the 40 % drop on


def test_plan_orders_phases_and_cash_fit():
    trades = plan_trades(
        {"A": 0.5, "B": -0.5}, {"A": -10.0, "C": 20.0}, {"A": 10.0, "B": 10.0, "C": 10.0}, 1000.0, False, 0.0
    )
    # A flips from short to long: cover first (phase 0), buy last (phase 2), its own order id kind
    assert [(t.symbol, t.delta) for t in trades] == [("A", 10.0), ("C", -20.0), ("B", -50.0), ("A", 50.0)]
    assert [t.kind for t in trades] == ["rebalance"] * 3 + ["rebalance_flip"]
    assert rebalance_due(0, 0, 5) and rebalance_due(5, 0, 5) and not rebalance_due(4, 0, 5)
    assert not rebalance_due(1, 2, 1) and rebalance_due(2, 2, 1)
    buys = fit_buys([PlannedTrade("A", 100.0, 0.0, 10.0)], 500.0, 0.0, 0.0, False)
    assert buys[0].delta == 49  # 500 / (1 + 0.02 gap buffer) / 10, whole shares


def test_a_portfolio_short_pays_broker_short_fee_per_bar_like_the_single_symbol_engine():
    from bot.ml.summary import bars_per_year

    free, _ = _run({0: {"BBB": -0.25}}, every=100)
    ledger, _ = _run({0: {"BBB": -0.25}}, every=100, short_fee=0.05)
    rate = 0.05 / bars_per_year(DAYS)
    closes = BARS["BBB"]["close"].to_numpy()[1:]  # held from the open of bar 1: charged at closes 1..7
    fee = float(np.sum(500 * closes * rate))
    (t,) = ledger.trades
    assert t["borrow"] == pytest.approx(fee)
    eq, eq_free = ledger.equity_frame(), free.equity_frame()
    assert eq["equity"].iloc[-1] == pytest.approx(eq_free["equity"].iloc[-1] - fee)
