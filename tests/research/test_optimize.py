"""python -m bot.research.optimize: outputs, config errors, determinism, shared predictions."""

from __future__ import annotations

import json
import math
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml

from bot.configure import load_config, parse_config
from bot.research import optimize as opt
from bot.runfolder import csv_text

ROOT = Path(__file__).resolve().parents[2]

SMA = {
    "name": "opt-sma",
    "seed": 3,
    "data": {"source": "sample", "symbols": ["AAA"], "start": "2017-01-01", "end": "2018-12-31"},
    "strategy": {"name": "sma_cross", "params": {"fast": 10, "slow": 30}},
    "broker": {"cash": 50_000, "commission": 0.0005, "slippage": 0.0005},
    "risk": {"sizing": "fixed_fraction", "fraction": 0.4, "max_position": 0.4},
    "optimize": {
        "segments": 3,
        "pbo_splits": 4,
        "engine": "backtrader",
        "space": {
            "strategy.params.fast": {"low": 3, "high": 30, "integer": True},
            "strategy.params.slow": {"low": 20, "high": 90, "integer": True},
            "risk.stop_loss": {"choices": [None, 0.05]},
        },
    },
}


def _write(tmp_path: Path, raw: dict, name: str = "c.yaml") -> Path:
    path = tmp_path / name
    path.write_text(yaml.safe_dump(raw))
    return path


