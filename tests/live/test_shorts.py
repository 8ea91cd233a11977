"""Short selling live (issue 12): the backtest, the paper venue and the Alpaca fake fill one short
strategy's orders alike; a restart with a short open finds its exits; start-up refuses venues or
symbols that cannot short; the exit guard protects a bare short with a buy stop above.

The strategy (:class:`ShortAt`) enters short on given bars; the bars are flat at 100 except where
a take-profit (low 95) or a stop (high 105) must trade, so every price is known in advance.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
from collections import Counter

import numpy as np
import pandas as pd
import pytest
import yaml
from pydantic import SecretStr

from bot.configure import parse_config
from bot.data.schema import union_calendar
from bot.engine.simulate import simulate
from bot.errors import ConfigError, OrderRejectedError
from bot.live.connect import borrow_per_bar
from bot.live.journal import Journal
from bot.live.paper_venue import PaperVenue
from bot.live.replay import ReplayBars
from bot.live.report import write_journal_run
from bot.live.router import OrderRouter
from bot.live.session import run_session
from bot.orders import OrderRequest
from bot.venues.alpaca import AlpacaVenue
from bot.venues.ccxt_venue import CcxtVenue
from bot.venues.credentials import AlpacaCredentials, CcxtCredentials
from bot.venues.retry import RetryPolicy
from strategies.base import BarView, Enter, Exit, Intent, Strategy, StrategyParams
from tests.fakes.alpaca import FakeAlpaca
from tests.fakes.binance import FakeBinance
from tests.live.driver import ROOT, Driver

POLICY = RetryPolicy(attempts=3, base_delay=0.01, max_delay=0.05)
WARMUP = 6
N_BARS = 30
SYMBOL = "AAPL"
STOP, TAKE = 0.03, 0.04  # a short entered at 100: buy stop at 103, buy take-profit at 96


class ShortAtParams(StrategyParams):
    short_at: tuple[int, ...] = ()  # bar numbers (0 = the first bar) to enter short on
    exit_at: tuple[int, ...] = ()  # bar numbers to buy back on


class ShortAt(Strategy):
    """Enter short (30 % of equity) on the bars ``short_at``, buy back on ``exit_at``."""

    Params = ShortAtParams
    signal_columns = ("bar",)

    def sells_short(self) -> bool:
        return True

    def compute_signals(self, bars: pd.DataFrame, prob_up: pd.Series | None) -> pd.DataFrame:
        hours = (bars.index - pd.Timestamp("2024-03-01", tz="UTC")) / pd.Timedelta(1, "h")
        return pd.DataFrame({"bar": np.asarray(hours, dtype=float)}, index=bars.index)

    def decide(self, view: BarView) -> Intent | None:
        bar = int(view.signals["bar"])
        if view.pending:
            return None
        if view.position == 0 and bar in self.params.short_at:
            return Enter(view.symbol, 0.3, side="short")
        if view.position < 0 and bar in self.params.exit_at:
            return Exit(view.symbol)
        return None


def scenario_bars() -> pd.DataFrame:
    """Flat at 100; bar 12 dips to 95 (a short's take-profit at 96 trades), bar 20 spikes to 105
    (a short's stop at 103 trades)."""
    index = pd.date_range("2024-03-01", periods=N_BARS, freq="1h", tz="UTC", name="timestamp")
    df = pd.DataFrame({"open": 100.0, "high": 100.5, "low": 99.5, "close": 100.0, "volume": 1_000.0}, index=index)
    df.loc[index[12], "low"] = 95.0
    df.loc[index[20], "high"] = 105.0
    return df


def config(tmp_path, kind: str, **broker):
    return parse_config(
        dict(
            name=f"short-{kind}",
            seed=3,
            data=dict(source="sample", symbols=[SYMBOL], timeframe="1h"),
            broker=dict(kind=kind, cash=100_000, **broker),
            risk=dict(sizing="fixed_fraction", fraction=0.3, max_position=0.5, stop_loss=STOP, take_profit=TAKE),
            live=dict(state_db=f"sqlite:///{tmp_path / f'{kind}.db'}", poll_seconds=0, warmup_bars=WARMUP),
        )
    )


def strategy(cfg, **params) -> ShortAt:
    return ShortAt(ShortAt.Params(**params), cfg.risk)


def backtest(cfg, bars: pd.DataFrame, strat: ShortAt):
    return simulate(cfg, {SYMBOL: bars}, {SYMBOL: strat.compute_signals(bars, None)}, strat, fractional=False)


def backtest_orders(cfg, bars: pd.DataFrame, strat: ShortAt) -> pd.DataFrame:
    return backtest(cfg, bars, strat)[0].orders_frame()


def alpaca_venue(fake: FakeAlpaca) -> AlpacaVenue:
    return AlpacaVenue(
        AlpacaCredentials(key_id=SecretStr(fake.key), secret_key=SecretStr(fake.secret)),
        trading_url=fake.base_url,
        data_url=fake.base_url,
        timeout=10,
        retry=POLICY,
    )


def advancing(fake: FakeAlpaca, stop_after: int | None = None):
    left = {"n": stop_after}

    def wait(seconds: float) -> bool:
        if fake.engine.remaining_bars() <= 0 or left["n"] == 0:
            return False
        if left["n"] is not None:
            left["n"] -= 1
        fake.advance()
        return True

    return wait


def same_orders(live: pd.DataFrame, backtest: pd.DataFrame) -> None:
    b = backtest[backtest["created"] >= live["created"].min()].reset_index(drop=True)
    cols = ["order_id", "created", "symbol", "side", "type", "status", "fill_time", "reason"]
    pd.testing.assert_frame_equal(live[cols].reset_index(drop=True), b[cols])
    for col in ("size", "fill_price", "commission"):
        np.testing.assert_allclose(
            live[col].fillna(-1).to_numpy(float), b[col].fillna(-1).to_numpy(float), rtol=1e-9, err_msg=col
        )


def expect_three_short_trades(orders: pd.DataFrame) -> None:
    filled = orders[orders["status"] == "filled"]
    assert list(filled["side"]) == ["sell", "buy"] * 3
    assert list(filled["reason"]) == ["entry", "take_profit", "entry", "stop_loss", "entry", "signal"]


# entries at the open of bars 9, 17 and 24 (100); exits on bar 12 (take-profit), bar 20 (stop) and at the open
# of bar 27 (the strategy buys back: the resting buy exits are cancelled first)
PARAMS = dict(short_at=(8, 16, 23), exit_at=(26,))
SIDES = ["sell", "buy"] * 3


@pytest.mark.parametrize("short_fee", [0.0, 2.0])
def test_a_short_fills_alike_in_the_backtest_and_the_paper_venue(tmp_path, short_fee) -> None:
    cfg = config(tmp_path, "paper", commission=0.001, slippage=0.0005, short_fee=short_fee)
    bars = scenario_bars()
    source = ReplayBars({SYMBOL: bars}, "1h", warmup=WARMUP)
    journal = Journal(cfg.live.state_db)
    venue = PaperVenue(
        source,
        [SYMBOL],
        "1h",
        cash=100_000.0,
        commission=0.001,
        slippage=0.0005,
        journal=journal,
        shorts=True,
        borrow_per_bar=borrow_per_bar(cfg, union_calendar({SYMBOL: bars})),
    )
    live = run_session(
        cfg, venue, journal, wait=lambda s: source.advance(), stop=threading.Event(), strategy=strategy(cfg, **PARAMS)
    )
    lo = live.ledger.orders_frame()
    expect_three_short_trades(lo)
    bt_ledger, _ = backtest(cfg, bars, strategy(cfg, **PARAMS))
    same_orders(lo, bt_ledger.orders_frame())
    tp = lo[lo["reason"] == "take_profit"]["fill_price"].iloc[0]
    assert tp == pytest.approx(96.0)  # a buy limit below: the low reached it
    assert live.positions == {} and journal.last_positions() == {}
    lt, bt_trades = live.ledger.trades_frame(), bt_ledger.trades_frame()
    np.testing.assert_allclose(lt["borrow"], bt_trades["borrow"], rtol=1e-9)  # the paper venue's borrow fee ...
    np.testing.assert_allclose(lt["pnl_net"], bt_trades["pnl_net"], rtol=1e-9)
    assert (lt["borrow"] > 0).all() == (short_fee > 0)
    assert live.equity == pytest.approx(bt_ledger.equity[-1][1], rel=1e-12)  # ... taken from cash as in the backtest
    # the journal's run folder marks the short's gross exposure as the backtest does, and its trades are short
    folder = write_journal_run(cfg, journal, tmp_path / "report")
    rep = pd.read_csv(folder / "equity.csv", parse_dates=["timestamp"]).set_index("timestamp")["exposure"]
    bt_eq = bt_ledger.equity_frame().set_index("timestamp")["exposure"]
    bt_eq.index = pd.DatetimeIndex(bt_eq.index)
    assert (rep > 0).any()
    np.testing.assert_allclose(rep.to_numpy(), bt_eq.reindex(rep.index).to_numpy(), rtol=1e-9, atol=1e-12)
    assert set(pd.read_csv(folder / "trades.csv")["side"]) == {"short"}


def test_a_short_fills_alike_in_the_backtest_and_the_alpaca_fake(tmp_path) -> None:
    cfg = config(tmp_path, "alpaca", commission=0.0, slippage=0.0)
    bars = scenario_bars()
    with FakeAlpaca({SYMBOL: bars}, timeframe="1Hour", warmup=WARMUP, cash=100_000) as fake:
        journal = Journal(cfg.live.state_db)
        live = run_session(
            cfg,
            alpaca_venue(fake),
            journal,
            wait=advancing(fake),
            stop=threading.Event(),
            strategy=strategy(cfg, **PARAMS),
        )
        posted = [o.client_order_id for o in fake.orders()]
        fills = fake.fills()
    lo = live.ledger.orders_frame()
    expect_three_short_trades(lo)
    same_orders(lo, backtest_orders(cfg, bars, strategy(cfg, **PARAMS)))
    assert [f.side for f in fills] == SIDES
    assert [f.price for f in fills] == pytest.approx([100.0, 96.0, 100.0, 103.0, 100.0, 100.0])
    entries = lo[lo["reason"] == "entry"]["order_id"]
    assert all(posted.count(cid) == 1 for cid in entries)
    assert live.positions == {}


def test_a_restart_with_a_short_open_finds_its_exits_and_doubles_nothing(tmp_path) -> None:
    cfg = config(tmp_path, "alpaca", commission=0.0, slippage=0.0)
    bars = scenario_bars()
    with FakeAlpaca({SYMBOL: bars}, timeframe="1Hour", warmup=WARMUP, cash=100_000) as fake:
        journal = Journal(cfg.live.state_db)
        first = run_session(
            cfg,
            alpaca_venue(fake),
            journal,
            wait=advancing(fake, stop_after=4),
            stop=threading.Event(),
            strategy=strategy(cfg, **PARAMS),
        )
        qty = first.positions[SYMBOL]
        assert qty < 0  # stopped with a short open ...
        resting = [o for o in fake.orders() if o.is_open and o.side == "buy"]
        assert sorted(o.type for o in resting) == ["limit", "stop"]  # ... and its exits resting
        assert sorted(o.limit_price or o.stop_price for o in resting) == [96.0, 103.0]
        second = run_session(
            cfg,
            alpaca_venue(fake),
            journal,
            wait=advancing(fake),
            stop=threading.Event(),
            strategy=strategy(cfg, **PARAMS),
        )
        orders = fake.orders()
        fills = fake.fills()
    assert second.reconcile.positions == {SYMBOL: qty}
    assert second.reconcile.rearmed == []  # the exits were found at the venue, not placed again
    ids = [o.client_order_id for o in orders]
    assert len(ids) == len(set(ids))  # nothing placed twice
    assert not any("-fs" in cid or "-fl" in cid for cid in ids)  # no fallback stop: the exits were there
    assert [f.side for f in fills] == SIDES
    assert second.positions == {} and journal.last_positions() == {}
    net = sum(f.qty if f.side == "buy" else -f.qty for f in journal.fills())
    assert net == 0 and len(journal.fills()) == len(fills)
    assert [s["status"] for s in journal.sessions()] == ["ended", "ended"]


def test_the_exit_guard_protects_a_bare_short_with_a_buy_stop_above(tmp_path) -> None:
    bars = scenario_bars()
    with FakeAlpaca({SYMBOL: bars}, timeframe="1Hour", warmup=WARMUP, cash=100_000) as fake:
        venue = alpaca_venue(fake)
        journal = Journal(f"sqlite:///{tmp_path / 'guard.db'}")
        router = OrderRouter(venue, journal, on_exit_rejected="stop_only", cancel_wait=0.0)
        router.send(OrderRequest("mp-s1", SYMBOL, "sell", 100, take_profit=96.0, stop_loss=103.0))
        fake.advance()
        router.poll()
        held = venue.positions()
        assert held == {SYMBOL: -100.0}
        assert router.holding_entry(SYMBOL, -100.0).client_id == "mp-s1"
        assert router.guard_exits(held) == [] and router.guard_exits(held) == []  # covered by its buy exits
        router.cancel_exits(SYMBOL, "buy")  # ... cancelled for a buy-back that never went out
        assert router.guard_exits(held) == []  # one check of grace
        assert router.guard_exits(held, busy={SYMBOL}) == []  # a buy-back of the strategy is on its way
        assert router.guard_exits(held) == []
        assert router.guard_exits(held) == [SYMBOL]
        [stop] = [o for o in venue.open_orders() if o.client_order_id == "mp-s1-fs1"]
        assert (stop.side, stop.qty, stop.stop_price) == ("buy", 100.0, 103.0)
        assert router.guard_exits(held) == [] and router.guard_exits(held) == []  # placed once
        fake.advance(14)  # bar 20 spikes to 105: the stop buys the short back
        router.poll()
        assert venue.positions() == {}


def test_alpaca_refuses_a_non_shortable_symbol_at_start_up(tmp_path) -> None:
    bars = {SYMBOL: scenario_bars(), "HTB": scenario_bars()}
    with FakeAlpaca(
        bars, timeframe="1Hour", warmup=WARMUP, assets={"HTB": {"shortable": True, "easy_to_borrow": False}}
    ) as fake:
        venue = alpaca_venue(fake)
        venue.check_tradable([SYMBOL], stop_loss=True, take_profit=True, fractional=False, shorts=True)
        venue.check_tradable(["HTB"], stop_loss=True, take_profit=True, fractional=False)  # long only: fine
        with pytest.raises(ConfigError) as err:
            venue.check_tradable([SYMBOL, "HTB"], stop_loss=True, take_profit=True, fractional=False, shorts=True)
        assert err.value.where == "data.symbols" and "HTB cannot be sold short" in err.value.what
        with pytest.raises(ConfigError) as err:
            venue.check_tradable([SYMBOL], stop_loss=True, take_profit=True, fractional=True, shorts=True)
        assert err.value.where == "broker.fractional"


def test_the_alpaca_fake_refuses_the_short_sales_alpaca_refuses(tmp_path) -> None:
    bars = {SYMBOL: scenario_bars(), "HTB": scenario_bars()}
    with FakeAlpaca(
        bars, timeframe="1Hour", warmup=WARMUP, assets={"HTB": {"shortable": False, "easy_to_borrow": False}}
    ) as fake:
        venue = alpaca_venue(fake)
        cases = {
            "asset HTB cannot be sold short": OrderRequest("r1", "HTB", "sell", 10),
            "fractional orders cannot be sold short": OrderRequest("r2", SYMBOL, "sell", 1.5),
            "take_profit.limit_price must be <= base_price - 0.01": OrderRequest(
                "r3", SYMBOL, "sell", 10, take_profit=101.0, stop_loss=103.0
            ),
            "stop_loss.stop_price must be >= base_price + 0.01": OrderRequest(
                "r4", SYMBOL, "sell", 10, take_profit=96.0, stop_loss=99.0
            ),
            "stop_loss.stop_price must be <= base_price - 0.01": OrderRequest(
                "r5", SYMBOL, "buy", 10, take_profit=104.0, stop_loss=100.0
            ),
        }
        for message, req in cases.items():
            with pytest.raises(OrderRejectedError, match=message.replace(".", r"\.").replace("+", r"\+")):
                venue.submit_order(req)
        venue.submit_order(OrderRequest("ok", SYMBOL, "sell", 10, take_profit=96.0, stop_loss=103.0))
        fake.advance()
        assert venue.positions() == {SYMBOL: -10.0}
        pos = fake._position_json(SYMBOL)
        assert (pos["qty"], pos["side"]) == ("-10", "short")


# ---- start-up refusals through run_live.py: one line, exit 2 -------------------------------------
def run_live(tmp_path, raw: dict, env: dict) -> subprocess.CompletedProcess:
    path = tmp_path / "short.yaml"
    path.write_text(yaml.safe_dump(raw))
    base = {k: v for k, v in os.environ.items() if not k.startswith(("ALPACA_", "CCXT_"))}
    return subprocess.run(
        [sys.executable, "run_live.py", "--config", str(path)],
        cwd=ROOT,
        env={**base, **env},
        capture_output=True,
        text=True,
        timeout=120,
    )


def short_config(tmp_path, symbols: list[str], broker: dict) -> dict:
    return dict(
        name="short-cli",
        seed=1,
        data=dict(source="sample", symbols=symbols, timeframe="1h"),
        strategy=dict(name="ml_signal", params=dict(allow_short=True)),
        broker=dict(cash=100_000, commission=0.0, slippage=0.0, **broker),
        risk=dict(sizing="fixed_fraction", fraction=0.3, max_position=0.4, stop_loss=0.02, take_profit=0.03),
        live=dict(state_db=f"sqlite:///{tmp_path / 'journal.db'}", poll_seconds=0.05, warmup_bars=WARMUP),
    )


def test_run_live_refuses_a_symbol_alpaca_cannot_short(tmp_path) -> None:
    bars = {SYMBOL: scenario_bars(), "HTB": scenario_bars()}
    with FakeAlpaca(
        bars, timeframe="1Hour", warmup=WARMUP, assets={"HTB": {"shortable": False, "easy_to_borrow": False}}
    ) as fake:
        raw = short_config(
            tmp_path,
            [SYMBOL, "HTB"],
            dict(kind="alpaca", alpaca=dict(paper=True, trading_url=fake.base_url, data_url=fake.base_url)),
        )
        r = run_live(tmp_path, raw, dict(ALPACA_API_KEY=fake.key, ALPACA_SECRET_KEY=fake.secret))
        posted = fake.requests("POST", "/v2/orders")
    assert r.returncode == 2, r.stderr[-2000:]
    assert r.stderr.strip().splitlines() == [
        "config error: data.symbols: HTB cannot be sold short at alpaca (asset shortable=false, "
        "easy_to_borrow=false) and the strategy sells short"
    ]
    assert posted == []


def test_run_live_refuses_a_short_strategy_on_a_ccxt_spot_market(tmp_path) -> None:
    with FakeBinance({"BTC/USDT": scenario_bars()}, interval="1h", warmup=WARMUP, balances={"USDT": 100_000.0}) as fake:
        raw = short_config(
            tmp_path,
            ["BTC/USDT"],
            dict(kind="ccxt", ccxt=dict(exchange="binance", sandbox=False, api_url=fake.base_url)),
        )
        raw["risk"].pop("take_profit")  # one exit: no OCO question, only the short one
        r = run_live(tmp_path, raw, dict(CCXT_API_KEY=fake.key, CCXT_SECRET=fake.secret))
    assert r.returncode == 2, r.stderr[-2000:]
    [line] = r.stderr.strip().splitlines()
    assert line.startswith(
        "config error: strategy.name: the strategy sells short, but BTC/USDT is a spot "
        "market at binance (market info spot=true, margin="
    )
    assert "Traceback" not in r.stderr


def test_ccxt_refuses_shorts_on_a_spot_market_from_its_market_info() -> None:
    with FakeBinance({"BTC/USDT": scenario_bars()}, interval="1h", warmup=WARMUP, balances={"USDT": 100_000.0}) as fake:
        venue = CcxtVenue(
            "binance",
            CcxtCredentials(api_key=SecretStr(fake.key), secret=SecretStr(fake.secret)),
            symbols=["BTC/USDT"],
            api_url=fake.base_url,
            timeout=10,
            retry=POLICY,
            enable_rate_limit=False,
        )
        venue.check_tradable(["BTC/USDT"], stop_loss=True, take_profit=False, fractional=True)  # long only: fine
        with pytest.raises(ConfigError) as err:
            venue.check_tradable(["BTC/USDT"], stop_loss=True, take_profit=False, fractional=True, shorts=True)
    assert err.value.where == "strategy.name" and "spot=true, margin=false" in err.value.what


def test_sigkill_with_a_short_and_its_exits_open_then_restart(tmp_path) -> None:
    """tests/live/short_session.py (a process) is SIGKILLed once its short has filled and the buy exits
    rest at the venue; the restarted process finds the short and its exits, places nothing twice, and
    the exits and the strategy's buy-back close every short."""
    bars = scenario_bars()
    cfg = config(tmp_path, "alpaca", commission=0.0, slippage=0.0).model_dump(mode="json")
    with FakeAlpaca({SYMBOL: bars}, timeframe="1Hour", warmup=WARMUP, cash=100_000) as fake:
        cfg["strategy"] = dict(name="sma_cross", params={})  # replaced by ShortAt in short_session.py
        cfg["broker"]["alpaca"] = dict(paper=True, trading_url=fake.base_url, data_url=fake.base_url)
        cfg["live"]["poll_seconds"] = 0.05
        path = tmp_path / "short.yaml"
        path.write_text(yaml.safe_dump(cfg))
        journal = Journal(cfg["live"]["state_db"])
        driver = Driver(fake, path, journal)
        cmd = [sys.executable, "-m", "tests.live.short_session", str(path)]

        def start() -> subprocess.Popen:
            driver.session = len(journal.sessions()) + 1
            return subprocess.Popen(
                cmd, cwd=ROOT, env=driver.env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
            )

        def short_resting() -> bool:
            return fake.engine.position(SYMBOL) < 0 and sum(o.is_open and o.side == "buy" for o in fake.orders()) == 2

        first = start()
        driver.drive(first, short_resting)
        assert first.poll() is None, first.communicate()[1][-2000:]
        first.send_signal(signal.SIGKILL)
        first.wait(10)
        fake.wait_idle(10)
        second = start()
        driver.drive(second, lambda: fake.engine.remaining_bars() == 0 and driver.finished() == driver.latest_bar())
        second.send_signal(signal.SIGTERM)
        out, err = second.communicate(timeout=30)
        posts = Counter(json.loads(r.body).get("client_order_id") for r in fake.requests("POST", "/v2/orders"))
        orders, fills = fake.orders(), fake.fills()
    assert second.returncode == 0, err[-3000:]
    assert max(posts.values()) == 1 and len(posts) == 4  # three entries and one buy-back: the kill doubled none
    assert not any("-fs" in o.client_order_id for o in orders)  # the restart found the short's exits
    assert [f.side for f in fills] == SIDES and fake.engine.position(SYMBOL) == 0
    assert len(journal.fills()) == len(fills) and journal.last_positions() == {}
    assert [s["status"] for s in journal.sessions()] == ["crashed", "stopped"]


def test_the_paper_venue_shorts_only_for_a_strategy_that_sells_short() -> None:
    def paper(shorts: bool) -> tuple[PaperVenue, ReplayBars]:
        source = ReplayBars({SYMBOL: scenario_bars()}, "1h", warmup=WARMUP)
        return PaperVenue(source, [SYMBOL], "1h", cash=10_000.0, commission=0.0, slippage=0.0, shorts=shorts), source

    long_only, _ = paper(False)
    with pytest.raises(OrderRejectedError, match="cannot sell 10"):
        long_only.submit_order(OrderRequest("s1", SYMBOL, "sell", 10))
    venue, source = paper(True)
    venue.submit_order(OrderRequest("s1", SYMBOL, "sell", 10))
    source.advance()
    venue.sync()
    assert venue.positions() == {SYMBOL: -10.0}
    assert (venue.account().cash, venue.account().equity) == (11_000.0, 10_000.0)  # proceeds in cash
    with pytest.raises(OrderRejectedError, match="would turn the short of 10 long"):
        venue.submit_order(OrderRequest("b1", SYMBOL, "buy", 20))
    venue.submit_order(OrderRequest("b2", SYMBOL, "buy", 10))
    source.advance()
    venue.sync()
    assert venue.positions() == {} and venue.account().cash == 10_000.0
