"""Run a backtest from a Config: load data, train walk-forward, simulate, measure, write the run folder."""

from __future__ import annotations

import time
from dataclasses import dataclass
from functools import partial
from pathlib import Path

import pandas as pd
from loguru import logger

from bot.analytics.benchmark import buy_and_hold
from bot.analytics.performance import periods_per_year, return_metrics, trade_metrics
from bot.config import Config, dump_config
from bot.data import data_manifest
from bot.data.loading import load_data
from bot.engine.simulate import simulate
from bot.instruments import any_crypto
from bot.ledger import Ledger
from bot.ml.cache import walk_forward
from bot.ml.summary import active_stats, equity_stats, first_signal
from bot.ml.walkforward import WalkForwardResult
from bot.models.fixed import fixed_model_predictions
from bot.runfolder import csv_text, json_text, write_atomically
from bot.version import code_version
from strategies import build_strategy
from strategies.base import PortfolioStrategy, Strategy


@dataclass
class BacktestResult:
    config: Config
    bars: dict[str, pd.DataFrame]
    signals: dict[str, pd.DataFrame]
    ledger: Ledger
    calendar: pd.DatetimeIndex
    benchmark: pd.Series
    walk_forward: WalkForwardResult | None
    metrics: dict
    timings: dict[str, float]
    validation: dict | None = None  # the data_validation.json report
    strategy: Strategy | None = None  # the instance that traded (signals.csv asks it for its rows)


def run_backtest(cfg: Config, bars: dict[str, pd.DataFrame] | None = None, use_cache: bool = True) -> BacktestResult:
    """Run the whole backtest in memory and return everything the run folder needs.

    Walk-forward training outputs come from the prediction cache (``cache`` section, bot/ml/cache.py)
    when an earlier run trained the same models on the same data; ``use_cache=False`` skips it.
    """
    timings: dict[str, float] = {}
    t0 = time.perf_counter()
    validation = None
    if bars is None:
        bars, validation = load_data(cfg)
    timings["load"] = time.perf_counter() - t0
    strategy = build_strategy(cfg)
    wf = None
    t0 = time.perf_counter()
    if strategy.uses_model and cfg.model.uri:
        wf = fixed_model_predictions(bars, cfg)  # a model trained earlier, used only after its labels end
    elif strategy.uses_model:
        wf = walk_forward(bars, cfg, use_cache)
    timings["train"] = time.perf_counter() - t0
    signals = {s: strategy.compute_signals(df, wf.prob_up[s] if wf else None) for s, df in bars.items()}
    fractional = cfg.broker.fractional
    if fractional is None:
        fractional = any_crypto(cfg.data.symbols)
    t0 = time.perf_counter()
    ledger, calendar = simulate(cfg, bars, signals, strategy, fractional)
    timings["simulate"] = time.perf_counter() - t0
    b = cfg.broker
    bench = buy_and_hold(bars, calendar, b.cash, b.commission, b.slippage)
    result = BacktestResult(cfg, dict(bars), signals, ledger, calendar, bench, wf, {}, timings, validation, strategy)
    result.metrics = compute_metrics(result)
    if isinstance(strategy, PortfolioStrategy):
        result.metrics.update(strategy.extra_metrics(wf, bars, calendar, cfg))
    return result


