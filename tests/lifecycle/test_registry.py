"""MLflow registry: versions, aliases, promote / rollback, verified loading of models:/<name>@champion."""

from __future__ import annotations

import numpy as np
import pytest

from bot.ml.dataset import build_dataset
from bot.models.artifacts import ArtifactError
from bot.models.registry import ModelRegistry, RegistryError, load_model_uri
from bot.models.training import fit_window
from tests.lifecycle.conftest import make_config
from tests.lifecycle.gen import ar_bars


@pytest.fixture(scope="module")
def fitted():
    cfg = make_config()
    bars = {"AAA": ar_bars(420, 0.3, seed=2)}
    ds = build_dataset(bars, cfg)
    return [fit_window(ds, cfg, 0, end, bars, "test") for end in (300, 360)], ds


def test_register_promote_rollback_and_load(store, fitted):
    cfg = make_config(store)
    reg = ModelRegistry.for_config(cfg)
    (m1, m2), ds = fitted
    v1 = reg.register(m1, {"roc_auc": 0.6}, {"gate": "initial"})
    v2 = reg.register(m2, {"roc_auc": 0.7})
    assert (v1, v2) == (1, 2)
    assert reg.promote(v1, "first") is None
    assert reg.promote(v2, "better") == v1
    reg.set_alias("challenger", v1)
    listed = {v.version: v for v in reg.versions()}
    assert listed[2].aliases == ("champion",) and listed[1].aliases == ("challenger",)
    assert listed[1].tags["gate"] == "initial" and listed[1].tags["manifest_sha256"].startswith("sha256:")
    loaded, version = load_model_uri("models:/lifecycle-test@champion", cfg.registry)
    assert version == 2
    np.testing.assert_array_equal(loaded.prob_up(ds.X), m2.prob_up(ds.X))
    assert reg.rollback("bad live results") == (2, 1)
    assert reg.alias_version("champion") == 1 and reg.history() == [1]
    assert reg.load("champion")[1] == 1
    assert {v.version: v for v in reg.versions()}[2].tags["rolled_back"] == "bad live results"
    with pytest.raises(RegistryError, match="no earlier champion"):
        reg.rollback()


def test_run_logs_params_metrics_features_and_data_hash(store, fitted):
    reg = ModelRegistry.for_config(make_config(store))
    model = fitted[0][0]
    v = reg.register(model, {"roc_auc": 0.61, "nested": {"brier": 0.24}, "text": "skipped"})
    run = reg.client.get_run(reg.versions()[0].run_id)
    assert v == 1
    assert run.data.metrics == {"roc_auc": 0.61, "nested.brier": 0.24}
    assert run.data.params["model.type"] == "logistic"
    assert run.data.params["features"] == '["ret_1", "ret_5", "rsi_14"]'
    assert run.data.params["training.label_end"] == model.info["training"]["label_end"]
    assert run.data.tags["data_hash"] == model.info["data_hash"]
    assert run.data.tags["code_version"] == "test"
    names = {a.path for a in reg.client.list_artifacts(run.info.run_id, "model")}
    assert names == {"model/manifest.json", "model/model.skops"}


def test_altered_artifact_in_the_store_is_refused(store, fitted):
    reg = ModelRegistry.for_config(make_config(store))
    v = reg.register(fitted[0][0], {})
    reg.promote(v)
    skops = next((store / "artifacts").rglob("model.skops"))
    skops.write_bytes(skops.read_bytes() + b"\0")
    with pytest.raises(ArtifactError, match=r"models:/lifecycle-test/1:model.skops: checksum .* does not match"):
        reg.load("champion")


def test_unknown_alias_version_and_uri_are_clear_errors(store, fitted):
    reg = ModelRegistry.for_config(make_config(store))
    with pytest.raises(RegistryError, match="no alias 'champion'"):
        reg.load("champion")
    reg.register(fitted[0][0], {})
    with pytest.raises(RegistryError, match="no version 7"):
        reg.promote(7)
    with pytest.raises(RegistryError, match="is not models:/"):
        load_model_uri("runs:/abc/model", reg.cfg)


def _config_file(store, tmp_path):
    from bot.config import dump_config

    path = tmp_path / "cfg.yaml"
    path.write_text(dump_config(make_config(store)))
    return str(path)


def test_cli_list_promote_rollback_show(store, fitted, capsys):
    from bot.models.cli import main

    reg = ModelRegistry.for_config(make_config(store))
    for m in fitted[0]:
        reg.register(m, {}, {"gate": "promoted"})
    cfg = _config_file(store, store)
    assert main(["promote", "--config", cfg, "1"]) == 0
    assert main(["promote", "--config", cfg, "2", "--reason", "beats v1"]) == 0
    assert main(["list", "--config", cfg]) == 0
    out = capsys.readouterr().out
    assert "champion is now version 2 (was 1)" in out
    lines = [ln.split() for ln in out.splitlines() if ln.strip()[:1].isdigit()]
    assert [ln[:2] for ln in lines] == [["2", "champion"], ["1", "-"]]
    assert main(["rollback", "--config", cfg]) == 0
    assert "champion is now version 1" in capsys.readouterr().out
    assert main(["show", "--config", cfg, "champion"]) == 0
    shown = capsys.readouterr().out
    assert '"version": 1' in shown and '"features": [' in shown
    assert main(["rollback", "--config", cfg]) == 2
    assert capsys.readouterr().err.startswith("config error: registry.model_name (lifecycle-test): no earlier champion")


def test_cli_logs_a_backtest_run_folder(store, capsys):
    import json

    from bot.config import dump_config
    from bot.models.cli import main

    run = store / "run"
    run.mkdir()
    (run / "config.yaml").write_text(dump_config(make_config(store)))
    (run / "metrics.json").write_text(
        json.dumps(
            {
                "sharpe": 1.2,
                "ml": {"accuracy": 0.55, "confusion": [[1]]},
                "data": {"hash": "sha256:abc"},
                "code_version": "v",
            }
        )
    )
    assert main(["log-backtest", str(run)]) == 0
    reg = ModelRegistry.for_config(make_config(store))
    exp = reg.client.get_experiment_by_name("lifecycle-test")
    (r,) = reg.client.search_runs([exp.experiment_id])
    assert r.data.metrics == {"sharpe": 1.2, "ml.accuracy": 0.55}
    assert r.data.tags["data_hash"] == "sha256:abc" and r.data.tags["kind"] == "backtest"
    assert r.data.params["model.type"] == "logistic"
    assert {a.path for a in reg.client.list_artifacts(r.info.run_id, "run")} == {"run/config.yaml", "run/metrics.json"}


def test_the_registry_works_on_postgresql(postgres_url, fitted, tmp_path):
    cfg = make_config(registry={"tracking_uri": postgres_url, "artifact_location": str(tmp_path / "artifacts")})
    reg = ModelRegistry.for_config(cfg)
    (m1, m2), ds = fitted
    v1, v2 = reg.register(m1, {"roc_auc": 0.6}), reg.register(m2, {"roc_auc": 0.7})
    reg.promote(v1, "first")
    reg.promote(v2, "better")
    loaded, version = load_model_uri("models:/lifecycle-test@champion", cfg.registry)
    assert version == v2
    np.testing.assert_array_equal(loaded.prob_up(ds.X), m2.prob_up(ds.X))
    assert reg.rollback("worse live") == (v2, v1) and reg.alias_version("champion") == v1
