"""bot.research.evaluate and bot.research.tune: outputs, one-line errors, persistent studies, trial counting."""

from __future__ import annotations

import json
import subprocess
import sys

import optuna
import pandas as pd
import pytest
import yaml

from bot.config import apply_override
from bot.configure import load_config, parse_config
from bot.research import evaluate as ev
from bot.research.tune import Objective, deflation_inputs, tune, write_outputs
from tests.ml.helpers import ml_config, random_walk_bars

ROOT = __import__("pathlib").Path(__file__).resolve().parents[2]

SMALL = {
    "name": "small-eval",
    "seed": 2,
    "data": {"source": "sample", "symbols": ["AAA", "BBB"], "start": "2015-01-01", "end": "2017-06-30"},
    "strategy": {"name": "ml_signal", "params": {"entry_threshold": 0.51}},
    "model": {"type": "xgboost", "params": {"n_estimators": 20}, "calibration": "none", "horizon": 5},
    "validation": {"train": 252, "test": 63, "embargo": 2},
}


def _write(tmp_path, raw, name="c.yaml"):
    path = tmp_path / name
    path.write_text(yaml.safe_dump(raw))
    return path


def test_evaluate_cli_writes_metrics_folds_and_prints_a_summary(tmp_path):
    out = tmp_path / "ev"
    res = subprocess.run(
        [
            sys.executable,
            "-m",
            "bot.research.evaluate",
            "--config",
            str(_write(tmp_path, SMALL)),
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
    assert "accuracy" in res.stdout and "deflated sharpe" in res.stdout
    m = json.loads((out / "metrics.json").read_text())["ml"]
    for key in (
        "accuracy",
        "balanced_accuracy",
        "precision",
        "recall",
        "f1",
        "roc_auc",
        "log_loss",
        "brier",
        "confusion",
        "baseline_accuracy",
        "calibration",
        "trading",
    ):
        assert key in m, key
    assert {"binomial", "rule"} <= set(m["stats"]) and {"psr", "dsr", "n_trials"} <= set(m["stats"]["rule"])
    folds = pd.read_csv(out / "folds.csv")
    assert len(folds) == m["n_folds"] >= 5
    assert {"accuracy", "roc_auc", "brier", "sharpe", "max_drawdown", "win_rate", "profit_factor"} <= set(folds.columns)
    assert {"timestamp", "symbol", "prob_up", "label"} <= set(pd.read_csv(out / "oos_predictions.csv").columns)
    assert (out / "calibration.csv").exists() and (out / "config.yaml").exists()


def test_evaluate_config_and_data_errors_are_one_line_with_exit_codes(tmp_path, capsys):
    bad = dict(SMALL, model={**SMALL["model"], "labell": "direction"})
    assert ev.main(["--config", str(_write(tmp_path, bad)), "--out", str(tmp_path / "x")]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert err == ["config error: model.labell: unknown key (did you mean 'label'?)"]
    short = tmp_path / "csv"
    short.mkdir()
    rows = pd.DataFrame(
        {
            "date": pd.bdate_range("2020-01-01", periods=40).strftime("%Y-%m-%d"),
            "open": 10.0,
            "high": 11.0,
            "low": 9.0,
            "close": 10.5,
            "volume": 1000,
        }
    )
    rows.to_csv(short / "AAA.csv", index=False)
    few = dict(SMALL, data={"source": "csv", "path": str(short), "symbols": ["AAA"]})
    assert ev.main(["--config", str(_write(tmp_path, few, "few.yaml")), "--out", str(tmp_path / "y"), "-q"]) == 3
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("data error: ") and "AAA has 40 bars" in err[0]
    assert not (tmp_path / "y" / "metrics.json").exists()


@pytest.fixture(scope="module")
def tuned(tmp_path_factory):
    out = tmp_path_factory.mktemp("tune")
    cfg = ml_config(model__type="logistic", model__features="starter", validation__train=300, validation__test=100)
    bars = random_walk_bars(symbols=2, n=900, seed=8)
    study = tune(cfg, 4, out, bars=bars)
    return cfg, bars, out, study


def test_tune_persists_the_study_in_sqlite_and_writes_usable_best_params(tuned):
    cfg, bars, out, study = tuned
    assert (out / "study.db").exists()
    assert len(study.trials) == 4
    params, sets = write_outputs(study, cfg, out)
    best = yaml.safe_load((out / "best_params.yaml").read_text())
    assert best["model"]["params"] == params and set(params) == {"C"}
    assert best["tuning"]["n_trials"] == 4 and best["tuning"]["sharpe_std"] > 0
    # The best config runs as is, and the printed --set options apply the same result to the base config.
    full = load_config(out / "best_config.yaml")
    assert full.model.params == params and full.tuning.n_trials == 4
    raw = cfg.model_dump(mode="json")
    for item in sets.replace("'", "").split(" --set ")[0:]:
        raw = apply_override(raw, item.removeprefix("--set ").strip())
    assert parse_config(raw).model.params == params and parse_config(raw).tuning.n_trials == 4


def test_a_resumed_study_keeps_counting_every_trial(tuned):
    cfg, bars, out, _ = tuned
    study = tune(cfg, 2, out, bars=bars)  # same default storage: the study resumes
    assert len(study.trials) == 6
    assert deflation_inputs(study, cfg)["n_trials"] == 6
    # Trials the config already declared are added on top.
    declared = ml_config(model__type="logistic", tuning__n_trials=5)
    assert deflation_inputs(study, declared)["n_trials"] == 10
    # The counted trials deflate the Sharpe ratio an evaluation reports.
    counted = ml_config(
        model__type="logistic",
        model__features="starter",
        validation__train=300,
        validation__test=100,
        tuning__n_trials=6,
    )
    rule = ev.evaluate(counted, bars).metrics["stats"]["rule"]
    assert rule["n_trials"] == 6 and rule["dsr"] < rule["psr"]


def test_fold_scores_are_reported_and_a_pruner_can_stop_a_trial():
    cfg = ml_config(model__type="logistic", validation__train=300, validation__test=100, tuning__prune_after=1)
    bars = random_walk_bars(symbols=2, n=900, seed=9)
    from bot.ml.dataset import build_dataset

    objective = Objective(cfg, build_dataset(bars, cfg), bars)
    study = optuna.create_study(
        direction="maximize", pruner=optuna.pruners.ThresholdPruner(lower=2.0, n_warmup_steps=1)
    )
    study.optimize(objective, n_trials=1)
    trial = study.trials[0]
    assert trial.state == optuna.trial.TrialState.PRUNED
    assert sorted(trial.intermediate_values) == [0, 1]  # reported after each fold; stopped after the warm-up


def test_research_configs_load():
    for path in sorted((ROOT / "config" / "research").glob("*.yaml")):
        cfg = load_config(path)
        assert cfg.name == path.stem


def test_backtest_writes_one_probability_per_horizon_and_the_deflated_sharpe(tmp_path):
    from bot.backtest import run_backtest, signals_frame, write_run

    raw = dict(
        SMALL,
        model={**SMALL["model"], "horizon": [1, 5], "label": "triple_barrier", "horizon_combine": "mean"},
        strategy={"name": "ml_signal", "params": {"entry_threshold": 0.51}},
        tuning={"n_trials": 4},
    )
    res = run_backtest(parse_config(raw))
    sig = signals_frame(res)
    assert list(sig.columns) == ["timestamp", "symbol", "fold", "prob_up", "prediction", "prob_up_h1", "prob_up_h5"]
    assert (sig["prob_up"] - (sig["prob_up_h1"] + sig["prob_up_h5"]) / 2).abs().max() < 1e-12
    m = json.loads((write_run(res, tmp_path / "run") / "metrics.json").read_text())
    assert m["stats"]["n_trials"] == 4 and 0 <= m["stats"]["dsr"] <= m["stats"]["psr"] <= 1
    assert 0 <= m["stats"]["dsr_vs_benchmark"] <= m["stats"]["psr_vs_benchmark"] <= 1
    assert set(m["ml"]["stats"]) == {"binomial", "rule", "strategy"}
    assert set(m["ml"]["by_horizon"]) == {"h1", "h5"}


def test_two_processes_share_one_study_on_postgresql(tmp_path, postgres_url):
    """The README's promise: several processes (or machines) tune one study through one database."""
    cfg = _write(tmp_path, dict(SMALL, model={**SMALL["model"], "type": "logistic", "params": {}}))
    cmd = [
        sys.executable,
        "-m",
        "bot.research.tune",
        "--config",
        str(cfg),
        "--trials",
        "2",
        "--storage",
        postgres_url,
        "--study",
        "shared",
        "-q",
    ]
    procs = [
        subprocess.Popen(
            [*cmd, "--out", str(tmp_path / name)], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
        )
        for name in ("a", "b")
    ]
    for p in procs:
        out, err = p.communicate(timeout=600)
        assert p.returncode == 0, err
    study = optuna.load_study(study_name="shared", storage=postgres_url)
    finished = (optuna.trial.TrialState.COMPLETE, optuna.trial.TrialState.PRUNED)
    assert sorted(t.number for t in study.trials) == [0, 1, 2, 3]
    assert all(t.state in finished for t in study.trials)
    counted = [yaml.safe_load((tmp_path / n / "best_params.yaml").read_text())["tuning"]["n_trials"] for n in "ab"]
    assert max(counted) == 4  # the process that finished last counts every trial of the shared study


def test_an_unreachable_storage_is_one_config_error_without_the_password():
    from bot.errors import ConfigError
    from bot.research.tune import open_study

    url = "postgresql+psycopg://trader:hunter2@127.0.0.1:1/optuna"  # nothing listens on port 1
    with pytest.raises(ConfigError) as e:
        open_study(ml_config(), url, "s", seed=0)
    assert str(e.value).startswith("--storage: cannot open postgresql+psycopg://***@127.0.0.1:1/optuna")
    assert "hunter2" not in str(e.value)
