"""A changed future must not change the past: alter every bar from T on and compare the files before T."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from bot.backtest import run_backtest, write_run
from bot.data.loading import load_data
from tests.backtest.helpers import small_ml_config


def _alter_after(bars: dict[str, pd.DataFrame], t: pd.Timestamp, seed: int) -> dict[str, pd.DataFrame]:
    """Return bars whose rows at or after ``t`` follow a different random path (OHLC stays consistent)."""
    rng = np.random.default_rng(seed)
    out = {}
    for sym, df in bars.items():
        df = df.copy()
        after = df.index >= t
        n = int(after.sum())
        shock = np.exp(np.cumsum(rng.normal(0.002, 0.03, n)))
        for col in ("open", "high", "low", "close"):
            df.loc[after, col] = df.loc[after, col].to_numpy() * shock
        df.loc[after, "volume"] = df.loc[after, "volume"].to_numpy() * rng.uniform(0.5, 2.0, n)
        out[sym] = df
    return out


def _lines_before(text: str, column: str, t: str, also: str | None = None) -> list[str]:
    df = pd.read_csv(pd.io.common.StringIO(text), dtype=str, keep_default_na=False)
    keep = df[column] < t
    if also:
        keep &= (df[also] != "") & (df[also] < t)
    return df[keep].to_csv(index=False).splitlines()


# Every model type (few trees, to stay fast); then the triple-barrier label with two horizons, and shorts.
LOOKAHEAD_CASES = {
    "xgboost": dict(model__params="{n_estimators: 30}"),
    "logistic": dict(model__params="{}"),
    "random_forest": dict(model__params="{n_estimators: 30}"),
    "hist_gb": dict(model__params="{max_iter: 30}"),
    "ensemble": dict(
        model__params="{members: {xgboost: 2, random_forest: 1, hist_gb: 1}, xgboost: {n_estimators: 20},"
        " random_forest: {n_estimators: 20}, hist_gb: {max_iter: 20}}"
    ),
    "stacking": dict(model__params="{members: [xgboost, logistic], xgboost: {n_estimators: 20}}"),
    "xgboost-triple_barrier-h1,5": dict(
        model__params="{n_estimators: 30}", model__label="triple_barrier", model__horizon="[1, 5]"
    ),
    # ml_signal long and short, with a borrow fee on the shorts
    "xgboost-allow_short": dict(
        model__params="{n_estimators: 30}",
        broker__short_fee="0.05",
        strategy__params="{entry_threshold: 0.51, allow_short: true}",
    ),
}


@pytest.mark.parametrize("model", list(LOOKAHEAD_CASES))
def test_altering_bars_after_t_leaves_everything_before_t_identical(tmp_path, model):
    cfg = small_ml_config(
        model__type=model.split("-")[0], **LOOKAHEAD_CASES[model], risk__trailing_stop="0.04", risk__stop_loss="null"
    )
    bars, _ = load_data(cfg)
    t = pd.Timestamp("2016-09-01", tz="UTC")
    runs = []
    for i, b in enumerate((bars, _alter_after(bars, t, seed=1))):
        res = run_backtest(cfg, bars=b)
        runs.append(write_run(res, tmp_path / f"run{i}"))
    a, b = runs
    t_str = "2016-09-01"
    texts = [{n: (r / n).read_text() for n in ("signals.csv", "orders.csv", "trades.csv", "equity.csv")} for r in runs]
    ta, tb = texts
    sig_a = _lines_before(ta["signals.csv"], "timestamp", t_str)
    assert len(sig_a) > 100, "the test needs signals before T to mean anything"
    assert sig_a == _lines_before(tb["signals.csv"], "timestamp", t_str)
    eq_a = _lines_before(ta["equity.csv"], "timestamp", t_str)
    assert eq_a == _lines_before(tb["equity.csv"], "timestamp", t_str)
    tr_a = _lines_before(ta["trades.csv"], "exit_time", t_str)
    assert len(tr_a) > 3
    assert tr_a == _lines_before(tb["trades.csv"], "exit_time", t_str)
    # Orders filled before T are identical; orders created before T exist in both with the same terms.
    assert _lines_before(ta["orders.csv"], "created", t_str, also="fill_time") == _lines_before(
        tb["orders.csv"], "created", t_str, also="fill_time"
    )
    cols = ["order_id", "created", "symbol", "side", "size", "type", "reason"]
    oa = pd.read_csv(a / "orders.csv", dtype=str)
    ob = pd.read_csv(b / "orders.csv", dtype=str)
    assert oa[oa.created < t_str][cols].equals(ob[ob.created < t_str][cols])
    # ... and the future really did change something, or this test could not fail.
    assert ta["equity.csv"] != tb["equity.csv"]
    assert ta["signals.csv"] != tb["signals.csv"]