def compute_metrics(r: BacktestResult) -> dict:
    """Return the metrics.json mapping."""
    cfg = r.config
    eq = r.ledger.equity_frame()
    equity = pd.Series(eq["equity"].to_numpy(), index=pd.DatetimeIndex(eq["timestamp"]))
    trades = r.ledger.trades_frame()
    ppy = periods_per_year(r.calendar)
    m: dict = dict(return_metrics(equity, ppy))
    m.update(trade_metrics(trades))
    m["exposure"] = float((eq["exposure"] > 1e-12).mean()) if len(eq) else 0.0
    m["final_value"] = float(equity.iloc[-1]) if len(equity) else cfg.broker.cash
    m["starting_cash"] = cfg.broker.cash
    m["periods_per_year"] = ppy
    m["n_bars"] = int(len(r.calendar))
    m["costs"] = {
        "commission": float(trades["commission"].sum()) if len(trades) else 0.0,
        "slippage": float(trades["slippage"].sum()) if len(trades) else 0.0,
        "borrow": float(trades["borrow"].sum()) if len(trades) else 0.0,
    }
    bench = return_metrics(r.benchmark, ppy)
    bench["final_value"] = float(r.benchmark.iloc[-1])
    m["benchmark"] = bench
    if r.walk_forward is not None:
        m["ml"] = dict(
            r.walk_forward.metrics, n_folds=int(len(r.walk_forward.folds)), features=r.walk_forward.feature_names
        )

        strat = equity_stats(equity, r.walk_forward.predictions, cfg, ppy)
        m["ml"]["stats"] = dict(m["ml"].get("stats", {}), strategy=strat)
        m["stats"] = {k: strat[k] for k in ("psr", "dsr", "n_trials") if k in strat}
    m["stats"] = dict(m.get("stats", {}), **_vs_benchmark(r, equity, ppy))
    m["data"] = _data_provenance(r)
    m["code_version"] = code_version()
    return m


def _vs_benchmark(r: BacktestResult, equity: pd.Series, ppy: int) -> dict:
    """Return the active (strategy minus buy-and-hold) Sharpe and its PSR / DSR, from the first signal on."""

    start = first_signal(r.walk_forward.predictions if r.walk_forward is not None else None)
    a = active_stats(equity, r.benchmark, start, r.config, ppy)
    return {
        "active_sharpe": a["sharpe"],
        "psr_vs_benchmark": a["psr"],
        "dsr_vs_benchmark": a["dsr"],
        "n_trials": a["n_trials"],
    }


def _data_provenance(r: BacktestResult) -> dict:
    d = r.config.data
    out: dict[str, object] = {
        "source": d.source,
        "path": d.path,
        "symbols": list(d.symbols),
        "timeframe": d.timeframe,
        "first_bar": str(r.calendar[0]),
        "last_bar": str(r.calendar[-1]),
    }
    manifest = data_manifest(r.bars)
    out["hash"] = manifest["hash"]
    out["symbol_hashes"] = {s: v["hash"] for s, v in manifest["symbols"].items()}
    if r.validation is not None:
        out["validation_status"] = r.validation.get("status")
    return out


def signals_frame(r: BacktestResult) -> pd.DataFrame:
    """Return signals.csv rows: one per decision bar with a signal, stamped with that bar."""
    if r.walk_forward is not None:
        p = r.walk_forward.predictions
        p = p[p["prob_up"].notna()]
        per_horizon = [c for c in p.columns if c.startswith("prob_up_h")]  # multi-horizon: one per horizon
        df = p[["timestamp", "symbol", "fold", "prob_up", "prediction", *per_horizon]].copy()
        df["fold"] = df["fold"].astype(int)
        df["prediction"] = df["prediction"].astype(int)
        return df
    strategy = r.strategy if r.strategy is not None else build_strategy(r.config)
    rows = getattr(strategy, "signal_rows", None) or partial(strategy_signal_rows, strategy.signal_columns)
    frames = [rows(sym, sig) for sym, sig in r.signals.items()]
    df = (
        pd.concat(frames, ignore_index=True)
        if frames
        else pd.DataFrame(columns=["timestamp", "symbol", *strategy.signal_columns])
    )
    order = {s: i for i, s in enumerate(r.config.data.symbols)}
    return df.sort_values(
        ["timestamp", "symbol"], key=lambda c: c.map(order) if c.name == "symbol" else c, kind="stable"
    ).reset_index(drop=True)


