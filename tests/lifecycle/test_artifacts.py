"""Model artifacts: round trip in the libraries' own formats, and refusal of anything that does not verify."""

from __future__ import annotations

import json

import numpy as np
import pytest
import skops.io as sio

from bot.ml.dataset import build_dataset
from bot.models import artifacts
from bot.models.artifacts import ArtifactError, load_model, save_model
from bot.models.training import fit_window
from tests.lifecycle.conftest import make_config
from tests.lifecycle.gen import ar_bars

FAST_XGB = {"n_estimators": 20, "max_depth": 2}


def _fit(model: dict, n: int = 500):
    cfg = make_config(model=model)
    bars = {"AAA": ar_bars(n, 0.3, seed=1)}
    ds = build_dataset(bars, cfg)
    return fit_window(ds, cfg, 0, n - 100, bars, code_version="test"), ds


@pytest.fixture(scope="module")
def xgb_model():
    return _fit({"type": "xgboost", "params": FAST_XGB, "calibration": "sigmoid"})


def test_xgboost_round_trip_uses_xgboost_format_and_predicts_identically(tmp_path, xgb_model):
    model, ds = xgb_model
    manifest = save_model(model, tmp_path / "m")
    files = sorted(p.name for p in (tmp_path / "m").iterdir())
    assert files == ["manifest.json", "model.skops", "xgb_0.ubj", "xgb_1.ubj", "xgb_2.ubj"]  # 3 calibration folds
    assert not any(name.endswith((".pkl", ".pickle", ".joblib")) for name in files)
    loaded = load_model(tmp_path / "m")
    np.testing.assert_array_equal(loaded.prob_up(ds.X), model.prob_up(ds.X))
    assert manifest["features"] == ["ret_1", "ret_5", "rsi_14"]
    assert manifest["model_type"] == "xgboost" and manifest["params"] == FAST_XGB
    assert manifest["label"] == "direction" and manifest["horizons"] == [1]
    assert manifest["data_hash"].startswith("sha256:") and manifest["code_version"] == "test"
    assert manifest["training"]["label_end"] < str(ds.calendar[-100])
    assert set(manifest["files"]) == {"model.skops", "xgb_0.ubj", "xgb_1.ubj", "xgb_2.ubj"}
    assert loaded.info["training"] == manifest["training"]


def test_xgboost_json_format(tmp_path, xgb_model):
    model, ds = xgb_model
    save_model(model, tmp_path / "m", xgb_format="json")
    assert json.loads((tmp_path / "m" / "xgb_0.json").read_text())["learner"]  # XGBoost's own JSON schema
    np.testing.assert_array_equal(load_model(tmp_path / "m").prob_up(ds.X), model.prob_up(ds.X))


@pytest.mark.parametrize(
    "model",
    [
        {"type": "logistic", "calibration": "sigmoid"},
        {"type": "random_forest", "params": {"n_estimators": 10}, "calibration": "isotonic"},
        {"type": "hist_gb", "params": {"max_iter": 20}},
        {"type": "ensemble", "params": {"members": {"xgboost": 1, "logistic": 1}, "xgboost": FAST_XGB}},
        {"type": "stacking", "params": {"members": ["xgboost", "logistic"], "xgboost": FAST_XGB}},
        {"type": "logistic", "label": "signal5", "horizon": [1, 3]},
        {"type": "logistic", "label": "return"},
    ],
)
def test_every_model_type_round_trips(tmp_path, model):
    fitted, ds = _fit(model)
    save_model(fitted, tmp_path / "m")
    loaded = load_model(tmp_path / "m")
    np.testing.assert_allclose(loaded.prob_up(ds.X), fitted.prob_up(ds.X), rtol=0, atol=1e-12)
    assert loaded.horizons == fitted.horizons


def test_altered_file_is_refused_before_deserialising(tmp_path, xgb_model, monkeypatch):
    save_model(xgb_model[0], tmp_path / "m")
    path = tmp_path / "m" / "xgb_1.ubj"
    data = bytearray(path.read_bytes())
    data[len(data) // 2] ^= 0xFF
    path.write_bytes(bytes(data))
    monkeypatch.setattr(sio, "load", lambda *a, **k: pytest.fail("deserialised an unverified file"))
    with pytest.raises(ArtifactError, match=r"xgb_1.ubj: checksum .* does not match"):
        load_model(tmp_path / "m")


def test_missing_file_and_bad_manifest_are_refused(tmp_path, xgb_model):
    save_model(xgb_model[0], tmp_path / "m")
    (tmp_path / "m" / "xgb_2.ubj").unlink()
    with pytest.raises(ArtifactError, match="xgb_2.ubj: listed in the manifest but missing"):
        load_model(tmp_path / "m")
    (tmp_path / "m" / "manifest.json").write_text("{not json")
    with pytest.raises(ArtifactError, match="not valid JSON"):
        load_model(tmp_path / "m")
    with pytest.raises(ArtifactError, match="manifest not found"):
        load_model(tmp_path / "nothing")


def test_pinned_manifest_hash_catches_a_rewritten_manifest(tmp_path, xgb_model):
    save_model(xgb_model[0], tmp_path / "m")
    pinned = artifacts.manifest_sha256(tmp_path / "m")
    path = tmp_path / "m" / "manifest.json"
    manifest = json.loads(path.read_text())
    manifest["features"] = ["ret_5", "ret_1", "rsi_14"]  # consistent checksums, different meaning
    path.write_text(json.dumps(manifest))
    load_model(tmp_path / "m")  # the file checksums alone still pass ...
    with pytest.raises(ArtifactError, match="does not match the registered"):
        load_model(tmp_path / "m", expected_manifest_sha256=pinned)  # ... the registry's pin does not


class Sneaky:
    """A type that is not on the allow-list."""

    def __init__(self):
        self.x = 1


def test_untrusted_type_is_refused_on_save_and_on_load(tmp_path, xgb_model):
    model = xgb_model[0]
    bad = type(model)({1: Sneaky()}, model.features, info=model.info)
    with pytest.raises(ValueError, match="not on the load allow-list"):
        save_model(bad, tmp_path / "bad")
    save_model(model, tmp_path / "m")  # now forge a consistent artifact around an untrusted type
    folder = tmp_path / "m"
    sio.dump({"h1": Sneaky()}, folder / "model.skops")
    manifest = json.loads((folder / "manifest.json").read_text())
    manifest["files"]["model.skops"] = artifacts.sha256_file(folder / "model.skops")
    (folder / "manifest.json").write_text(json.dumps(manifest))
    with pytest.raises(ArtifactError, match="not on the allow-list: .*Sneaky"):
        load_model(folder)


def test_save_refuses_incomplete_info_and_non_empty_folder(tmp_path, xgb_model):
    model = xgb_model[0]
    with pytest.raises(ValueError, match="lacks data_hash"):
        save_model(
            type(model)(model.models, model.features, info={k: v for k, v in model.info.items() if k != "data_hash"}),
            tmp_path / "a",
        )
    (tmp_path / "b").mkdir()
    (tmp_path / "b" / "x").write_text("x")
    with pytest.raises(FileExistsError):
        save_model(model, tmp_path / "b")
    assert not any(p.name.startswith(".") for p in tmp_path.iterdir())  # no temporary folder left
