"""Retraining behind the promotion gate, on generated data where the better model is known."""

from __future__ import annotations

import json

import numpy as np
import pytest

from bot.config import dump_config
from bot.config.lifecycle import RetrainConfig
from bot.configure import load_config
from bot.ml.dataset import build_dataset
from bot.models.registry import ModelRegistry
from bot.models.training import evaluate_window
from bot.retrain.cli import main
from bot.retrain.gate import decide
from bot.retrain.job import shared_start
from tests.lifecycle.conftest import make_config
from tests.lifecycle.gen import ar_bars, write_csv_folder

GOOD = {"n_predictions": 200, "roc_auc": 0.62, "brier": 0.24, "accuracy": 0.58, "baseline_accuracy": 0.52}


def test_gate_direction_margin_and_sanity_checks():
    cfg = RetrainConfig(metric="roc_auc", margin=0.02, min_predictions=100, max_brier=0.25)
    assert decide(None, GOOD, cfg).promoted
    assert decide({**GOOD, "roc_auc": 0.59}, GOOD, cfg).promoted  # +0.03 >= 0.02
    d = decide({**GOOD, "roc_auc": 0.61}, GOOD, cfg)  # +0.01 < margin
    assert not d.promoted and "does not beat champion 0.6100" in d.reason
    brier = RetrainConfig(metric="brier", margin=0.005, min_predictions=100, max_brier=0.25)
    assert decide({**GOOD, "brier": 0.246}, GOOD, brier).promoted  # lower is better
    assert not decide({**GOOD, "brier": 0.242}, GOOD, brier).promoted
    for bad, check in (
        ({"n_predictions": 40}, "enough_predictions"),
        ({"brier": 0.27}, "calibration"),
        ({"accuracy": 0.50}, "beats_baseline"),
        ({"roc_auc": float("nan")}, "beats_champion"),
    ):
        d = decide({**GOOD, "roc_auc": 0.5}, {**GOOD, **bad}, cfg)
        assert not d.promoted and not d.checks[check].passed, check
        assert [k for k, c in d.checks.items() if not c.passed] == [check]
    assert decide(None, {**GOOD, "accuracy": 0.5}, cfg.model_copy(update={"beat_baseline": False})).promoted


def test_shared_window_starts_after_the_champions_training_labels():
    cfg = make_config()
    bars = {"AAA": ar_bars(400, 0.3, seed=5)}
    ds = build_dataset(bars, cfg)

    class Champ:
        info = {"training": {"label_end": ds.calendar[330].isoformat()}}

    assert shared_start(ds, 300, None, 2) == 300
    assert shared_start(ds, 300, Champ(), 2) == 333  # first bar after the label end, plus the embargo
    Champ.info = {"training": {"label_end": ds.calendar[100].isoformat()}}
    assert shared_start(ds, 300, Champ(), 2) == 300


@pytest.fixture
def setup(store):
    """A CSV folder whose regime flips from mean reversion to momentum at bar 600, and a config file."""
    phi = np.where(np.arange(900) < 600, -0.35, 0.35)
    bars = {"AAA": ar_bars(900, phi, seed=1), "BBB": ar_bars(900, phi, seed=101)}
    folder = write_csv_folder(store / "csv", bars)
    cfg = make_config(store, data={"source": "csv", "path": str(folder), "symbols": ["AAA", "BBB"]})
    path = store / "config.yaml"
    path.write_text(dump_config(cfg))
    return str(path), bars["AAA"].index, store


def _retrain(config: str, out, *overrides: str) -> dict:
    args = ["--config", config, "--out", str(out), "-q"]
    for o in overrides:
        args += ["--set", o]
    assert main(args) == 0
    return json.loads((out / "retrain.json").read_text())


def test_better_challenger_promoted_worse_rejected_rollback_restores(setup, capsys):
    config, dates, store = setup
    out = store / "out"
    first = _retrain(config, out, f"data.end={dates[559].date()}")
    assert first["promoted"] and first["reason"] == "promoted: no champion yet"
    assert first["versions"] == {"champion_before": None, "challenger": 1, "champion_after": 1}

    # After the flip the old mean-reversion champion is wrong; a challenger trained on the new regime wins.
    second = _retrain(config, out)
    assert second["promoted"], second["reason"]
    assert second["versions"] == {"champion_before": 1, "challenger": 2, "champion_after": 2}
    assert second["window"]["n_bars"] == 100 and second["window"]["end"].startswith(str(dates[-1].date()))
    ch, cm = second["challenger"]["metrics"], second["champion"]["metrics"]
    assert ch["roc_auc"] > 0.55 > cm["roc_auc"] and ch["n_predictions"] == cm["n_predictions"] >= 190

    # Both were scored on the same rows: re-score the champion (v1) independently on that window.
    cfg = load_config(config)
    reg = ModelRegistry.for_config(cfg)
    v1, _ = reg.load(1)
    bars = {s: b for s, b in zip(cfg.data.symbols, _bars(cfg), strict=True)}
    ds = build_dataset(bars, cfg)
    again = evaluate_window(v1, ds, bars, len(ds.calendar) - 100, len(ds.calendar))
    assert again["roc_auc"] == pytest.approx(cm["roc_auc"], abs=1e-12)

    # A challenger that only sees calendar features (noise here) must not replace the champion.
    third = _retrain(config, out, "model.features=[day_of_week,month]")
    assert not third["promoted"] and third["reason"].startswith("rejected:")
    assert not third["checks"]["beats_champion"]["passed"]
    assert third["versions"] == {"champion_before": 2, "challenger": 3, "champion_after": 2}
    assert reg.alias_version("challenger") == 3 and reg.alias_version("champion") == 2
    assert "not promoted: challenger roc_auc" in capsys.readouterr().out

    from bot.models.cli import main as models_main

    assert models_main(["rollback", "--config", config, "-q"]) == 0
    assert reg.alias_version("champion") == 1
    run = reg.client.get_run(next(v.run_id for v in reg.versions() if v.version == 3))
    assert run.data.tags["gate"] == "rejected" and run.data.metrics["promoted"] == 0.0
    assert run.data.metrics["champion.roc_auc"] == pytest.approx(third["champion"]["metrics"]["roc_auc"])


def _bars(cfg):
    from bot.data.loading import load_data

    return list(load_data(cfg)[0].values())


def test_dry_run_registers_nothing(setup):
    config, _, store = setup
    assert main(["--config", config, "--out", str(store / "out"), "--dry-run", "-q"]) == 0
    doc = json.loads((store / "out" / "retrain.json").read_text())
    assert doc["dry_run"] and not doc["promoted"] and doc["reason"] == "promoted: no champion yet"
    assert ModelRegistry.for_config(load_config(config)).versions() == []


def test_failed_run_leaves_no_decision_file(setup, capsys):
    config, _, store = setup
    out = store / "out"
    out.mkdir()
    (out / "retrain.json").write_text('{"promoted": true}')
    assert main(["--config", config, "--out", str(out), "--set", "retrain.metric=sharp", "-q"]) == 2
    assert capsys.readouterr().err.startswith("config error: retrain.metric:")
    assert not (out / "retrain.json").exists()
    assert main(["--config", config, "--out", str(out), "--set", "data.end=2015-03-01", "-q"]) == 3
    assert not (out / "retrain.json").exists()