def test_cli_writes_the_optimisation_folder_and_prints_pbo_and_dsr(tmp_path):
    out = tmp_path / "opt"
    res = subprocess.run(
        [
            sys.executable,
            "-m",
            "bot.research.optimize",
            "--config",
            str(_write(tmp_path, SMA)),
            "--trials",
            "4",
            "--out",
            str(out),
            "-q",
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert res.returncode == 0, res.stderr
    assert "PBO" in res.stdout and "DSR" in res.stdout and str(out) in res.stdout
    trials = pd.read_csv(out / "trials.csv")
    assert len(trials) == 4 and list(trials["number"]) == [0, 1, 2, 3]
    assert {
        "strategy.params.fast",
        "strategy.params.slow",
        "risk.stop_loss",
        "score",
        "sharpe",
        "cagr",
        "max_drawdown",
        "n_trades",
        "is_1",
        "oos_1",
        "is_2",
        "oos_2",
    } <= set(trials.columns)
    summary = json.loads((out / "summary.json").read_text())
    done = trials[trials["state"] == "complete"]
    assert summary["n_trials"] == len(done) >= 2
    assert 0 <= summary["pbo"]["pbo"] <= 1 and len(summary["pbo"]["logits"]) == math.comb(4, 2)
    assert 0 <= summary["dsr"] <= summary["psr"] <= 1
    best = done.loc[done["score"].idxmax()]
    assert summary["best"]["trial"] == best["number"]
    segments = pd.read_csv(out / "wfo_segments.csv")
    assert list(segments["segment"]) == [1, 2]
    assert set(segments["chosen_trial"]) <= set(done["number"])
    for _, seg in segments.iterrows():  # the pick is the best in-sample trial of trials.csv
        col = f"is_{seg['segment']}"
        assert seg["chosen_trial"] == done.loc[done[col].idxmax(), "number"]
        assert seg["oos_score"] == pytest.approx(
            done.set_index("number").loc[seg["chosen_trial"], f"oos_{seg['segment']}"]
        )
    equity = pd.read_csv(out / "wfo_equity.csv")
    assert equity["equity"].iloc[0] == 50_000
    assert equity["equity"].iloc[-1] / 50_000 == pytest.approx(np.prod(1 + segments["oos_return"]))
    assert equity["timestamp"].iloc[1] == segments["oos_start"].iloc[0]
    html = (out / "optimize.html").read_text()
    assert html.count("<svg") >= 3 and "http://" not in html and "https://" not in html
    cfg = load_config(out / "best_config.yaml")  # loadable as a run config, with the best values applied
    assert cfg.strategy.params == {
        "fast": int(best["strategy.params.fast"]),
        "slow": int(best["strategy.params.slow"]),
    }
    assert cfg.tuning.n_trials == len(done)
    from bot.backtest import run_backtest

    rerun = run_backtest(cfg).metrics  # the backtest of best_config.yaml is the best trial's run
    assert rerun["sharpe"] == pytest.approx(best["sharpe"], rel=1e-9)
    assert rerun["n_trades"] == best["n_trades"]
    assert rerun["max_drawdown"] == pytest.approx(best["max_drawdown"], rel=1e-9)
    assert (out / "config.yaml").exists()


@pytest.mark.parametrize(
    ("key", "spec", "message"),
    [
        (
            "model.params.max_depth",
            {"low": 2, "high": 6, "integer": True},
            "config error: optimize.space.model.params.max_depth: changes the model's predictions, "
            "which are computed once for all trials; tune model settings with "
            "python -m bot.research.tune",
        ),
        (
            "data.start",
            {"choices": ["2016-01-01"]},
            "config error: optimize.space.data.start: changes the model's",
        ),
        (
            "validation.train",
            {"low": 100, "high": 200},
            "config error: optimize.space.validation.train: changes",
        ),
        (
            "seed",
            {"low": 1, "high": 5, "integer": True},
            "config error: optimize.space.seed: changes the model's",
        ),
        (
            "live.poll_seconds",
            {"low": 1, "high": 5},
            "config error: optimize.space.live.poll_seconds: is not a strategy or backtest setting",
        ),
        (
            "risk.stop_lose",
            {"low": 0.01, "high": 0.1},
            "config error: optimize.space.risk.stop_lose: unknown key (did you mean 'stop_loss'?)",
        ),
        (
            "risk.fraction",
            {"low": 0.5, "high": 1.5},
            "config error: optimize.space.risk.fraction: 1.5 is not a valid",
        ),
        (
            "strategy.params.fastt",
            {"low": 2, "high": 9, "integer": True},
            "config error: optimize.space.strategy.params.fastt: unknown key",
        ),
    ],
)
def test_space_errors_are_one_line_naming_the_key(tmp_path, capsys, key, spec, message):
    raw = dict(SMA, optimize={"space": {key: spec}})
    assert opt.main(["--config", str(_write(tmp_path, raw)), "--out", str(tmp_path / "x")]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith(message), err
    assert not (tmp_path / "x").exists()


@pytest.mark.parametrize(
    ("optimize", "args", "message"),
    [
        ({"pbo_splits": 5}, [], "config error: optimize.pbo_splits: must be even"),
        ({"space": {}}, [], "config error: optimize.space: is empty"),
        (
            {"window": "rolling", "segments": 3, "is_segments": 3},
            [],
            "config error: optimize: is_segments (3) must",
        ),
        ({}, ["--trials", "0"], "config error: --trials: must be at least 1"),
        ({"segments": 40}, [], "config error: optimize.segments: the trading period has 6"),
    ],
)
def test_other_config_errors(tmp_path, capsys, optimize, args, message):
    short = dict(SMA["data"], end="2017-03-31")  # about 62 bars
    raw = dict(SMA, data=short, optimize={**SMA["optimize"], **optimize})
    code = opt.main(["--config", str(_write(tmp_path, raw)), "--out", str(tmp_path / "x"), "-q", *args])
    err = capsys.readouterr().err.strip().splitlines()
    assert code == 2 and len(err) == 1 and err[0].startswith(message), err


@pytest.fixture(scope="module")
def sample_bars():
    from bot.research.evaluate import evaluate_bars

    return evaluate_bars(parse_config(SMA))


def test_same_seed_same_trials_other_seed_other_trials(sample_bars):
    cfg = parse_config(SMA)
    first = csv_text(opt.trials_frame(opt.optimize(cfg, 3, sample_bars)))
    again = csv_text(opt.trials_frame(opt.optimize(cfg, 3, sample_bars)))
    assert first == again
    other = csv_text(opt.trials_frame(opt.optimize(parse_config(dict(SMA, seed=4)), 3, sample_bars)))
    assert other != first


def test_an_invalid_draw_is_recorded_not_run(sample_bars):
    cfg = parse_config(SMA)
    scorer = opt.TrialScorer(cfg, sample_bars, None, sample_bars["AAA"].index[0])
    run = scorer.run(7, {"strategy.params.fast": 40, "strategy.params.slow": 30})
    assert run.returns is None and run.error == "strategy.params: fast (40) must be smaller than slow (30)"
    good = scorer.run(8, {"strategy.params.fast": 5, "strategy.params.slow": 30})
    assert good.error is None and len(good.returns) == len(scorer.bar_times) - 1
    assert good.metrics["n_trades"] > 0 and math.isfinite(good.score)


def test_ml_signal_predicts_once_and_trades_from_the_first_prediction(sample_bars, monkeypatch):
    calls = []
    real = opt.run_walk_forward  # the project's own function, wrapped to count its calls
    monkeypatch.setattr(opt, "run_walk_forward", lambda *a, **k: calls.append(1) or real(*a, **k))
    raw = dict(
        SMA,
        strategy={"name": "ml_signal", "params": {"entry_threshold": 0.52}},
        model={"type": "logistic", "horizon": 1, "calibration": "none"},
        validation={"train": 300, "test": 100, "embargo": 2, "n_jobs": 1},
        risk={"sizing": "kelly", "fraction": 0.5, "max_position": 0.3},
        optimize={
            "segments": 3,
            "pbo_splits": 4,
            "engine": "backtrader",
            "space": {
                "strategy.params.entry_threshold": {"low": 0.5, "high": 0.56},
                "strategy.params.exit_threshold": {"low": 0.45, "high": 0.52},
                "risk.fraction": {"low": 0.2, "high": 1.0},
            },
        },
    )
    res = opt.optimize(parse_config(raw), 3, sample_bars)
    assert calls == [1]
    assert res.bar_times[0] == sample_bars["AAA"].index[300]  # the first out-of-sample bar
    assert len(res.runs) == 3 and all(r.returns is None or len(r.returns) == len(res.bar_times) - 1 for r in res.runs)


def test_walk_forward_picks_ignore_bars_after_their_segment_end_to_end(sample_bars):
    # With the random sampler the pool of trials does not depend on any return; then the pick for each
    # out-of-sample segment must not change when every bar after that segment's start changes.
    from bot.research.wfo import segment_bounds

    raw = dict(SMA, optimize={**SMA["optimize"], "sampler": "random", "segments": 3})
    cfg = parse_config(raw)
    base = opt.optimize(cfg, 3, sample_bars)
    bounds = segment_bounds(len(base.bar_times) - 1, 3)
    cut = base.bar_times[bounds[2]]  # the close the last step picks on
    df = sample_bars["AAA"].copy()
    later = df.index > cut
    noise = np.random.default_rng(1).normal(0, 0.03, int(later.sum()))
    factor = np.cumprod(1 + noise)
    for col in ("open", "high", "low", "close"):
        df.loc[later, col] = df.loc[later, col] * factor
    changed = opt.optimize(cfg, 3, {"AAA": df})
    assert [r.values for r in changed.runs] == [r.values for r in base.runs]
    assert [(s.chosen, s.is_score) for s in changed.wfo.steps] == [(s.chosen, s.is_score) for s in base.wfo.steps]
    k = bounds[2]
    assert all(
        np.array_equal(a.returns[:k], b.returns[:k]) for a, b in zip(base.completed, changed.completed, strict=True)
    )
    assert any(
        not np.array_equal(a.returns[k:], b.returns[k:]) for a, b in zip(base.completed, changed.completed, strict=True)
    )
