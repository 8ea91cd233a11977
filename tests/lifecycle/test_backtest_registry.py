"""Backtests of a model trained earlier (model.uri): an artifact folder or models:/<name>@champion.

The model must only trade bars after its training labels end (plus the embargo); its predictions
are its own P(up), computed from its own feature list; a model with no out-of-sample bar is an error.
"""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from bot.backtest import run_backtest, write_run
from bot.errors import ConfigError
from bot.ml.dataset import build_dataset
from bot.models.artifacts import save_model
from bot.models.registry import ModelRegistry
from bot.models.training import fit_window
from tests.backtest.helpers import run_cli
from tests.lifecycle.conftest import make_config
from tests.lifecycle.gen import ar_bars, write_csv_folder

STRATEGY = {"name": "ml_signal", "params": {"entry_threshold": 0.52}}


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    """A logistic model fitted on bars [0, 300) of a momentum series, saved as an artifact folder."""
    cfg = make_config(strategy=STRATEGY)
    bars = {"AAA": ar_bars(700, 0.3, seed=2), "BBB": ar_bars(700, 0.3, seed=5)}
    ds = build_dataset(bars, cfg)
    model = fit_window(ds, cfg, 0, 300, bars, "test")
    folder = tmp_path_factory.mktemp("fixed") / "model"
    save_model(model, folder)
    return model, folder, bars, ds


def test_backtest_trades_a_saved_model_only_after_its_labels_end(trained, tmp_path):
    model, folder, bars, ds = trained
    # The backtest's own model section differs (type, features): the saved model keeps its own.
    cfg = make_config(strategy=STRATEGY, model={"type": "xgboost", "features": ["rsi_14"], "uri": str(folder)})
    res = run_backtest(cfg, bars)
    label_end = pd.Timestamp(model.info["training"]["label_end"])
    first = ds.calendar[ds.calendar.searchsorted(label_end, side="right") + cfg.validation.embargo]
    pred = res.walk_forward.predictions
    assert pred["timestamp"].min() == first and label_end < first
    # Exactly the saved model's P(up) on its own features; nothing at or before the cut.
    direct = model.predict_bars(bars)
    merged = pred.merge(direct, on=["timestamp", "symbol"], suffixes=("", "_direct"))
    assert len(merged) == len(pred) > 700
    np.testing.assert_allclose(merged["prob_up"], merged["prob_up_direct"], rtol=0, atol=1e-12)
    for sym in bars:
        before = res.walk_forward.prob_up[sym][bars[sym].index < first]
        assert before.isna().all()
    trades = res.ledger.trades_frame()
    assert len(trades) > 0 and (pd.to_datetime(trades["entry_time"]) > first).all()
    m = json.loads((write_run(res, tmp_path / "run") / "metrics.json").read_text())
    html = (tmp_path / "run" / "tearsheet.html").read_text()
    assert ".tmp-" not in html  # the final folder name is shown
    assert f"signals from {first.date().isoformat()}" in html  # the overview says which model, and from when
    assert m["ml"]["model"]["version"].startswith("artifact-")
    assert m["ml"]["model"]["first_signal"] == first.isoformat()
    assert m["ml"]["features"] == model.features
    # The series is predictable from its last return: the out-of-sample score shows it.
    assert m["ml"]["accuracy"] > 0.56 and m["ml"]["roc_auc"] > 0.58


def test_champion_from_the_registry_gives_the_same_predictions(trained, store):
    model, folder, bars, _ = trained
    reg = ModelRegistry.for_config(make_config(store))
    reg.promote(reg.register(model, {"roc_auc": 0.6}), "test")
    cfg = make_config(store, strategy=STRATEGY, model={"uri": "models:/lifecycle-test@champion"})
    by_uri = run_backtest(cfg, bars)
    by_folder = run_backtest(make_config(strategy=STRATEGY, model={"uri": str(folder)}), bars)
    pd.testing.assert_frame_equal(by_uri.walk_forward.predictions, by_folder.walk_forward.predictions)
    assert by_uri.walk_forward.metrics["model"]["version"] == "lifecycle-test/v1"
    assert by_uri.ledger.trades_frame().equals(by_folder.ledger.trades_frame())


def test_a_model_trained_after_the_window_is_refused(trained):
    model, folder, bars, _ = trained
    early = {s: df.iloc[:290] for s, df in bars.items()}
    cfg = make_config(strategy=STRATEGY, model={"uri": str(folder)})
    with pytest.raises(ConfigError, match=r"model.uri: .*no bar is out of sample"):
        run_backtest(cfg, early)


def test_cli_names_model_uri_for_an_unknown_alias(store, tmp_path):
    data = write_csv_folder(tmp_path / "data", {"AAA": ar_bars(400, 0.0, seed=1)})
    out = tmp_path / "run"
    res = run_cli(
        "--config",
        "config/backtest/quickstart.yaml",
        "--out",
        str(out),
        "--set",
        "data.source=csv",
        "--set",
        f"data.path={data}",
        "--set",
        "data.symbols=[AAA]",
        "--set",
        "data.start=2015-01-01",
        "--set",
        "data.end=2016-12-31",
        "--set",
        f"registry.tracking_uri=sqlite:///{store}/mlflow.db",
        "--set",
        "model.uri=models:/nothing@champion",
    )
    assert res.returncode == 2, res.stderr
    lines = res.stderr.strip().splitlines()
    assert lines[-1].startswith("config error: model.uri: ") and "Traceback" not in res.stderr
    assert not out.exists()


