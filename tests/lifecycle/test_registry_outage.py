"""An MLflow outage is never "no champion yet": retraining stops with one line, live keeps its model.

Only MLflow's RESOURCE_DOES_NOT_EXIST means "no such model / alias"; any other failure of the store
(here: the error MLflow's REST client raises when the server refuses the connection) stops the
decision. The outage is either a closed loopback port or a real client whose first registered-model
read fails once, as a restarting tracking server does.
"""

from __future__ import annotations

import json
import socket

import numpy as np
import pytest

from bot.alerts import Alerter
from bot.config import dump_config
from bot.errors import UserError
from bot.models.registry import ModelRegistry
from bot.retrain.cli import main
from bot.retrain.job import run_retrain
from bot.retrain.live_lifecycle import LiveLifecycle
from bot.retrain.scheduler import BundleBarModel
from tests.lifecycle.conftest import make_config
from tests.lifecycle.gen import ar_bars

PASSWORD = "pw-S3cr3t-XYZ"


def closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class FlakyClient:
    """A real MlflowClient whose first ``fail`` registered-model reads fail like an unreachable server."""

    def __init__(self, inner, fail: int = 1):
        self.inner, self.fail = inner, fail

    def get_registered_model(self, name):
        from mlflow.exceptions import MlflowException

        if self.fail > 0:
            self.fail -= 1
            raise MlflowException(
                "API request to http://127.0.0.1:1/api/2.0/mlflow/registered-models/get failed "
                "with exception ConnectionError: [Errno 111] Connection refused"
            )
        return self.inner.get_registered_model(name)

    def __getattr__(self, name):
        return getattr(self.inner, name)


@pytest.fixture
def flip(store):
    """A champion (v1, promoted on a fresh store: "no champion yet") and bars whose regime flips at 500."""
    phi = np.where(np.arange(760) < 500, -0.35, 0.35)
    bars = {"AAA": ar_bars(760, phi, seed=11), "BBB": ar_bars(760, phi, seed=12)}
    cfg = make_config(
        store,
        data={"symbols": ["AAA", "BBB"]},
        validation={"train": 250, "test": 80, "embargo": 2},
        monitoring={"enabled": False},
    )
    first = run_retrain(cfg, {s: b.iloc[:460] for s, b in bars.items()}, code_version="t")
    assert first.promoted and first.decision.reason == "promoted: no champion yet"
    return cfg, bars


def test_retrain_against_an_unreachable_registry_is_one_error_line(store, capsys, monkeypatch):
    monkeypatch.setenv("MLFLOW_HTTP_REQUEST_MAX_RETRIES", "0")  # MLflow's own backoff would take minutes
    uri = f"http://trader:{PASSWORD}@127.0.0.1:{closed_port()}"
    path = store / "config.yaml"
    path.write_text(dump_config(make_config(store)))
    out = store / "out"
    code = main(["--config", str(path), "--out", str(out), "-q", "--set", f"registry.tracking_uri={uri}"])
    err = capsys.readouterr().err
    assert code == 1, err
    assert err.startswith(
        "error: registry.tracking_uri: cannot open the store in the MLflow registry at "
        f"http://***@127.0.0.1:{uri.rsplit(':', 1)[1]} ("
    ), err
    assert len(err.strip().splitlines()) == 1 and "Traceback" not in err and PASSWORD not in err
    assert not (out / "retrain.json").exists()


def test_an_outage_while_reading_the_champion_promotes_nothing(flip):
    cfg, bars = flip
    real = ModelRegistry.for_config(cfg)
    flaky = ModelRegistry(cfg.registry, cfg.name, client=FlakyClient(real.client))
    with pytest.raises(UserError) as e:  # the old code read the outage as "no champion" and promoted v2
        run_retrain(cfg, bars, registry=flaky, code_version="t")
    assert e.value.line().startswith(
        "error: registry.tracking_uri: cannot read model 'lifecycle-test' in the MLflow registry at sqlite:///"
    ), e.value.line()
    assert [v.version for v in real.versions()] == [1] and real.alias_version("champion") == 1
    # the same data through a healthy registry: the challenger does win (so the outage changed the outcome)
    assert run_retrain(cfg, bars, registry=real, code_version="t").promoted


def test_a_live_retrain_during_an_outage_keeps_the_model_and_alerts(flip):
    cfg, bars = flip
    cfg = cfg.model_copy(update={"retrain": cfg.retrain.model_copy(update={"schedule": "0 2 * * *"})})
    real = ModelRegistry.for_config(cfg)
    model, version = real.load("champion")
    posted = []
    alerter = Alerter("http://127.0.0.1:9/hook", post=lambda url, body, timeout: posted.append(json.loads(body)) or 200)
    life = LiveLifecycle(
        cfg, registry=ModelRegistry(cfg.registry, cfg.name, client=FlakyClient(real.client)), alerter=alerter
    )
    slot = life.adopt(BundleBarModel(model, f"lifecycle-test/v{version}"))
    life.start(lambda: bars)
    try:
        assert life.scheduler.trigger_now() and life.scheduler.finished.wait(60)
    finally:
        life.stop()
    assert isinstance(life.scheduler.last_error, UserError), life.scheduler.last_result
    assert slot.staged_version is None and slot.version == "lifecycle-test/v1"  # no swap
    assert real.alias_version("champion") == 1 and [v.version for v in real.versions()] == [1]
    assert life.state.snapshot()["retrain"]["outcome"] == "failed"
    (alert,) = posted
    assert "retrain failed in lifecycle-test; model unchanged" in json.dumps(alert)
    assert "registry.tracking_uri: cannot read model" in json.dumps(alert)
