"""The list-backed backtest feed gives Backtrader exactly what PandasData gave it: every line of
every bar, bit for bit (NaN signals, integer volumes, feeds starting and ending on other days)."""

from __future__ import annotations

import struct

import backtrader as bt
import numpy as np
import pandas as pd

from bot.engine.feeds import _TIMEFRAMES, make_feed

LINES = ("datetime", "open", "high", "low", "close", "volume", "openinterest", "prob_up", "payoff")


def frames(seed: int = 3) -> dict[str, tuple[pd.DataFrame, pd.DataFrame]]:
    rng = np.random.default_rng(seed)
    out = {}
    for sym, start, n in (("AAA", "2021-01-04", 60), ("BBB", "2021-02-01", 30), ("CCC", "2021-01-04", 45)):
        idx = pd.bdate_range(start, periods=n, tz="UTC") + pd.Timedelta(hours=21)
        close = 100 * np.exp(np.cumsum(rng.normal(0, 0.02, n)))
        bars = pd.DataFrame(
            {
                "open": close * (1 + rng.normal(0, 0.003, n)),
                "high": close * 1.01,
                "low": close * 0.99,
                "close": close,
                "volume": rng.integers(1_000, 9_000, n),
            },
            index=idx,
        )  # int64 volume
        prob = rng.uniform(0, 1, n)
        prob[: n // 3] = np.nan
        signals = pd.DataFrame({"prob_up": prob, "payoff": rng.uniform(0.5, 2, n)}, index=idx)
        out[sym] = (bars, signals)
    return out


def pandas_feed(sym: str, bars: pd.DataFrame, signals: pd.DataFrame) -> bt.feeds.PandasData:
    """The feed the engine used before: PandasData with one extra line per signal column."""
    cls = type(
        "OldSignalFeed",
        (bt.feeds.PandasData,),
        {"lines": tuple(signals.columns), "params": tuple((c, -1) for c in signals.columns)},
    )
    df = bars[["open", "high", "low", "close", "volume"]].join(signals)
    df.index = df.index.tz_convert("UTC").tz_localize(None)
    tf, comp = _TIMEFRAMES["d"]
    return cls(dataname=df, name=sym, openinterest=None, timeframe=tf, compression=comp)


class Record(bt.Strategy):
    def __init__(self):
        self.seen = []

    def prenext(self):
        self.next()

    def next(self):
        row = []
        for d in self.datas:
            bits = (struct.pack("<d", getattr(d.lines, n)[0]) if len(d) else b"" for n in LINES)
            row.append((d._name, len(d), *bits))
        self.seen.append(row)


def recorded(feeds, preload: bool) -> list:
    cerebro = bt.Cerebro(stdstats=False, preload=preload, runonce=preload)
    for f in feeds:
        cerebro.adddata(f, name=f._name)
    cerebro.addstrategy(Record)
    return cerebro.run(maxcpus=1)[0].seen


def test_the_list_feed_matches_pandas_data_bit_for_bit():
    data = frames()
    old = recorded([pandas_feed(s, b, g) for s, (b, g) in data.items()], preload=True)
    new = recorded([make_feed(s, b, g, "1d") for s, (b, g) in data.items()], preload=True)
    calendar = set().union(*(b.index for b, _ in data.values()))
    assert len(new) == len(calendar)  # one step per calendar bar
    assert new == old


def test_the_list_feed_matches_without_preload_too():
    data = frames(4)
    old = recorded([pandas_feed(s, b, g) for s, (b, g) in data.items()], preload=False)
    new = recorded([make_feed(s, b, g, "1d") for s, (b, g) in data.items()], preload=False)
    assert new == old
