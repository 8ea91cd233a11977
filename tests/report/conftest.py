"""Fixture factory: synthetic run folders that follow the run-folder contract."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml

SYMBOLS = [
    "AAPL",
    "MSFT",
    "NVDA",
    "JPM",
    "XOM",
    "GS",
    "BAC",
    "CVX",
    "IWM",
    "JNJ",
    "PFE",
    "QQQ",
    "SLB",
    "UNH",
    "SPY",
    "KO",
    "PEP",
    "WMT",
    "HD",
    "INTC",
]
REASONS = ["signal", "stop_loss", "take_profit", "trailing_stop", "end"]
FEATURES = [
    "ret_1",
    "ret_5",
    "ret_20",
    "rsi_14",
    "macd",
    "macd_signal",
    "vol_20",
    "sma_ratio_10",
    "sma_ratio_50",
]


def _index(n_bars: int, intraday: bool, start: str) -> pd.DatetimeIndex:
    if intraday:
        return pd.date_range(start, periods=n_bars, freq="h", tz="UTC")
    return pd.bdate_range(start, periods=n_bars, tz="UTC")


def _stamp(ts: pd.Timestamp, intraday: bool) -> str:
    return ts.strftime("%Y-%m-%dT%H:%M:%SZ") if intraday else ts.strftime("%Y-%m-%d")


def _equity(rng: np.random.Generator, idx: pd.DatetimeIndex, cash: float, scale: float) -> pd.DataFrame:
    n = len(idx)
    strat = cash * np.exp(np.cumsum(rng.standard_t(4, n) * 0.009 * scale + 0.0004 * scale))
    bench = cash * np.exp(np.cumsum(rng.standard_t(4, n) * 0.011 * scale + 0.0003 * scale))
    strat[0] = bench[0] = cash
    exposure = np.clip(np.abs(np.sin(np.arange(n) / 37.0)) + rng.normal(0, 0.05, n), 0, 1)
    return pd.DataFrame(
        {"equity": strat, "cash": strat * (1 - exposure), "exposure": exposure, "benchmark": bench}, index=idx
    )


def _trades(
    rng: np.random.Generator, idx: pd.DatetimeIndex, symbols: list[str], n: int, intraday: bool
) -> pd.DataFrame:
    entry_i = np.sort(rng.integers(0, len(idx) - 30, n))
    hold = rng.integers(1, 25, n)
    size = rng.integers(1, 200, n).astype(float) if not intraday else np.round(rng.uniform(0.01, 2.0, n), 4)
    entry_price = rng.uniform(20, 400, n)
    prob = np.round(rng.uniform(0.5, 0.8, n), 4)
    ret = rng.normal(0.003, 0.04, n) + (prob - 0.6) * 0.2
    exit_price = entry_price * (1 + ret)
    side = np.where(rng.random(n) < 0.8, "long", "short")
    sign = np.where(side == "long", 1.0, -1.0)
    pnl = (exit_price - entry_price) * size * sign
    commission = (entry_price + exit_price) * size * 0.0005
    slippage = (entry_price + exit_price) * size * 0.0002
    return pd.DataFrame(
        {
            "symbol": rng.choice(symbols, n),
            "entry_time": [_stamp(idx[i], intraday) for i in entry_i],
            "exit_time": [_stamp(idx[i + h], intraday) for i, h in zip(entry_i, hold, strict=True)],
            "side": side,
            "size": size,
            "entry_price": entry_price.round(4),
            "exit_price": exit_price.round(4),
            "pnl": pnl.round(2),
            "pnl_net": (pnl - commission).round(2),
            "commission": commission.round(2),
            "exit_reason": rng.choice(REASONS, n, p=[0.6, 0.15, 0.12, 0.08, 0.05]),
            "entry_prob": prob,
            "slippage": slippage.round(2),
        }
    )


def _orders(trades: pd.DataFrame) -> pd.DataFrame:
    rows = []
    for i, t in trades.iterrows():
        for leg, time, price in (
            ("entry", t.entry_time, t.entry_price),
            ("exit", t.exit_time, t.exit_price),
        ):
            buy = (leg == "entry") == (t.side == "long")
            rows.append(
                {
                    "order_id": f"{t.symbol}-{i}-{leg}",
                    "created": time,
                    "symbol": t.symbol,
                    "side": "buy" if buy else "sell",
                    "size": t["size"],
                    "type": "market",
                    "status": "filled",
                    "fill_time": time,
                    "fill_price": price,
                    "commission": t.commission / 2,
                    "reason": leg,
                }
            )
    return pd.DataFrame(rows)


def _ml_files(rng, idx, symbols, intraday, folder: Path) -> None:
    start = len(idx) // 4
    step = max(len(idx) // 12, 5)
    folds, oos = [], []
    for k, lo in enumerate(range(start, len(idx) - 1, step)):
        hi = min(lo + step, len(idx)) - 1
        for sym in symbols:
            prob = np.clip(rng.beta(6, 5, hi - lo + 1), 0.01, 0.99)
            label = (rng.random(hi - lo + 1) < 0.15 + 0.7 * prob).astype(int)
            oos.append(
                pd.DataFrame(
                    {
                        "timestamp": [_stamp(t, intraday) for t in idx[lo : hi + 1]],
                        "symbol": sym,
                        "fold": k,
                        "prob_up": prob.round(4),
                        "label": label,
                    }
                )
            )
        acc, auc = 0.5 + rng.normal(0.03, 0.02), 0.5 + rng.normal(0.05, 0.03)
        folds.append(
            {
                "fold": k,
                "train_start": _stamp(idx[0], intraday),
                "train_end": _stamp(idx[lo - 2], intraday),
                "test_start": _stamp(idx[lo], intraday),
                "test_end": _stamp(idx[hi], intraday),
                "n_train": lo - 1,
                "n_test": hi - lo + 1,
                "accuracy": round(acc, 4),
                "roc_auc": round(auc, 4),
            }
        )
    oos_frame = pd.concat(oos, ignore_index=True)
    oos_frame.to_csv(folder / "oos_predictions.csv", index=False)
    signals = oos_frame.drop(columns="label").assign(prediction=(oos_frame["prob_up"] >= 0.5).astype(int))
    signals.to_csv(folder / "signals.csv", index=False)
    pd.DataFrame(folds).to_csv(folder / "folds.csv", index=False)
    imp = np.sort(rng.exponential(1.0, len(FEATURES)))[::-1]
    pd.DataFrame({"feature": FEATURES, "importance": (imp / imp.sum()).round(5), "kind": "gain"}).to_csv(
        folder / "feature_importance.csv", index=False
    )


def _metrics(eq: pd.DataFrame, trades: pd.DataFrame, ml: bool, ppy: int, cash: float) -> dict:
    def block(values: pd.Series) -> dict:
        r = values.pct_change().dropna()
        return {
            "total_return": values.iloc[-1] / values.iloc[0] - 1,
            "cagr": 0.08,
            "annual_volatility": 0.15,
            "sharpe": float(r.mean() / r.std() * ppy**0.5),
            "sortino": 1.1,
            "calmar": 0.5,
            "max_drawdown": float((values / values.cummax() - 1).min()),
        }

    wins = trades["pnl_net"] > 0
    metrics = {
        **block(eq["equity"]),
        "win_rate": float(wins.mean()),
        "profit_factor": 1.3,
        "n_trades": len(trades),
        "exposure": float(eq["exposure"].mean()),
        "final_value": float(eq["equity"].iloc[-1]),
        "periods_per_year": ppy,
        "benchmark": block(eq["benchmark"]),
        "data": {
            "source": "csv",
            "hash": "sha256:0f3a9c",
            "start": str(eq.index[0].date()),
            "end": str(eq.index[-1].date()),
        },
        "code_version": "b77c22a",
    }
    if ml:
        metrics["ml"] = {
            "accuracy": 0.53,
            "roc_auc": 0.55,
            "log_loss": 0.69,
            "brier": 0.248,
            "n_predictions": 1000,
            "baseline_accuracy": 0.52,
        }
    return metrics


def _config(name: str, symbols: list[str], ml: bool, intraday: bool, cash: float) -> dict:
    return {
        "name": name,
        "seed": 7,
        "data": {
            "source": "csv",
            "path": "../shared/data/equities/daily",
            "symbols": symbols,
            "start": "2010-01-04",
            "end": "2024-12-30",
            "timeframe": "1h" if intraday else "1d",
        },
        "strategy": {"name": "ml_signal" if ml else "sma_cross", "params": {} if ml else {"fast": 10, "slow": 50}},
        "model": {
            "type": "xgboost",
            "params": {"max_depth": 3, "n_estimators": 200},
            "features": FEATURES,
            "horizon": 1,
        },
        "validation": {"train": 500, "test": 63, "step": 63, "embargo": 5},
        "broker": {"cash": cash, "commission": 0.0005, "slippage": 0.0002},
        "risk": {
            "sizing": "kelly",
            "fraction": 0.5,
            "max_position": 0.2,
            "stop_loss": 0.05,
            "take_profit": 0.1,
            "trailing_stop": None,
            "max_drawdown_halt": 0.3,
        },
    }


def make_run_folder(
    folder: Path,
    *,
    name: str = "synthetic",
    ml: bool = True,
    n_symbols: int = 3,
    n_bars: int = 600,
    n_trades: int = 80,
    intraday: bool = False,
    seed: int = 0,
    start: str = "2015-01-02",
) -> Path:
    """Write a synthetic run folder following the run-folder contract and return it."""
    rng = np.random.default_rng(seed)
    folder.mkdir(parents=True, exist_ok=True)
    symbols = SYMBOLS[:n_symbols]
    idx = _index(n_bars, intraday, start)
    cash = 100_000.0
    eq = _equity(rng, idx, cash, 0.2 if intraday else 1.0)
    trades = _trades(rng, idx, symbols, n_trades, intraday)
    if not ml:
        trades["entry_prob"] = np.nan
    ppy = 365 if intraday else 252
    (folder / "config.yaml").write_text(yaml.safe_dump(_config(name, symbols, ml, intraday, cash), sort_keys=False))
    (folder / "metrics.json").write_text(json.dumps(_metrics(eq, trades, ml, ppy, cash), indent=2))
    out = eq.copy()
    out.index = [_stamp(t, intraday) for t in idx]
    out.rename_axis("timestamp").reset_index().to_csv(folder / "equity.csv", index=False)
    trades.to_csv(folder / "trades.csv", index=False)
    _orders(trades).to_csv(folder / "orders.csv", index=False)
    if ml:
        _ml_files(rng, idx, symbols, intraday, folder)
    else:
        pd.DataFrame(columns=["timestamp", "symbol", "fold", "prob_up", "prediction"]).to_csv(
            folder / "signals.csv", index=False
        )
    return folder


@pytest.fixture
def make_run(tmp_path: Path) -> Callable[..., Path]:
    """Return a factory: make_run(name="run", **kwargs) -> a new run folder under tmp_path."""

    def factory(name: str = "run", **kwargs) -> Path:
        return make_run_folder(tmp_path / name, name=name, **kwargs)

    return factory