def _sma_run(tmp_path, *sets):
    data = write_csv_folder(tmp_path / "data", {"AAA": ar_bars(300, 0.0, seed=1)})
    out = tmp_path / "run"
    res = run_cli(
        "--config",
        "config/backtest/sma_cross.yaml",
        "--out",
        str(out),
        "--set",
        "data.source=csv",
        "--set",
        f"data.path={data}",
        "--set",
        "data.symbols=[AAA]",
        "--set",
        "data.start=2015-01-01",
        "--set",
        "data.end=2016-12-31",
        *(a for s in sets for a in ("--set", s)),
    )
    return res, out


def test_run_backtest_logs_every_run_to_mlflow(store, tmp_path):
    res, out = _sma_run(
        tmp_path, f"registry.tracking_uri=sqlite:///{store}/mlflow.db", f"registry.artifact_location={store}/artifacts"
    )
    assert res.returncode == 0, res.stderr
    metrics = json.loads((out / "metrics.json").read_text())
    reg = ModelRegistry.for_config(make_config(store))
    exp = reg.client.get_experiment_by_name("sma_cross")
    (r,) = reg.client.search_runs([exp.experiment_id])
    assert r.data.tags["kind"] == "backtest" and r.data.tags["run_folder"] == str(out.resolve())
    assert r.data.tags["data_hash"] == metrics["data"]["hash"]
    assert r.data.metrics["sharpe"] == pytest.approx(metrics["sharpe"])
    assert r.data.params["strategy.name"] == "sma_cross"
    names = {a.path for a in reg.client.list_artifacts(r.info.run_id, "run")}
    assert {"run/metrics.json", "run/trades.csv", "run/tearsheet.html"} <= names


def test_an_unusable_tracking_store_only_warns(tmp_path):
    res, out = _sma_run(tmp_path, "registry.tracking_uri=sqlite:////proc/no-such-dir/mlflow.db")
    assert res.returncode == 0, res.stderr
    assert (out / "metrics.json").is_file() and (out / "tearsheet.html").is_file()
    assert "WARNING" in res.stderr and "registry.tracking_uri: could not log the run to MLflow" in res.stderr
    assert "Traceback" not in res.stderr


def test_tracking_warnings_mask_credentials_in_urls():
    from bot.models.tracking import logging_failed

    e = ConnectionError("cannot reach postgresql+psycopg://trader:hunter2@db.internal:5432/mlflow")
    line = logging_failed("the run", e)
    assert "hunter2" not in line and "trader" not in line
    assert line == (
        "registry.tracking_uri: could not log the run to MLflow (ConnectionError: cannot reach "
        "postgresql+psycopg://***@db.internal:5432/mlflow)"
    )


def test_a_live_start_up_model_that_cannot_be_logged_only_warns(trained):
    from loguru import logger

    from bot.live.model import LiveModel, log_startup_model

    model = trained[0]
    live = LiveModel(model, "trained-abc")
    seen = []
    sink = logger.add(lambda m: seen.append(m.record["message"]), level="WARNING")
    try:
        bad = make_config(registry={"tracking_uri": "sqlite:////proc/no-such-dir/mlflow.db"})
        assert log_startup_model(live, bad) is None
        assert log_startup_model(live, make_config(registry={"log_training": False})) is None
    finally:
        logger.remove(sink)
    assert len(seen) == 1 and seen[0].startswith("registry.tracking_uri: could not log the start-up model")


def test_a_multi_horizon_model_keeps_its_horizons_and_combination(trained, tmp_path):
    _, _, bars, _ = trained
    cfg = make_config(
        strategy={"name": "ml_signal", "params": {"entry_threshold": 0.52}},
        model={"horizon": [1, 5], "horizon_combine": "mean"},
        validation={"embargo": 5},
    )
    ds = build_dataset(bars, cfg)
    model = fit_window(ds, cfg, 0, 300, bars, "test")
    save_model(model, tmp_path / "model")
    # The backtest config says horizon 1 and label signal5; the saved model's horizons and label win.
    res = run_backtest(
        make_config(
            strategy=STRATEGY, model={"uri": str(tmp_path / "model"), "label": "signal5"}, validation={"embargo": 5}
        ),
        bars,
    )
    pred = res.walk_forward.predictions
    assert {"prob_up_h1", "prob_up_h5"} <= set(pred.columns)
    np.testing.assert_allclose(pred["prob_up"], (pred["prob_up_h1"] + pred["prob_up_h5"]) / 2, atol=1e-12)
    assert set(res.walk_forward.metrics["by_horizon"]) == {"h1", "h5"}
    # label_end covers the 5-bar labels too: no bar within 5 + embargo bars of the train window's end is used
    label_end = pd.Timestamp(model.info["training"]["label_end"])
    assert label_end >= ds.calendar[299 - 5 - 5] and pred["timestamp"].min() > label_end


def test_live_and_backtest_load_models_through_one_path_and_name_their_config_key(trained, store, tmp_path):
    from bot.live.model import LiveModel

    model, folder, _, ds = trained
    live = LiveModel.load(str(folder), make_config())
    np.testing.assert_array_equal(live.model.prob_up(ds.X), model.prob_up(ds.X))
    assert live.version.startswith("artifact-")
    with pytest.raises(ConfigError, match=r"^live.model_path: .*neither models:/"):
        LiveModel.load(str(tmp_path / "missing"), make_config())
    with pytest.raises(ConfigError, match=r"^live.model_path: .*has no alias 'champion'"):
        LiveModel.load("models:/lifecycle-test@champion", make_config(store))