def strategy_signal_rows(columns: tuple[str, ...], symbol: str, signals: pd.DataFrame) -> pd.DataFrame:
    """Return ``timestamp, symbol`` and the strategy's signal columns on the bars where any is non-zero."""
    block = signals.loc[:, list(columns)]
    block = block[(block.notna() & (block != 0)).any(axis=1)]
    head = pd.DataFrame({"timestamp": block.index, "symbol": symbol})
    return pd.concat([head, block.reset_index(drop=True)], axis=1)


def write_run(r: BacktestResult, out: Path, tearsheet: bool = True) -> Path:
    """Write the run folder (atomically) and return its path; ``tearsheet=False`` skips tearsheet.html."""

    def fill(tmp: Path) -> None:
        (tmp / "config.yaml").write_text(dump_config(r.config))
        if r.validation is not None:
            (tmp / "data_validation.json").write_text(json_text(r.validation))
        eq = r.ledger.equity_frame()
        eq["benchmark"] = r.benchmark.to_numpy()
        (tmp / "equity.csv").write_text(csv_text(eq, ("timestamp",)))
        (tmp / "trades.csv").write_text(csv_text(r.ledger.trades_frame(), ("entry_time", "exit_time")))
        (tmp / "orders.csv").write_text(csv_text(r.ledger.orders_frame(), ("created", "fill_time")))
        (tmp / "signals.csv").write_text(csv_text(signals_frame(r), ("timestamp",)))
        if r.walk_forward is not None:
            wf = r.walk_forward
            oos = wf.predictions[["timestamp", "symbol", "fold", "prob_up", "label"]]
            (tmp / "oos_predictions.csv").write_text(csv_text(oos, ("timestamp",)))
            (tmp / "folds.csv").write_text(csv_text(wf.folds, ("train_start", "train_end", "test_start", "test_end")))
            (tmp / "feature_importance.csv").write_text(csv_text(wf.importance))
        (tmp / "metrics.json").write_text(json_text(r.metrics))
        if tearsheet:
            _write_tearsheet(tmp)

    return write_atomically(out, fill)


def _write_tearsheet(run_dir: Path) -> None:
    try:
        from bot.report import write_tearsheet  # lazy: matplotlib (optional extra)
    except ImportError:
        logger.warning("bot.report is not available: no tearsheet.html written")
        return
    write_tearsheet(run_dir)


def summary_table(r: BacktestResult, out: Path | None = None) -> str:
    """Return a short plain-text summary of the run for the terminal."""
    m, b = r.metrics, r.metrics["benchmark"]

    def pct(v):
        return "n/a" if v is None else f"{v * 100:8.2f}%"

    def num(v):
        return "n/a" if v is None or isinstance(v, str) else f"{v:9.3f}"

    lines = [
        f"run {r.config.name}: {m['n_bars']} bars, {len(r.bars)} symbols, {m['n_trades']} trades",
        f"{'':18}{'strategy':>10}{'benchmark':>11}",
    ]
    for key, fmt in (
        ("total_return", pct),
        ("cagr", pct),
        ("annual_volatility", pct),
        ("max_drawdown", pct),
        ("sharpe", num),
        ("sortino", num),
        ("calmar", num),
    ):
        lines.append(f"{key:18}{fmt(m[key]):>10}{fmt(b[key]):>11}")
    lines.append(f"{'final_value':18}{m['final_value']:>10.2f}{b['final_value']:>11.2f}")
    lines.append(
        f"{'win_rate':18}{pct(m['win_rate']):>10}   profit_factor {num(m['profit_factor'])}"
        f"   exposure {pct(m['exposure'])}"
    )
    if "ml" in m and m["ml"].get("n_predictions"):
        ml = m["ml"]
        lines.append(
            f"ml (out of sample): accuracy {ml['accuracy']:.4f} vs baseline {ml['baseline_accuracy']:.4f}, "
            f"auc {num(ml['roc_auc']).strip()}, brier {ml['brier']:.4f}, n={ml['n_predictions']}"
        )
    if out is not None:
        lines.append(f"run folder: {out}")
    return "\n".join(lines)
