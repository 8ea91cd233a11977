"""Source text of users' plugin files that tests write outside the package (under tmp_path)."""

from __future__ import annotations

from pathlib import Path

MOMENTUM = '''
import numpy as np
import pandas as pd
from pydantic import Field

from strategies.base import BarView, Enter, Exit, Strategy, StrategyParams


class MomentumParams(StrategyParams):
    lookback: int = Field(default=10, ge=2)


class Momentum(Strategy):
    """Long after the lookback return turns positive, flat after it turns negative."""

    Params = MomentumParams
    signal_columns = ("momentum", "turn")

    def warmup_bars(self):
        return self.params.lookback + 2

    def compute_signals(self, bars, prob_up):
        mom = bars["close"].pct_change(self.params.lookback)
        turn = np.sign(mom).diff().fillna(0.0) / 2
        return pd.DataFrame({"momentum": mom, "turn": turn}, index=bars.index)

    def decide(self, view: BarView):
        if view.pending:
            return None
        if view.position == 0 and view.signals["turn"] > 0:
            return Enter(view.symbol, 0.2)
        if view.position > 0 and view.signals["turn"] < 0:
            return Exit(view.symbol)
        return None


class UsesModel(Momentum):
    uses_model = True


class NotAStrategy:
    pass


class Half(Strategy):
    Params = MomentumParams
    signal_columns = ("x",)

    def compute_signals(self, bars, prob_up):
        return pd.DataFrame({"x": 0.0}, index=bars.index)
'''

FEATURES_OK = """
from bot.features import Feature, feature


@feature("{prefix}_range", warmup=19, formula="(max(h, 20) - min(l, 20)) / c")
def range_20(bars):
    return (bars["high"].rolling(20).max() - bars["low"].rolling(20).min()) / bars["close"]


FEATURES = {{"{prefix}_ret2": Feature("{prefix}_ret2", lambda b: b["close"].pct_change(2), "c_t / c_(t-2) - 1", 2)}}
"""

FEATURES_LEAKY = """
from bot.features import feature


@feature("{prefix}_fine", warmup=1)
def fine(bars):
    return bars["close"].pct_change()


@feature("{prefix}_peek")
def peek(bars):
    return bars["close"].shift(-1) / bars["close"]
"""

FEATURES_CLASH = """
from bot.features import feature


@feature("rsi_14")
def mine(bars):
    return bars["close"]
"""


def write(folder: Path, name: str, text: str, **fmt: str) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / name
    path.write_text(text.format(**fmt) if fmt else text, encoding="utf-8")
    return path
