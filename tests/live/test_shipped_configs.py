"""The shipped live configs, unchanged (only the --set overrides run_live.py allows: URLs and
state_db), trade real bars from the shared data folder on the strict fakes: no order is
rejected and every open position is protected by exits resting at the venue (issue 11)."""

from __future__ import annotations

import threading
from pathlib import Path

import pandas as pd
import pytest

from bot.configure import load_config
from bot.live.connect import connect
from bot.live.journal import Journal
from bot.live.session import run_session, warmup_bars
from strategies import build_strategy
from tests.fakes.alpaca import FakeAlpaca
from tests.fakes.bars import load_bars
from tests.fakes.binance import FakeBinance

pytestmark = pytest.mark.slow  # ~85 s each on a shared 2-core machine (model training at start-up)
ROOT = Path(__file__).resolve().parents[2]
TRADED = 40  # bars traded after the warm-up


def _bars(paths: dict[str, str], rows: int) -> dict[str, pd.DataFrame]:
    frames = {s: load_bars(p) for s, p in paths.items()}
    if any(df is None for df in frames.values()):
        pytest.skip("shared market data not found (MARKET_DATA_DIR)")
    common = sorted(set.intersection(*(set(df.index) for df in frames.values())))[-rows:]
    return {s: df.loc[common] for s, df in frames.items()}


def _advancing(fake):
    def wait(seconds: float) -> bool:
        if fake.engine.remaining_bars() <= 0:
            return False
        fake.advance()
        return True

    return wait


def _run(config: str, sets: list[str], fake, env: dict[str, str], tmp_path):
    cfg = load_config(ROOT / config, [*sets, f"live.state_db=sqlite:///{tmp_path / 'j.db'}"])
    journal = Journal(cfg.live.state_db)
    stop = threading.Event()
    conn = connect(cfg, journal, stop, warmup_bars(cfg, build_strategy(cfg)), env=env)
    result = run_session(cfg, conn.venue, journal, wait=_advancing(fake), stop=stop)
    return cfg, journal, result


def _assert_clean(cfg, journal: Journal, fake, result) -> None:
    """No order was rejected; every position (above dust) has a sell exit resting at the venue."""
    assert result.bars > 0
    assert [(r.client_id, r.status) for r in journal.orders(["rejected"])] == []
    resting = {o.symbol.replace("/", "") for o in fake.orders() if o.is_open and o.side == "sell"}
    held = {
        s.replace("/", "")
        for s, q in result.positions.items()
        if q * fake.engine.last_price(fake_symbol(fake, s)) >= cfg.live.dust_value
    }
    assert held <= resting, f"positions without exits at the venue: {held - resting}"


def fake_symbol(fake, symbol: str) -> str:
    return symbol if symbol in fake.engine.instruments else symbol.replace("/", "")


def test_alpaca_paper_config_on_the_strict_fake(tmp_path) -> None:
    cfg = load_config(ROOT / "config/live/alpaca_paper.yaml")
    warm = cfg.validation.train + 40
    bars = _bars({s: f"equities/daily/{s}.csv" for s in cfg.data.symbols}, warm + TRADED)
    with FakeAlpaca(bars, timeframe="1Day", warmup=warm) as fake:
        url = fake.base_url
        env = {"ALPACA_API_KEY": fake.key, "ALPACA_SECRET_KEY": fake.secret}
        cfg, journal, result = _run(
            "config/live/alpaca_paper.yaml",
            [f"broker.alpaca.trading_url={url}", f"broker.alpaca.data_url={url}"],
            fake,
            env,
            tmp_path,
        )
        _assert_clean(cfg, journal, fake, result)
        brackets = [o for o in fake.orders() if o.order_class == "bracket" and o.parent is None]
        assert brackets  # the shipped config trades with stop-loss + take-profit brackets


def test_binance_testnet_config_on_the_strict_fake(tmp_path) -> None:
    cfg = load_config(ROOT / "config/live/binance_testnet.yaml")
    warm = cfg.validation.train + 40
    paths = {s: f"crypto/1h/{s.replace('/', '_')}.csv" for s in cfg.data.symbols}
    bars = _bars(paths, warm + TRADED)
    with FakeBinance(
        bars,
        interval="1h",
        warmup=warm,
        balances={"USDT": 10_000.0},
        fee=0.001,
        step=0.0001,
        tick=0.01,
        min_notional=5.0,
    ) as fake:
        env = {"CCXT_API_KEY": fake.key, "CCXT_SECRET": fake.secret}
        cfg, journal, result = _run(
            "config/live/binance_testnet.yaml", [f"broker.ccxt.api_url={fake.base_url}"], fake, env, tmp_path
        )
        _assert_clean(cfg, journal, fake, result)
        assert any(o.order_class == "oco" for o in fake.orders())  # exits armed as OCO lists
