"""python -m bot.drift on CSV data with a volatility regime change, with and without a champion."""

from __future__ import annotations

import json
import re

import numpy as np
import pytest

from bot.config import dump_config
from bot.drift.cli import main, parse_period
from bot.retrain.cli import main as retrain
from tests.lifecycle.conftest import make_config
from tests.lifecycle.gen import ar_bars, write_csv_folder
from tests.lifecycle.loopback import WebhookServer


@pytest.fixture
def setup(store):
    vol = np.where(np.arange(900) < 700, 0.01, 0.03)
    bars = {"AAA": ar_bars(900, 0.3, vol, seed=7), "BBB": ar_bars(900, 0.3, vol, seed=8)}
    folder = write_csv_folder(store / "csv", bars)
    cfg = make_config(
        store,
        data={"source": "csv", "path": str(folder), "symbols": ["AAA", "BBB"]},
        drift={"action": "halt_entries", "window": 63},
    )
    path = store / "config.yaml"
    path.write_text(dump_config(cfg))
    return str(path), bars["AAA"].index, store


def _drift(config, out, ref, cur, *extra) -> dict:
    assert main(["--config", config, "--reference", ref, "--current", cur, "--out", str(out), "-q", *extra]) == 0
    return json.loads((out / "drift.json").read_text())


def test_drift_cli_quiet_before_and_acting_after_the_change(setup, monkeypatch, capsys):
    config, d, store = setup
    assert retrain(["--config", config, "--out", str(store / "r"), "-q", "--set", f"data.end={d[599].date()}"]) == 0
    ref = f"{d[100].date()}:{d[495].date()}"  # about the champion's training window
    quiet = _drift(config, store / "q", ref, f"{d[600].date()}:{d[690].date()}")
    assert not quiet["drift"] and quiet["decision"]["action"] == "none"
    assert quiet["model"] == {"name": "lifecycle-test", "version": 1}
    assert quiet["prediction"]["available"] and quiet["performance"]["available"]
    with WebhookServer() as hook:
        monkeypatch.setenv("MP_ALERT_WEBHOOK_URL", hook.url)
        loud = _drift(config, store / "l", ref, f"{d[710].date()}:{d[899].date()}")
    assert loud["drift"] and loud["data"]["drift"] and "vol_20" not in quiet["data"]["drifted_features"]
    assert loud["decision"] == {
        "drift": True,
        "action": "halt_entries",
        "position_scale": 1.0,
        "halt_entries": True,
        "retrain": False,
        "reasons": loud["reasons"],
    }
    assert set(loud["features"]) == {"ret_1", "ret_5", "rsi_14"}
    f = loud["features"]["ret_1"]
    assert f["drifted"] and f["psi"] >= 0.25 and f["ks_pvalue"] < 0.05 / 3
    assert loud["current"]["start"].startswith(str(d[710].date())) and loud["current"]["n_rows"] == 2 * 190
    (alert,) = hook.received
    assert alert["json"]["title"] == "drift in lifecycle-test" and alert["json"]["fields"]["action"] == "halt_entries"
    html = (store / "l" / "drift.html").read_text()
    assert "DRIFT" in html and "<svg" in html and "ret_1" in html
    assert not re.search(r"(src|href)=['\"]?https?:", html)  # self-contained
    assert "DRIFT: " in capsys.readouterr().out


def test_drift_cli_without_a_model_reports_data_drift_only(setup):
    config, d, store = setup
    doc = _drift(config, store / "o", f"{d[100].date()}:{d[600].date()}", f"{d[750].date()}:", "--model", "none")
    assert doc["drift"] and doc["model"] is None
    assert doc["prediction"] == {"available": False, "drift": False, "reason": "no model requested (--model none)"}
    none_yet = _drift(config, store / "p", f"{d[100].date()}:{d[600].date()}", f"{d[750].date()}:")
    assert "no champion registered" in none_yet["prediction"]["reason"]


def test_periods_and_bad_input(setup, capsys):
    config, d, store = setup
    lo, hi = parse_period("2020-01-01:2020-01-31", "--current")
    assert (str(lo), str(hi)) == ("2020-01-01 00:00:00+00:00", "2020-01-31 23:59:59.999999999+00:00")
    assert parse_period("2020-01-01T10:00..2020-01-02T10:00", "x")[1].hour == 10
    assert parse_period(":2020-01-31", "x")[0] is None and parse_period("2020-01-01:", "x")[1] is None
    assert main(["--config", config, "--reference", "junk", "--current", ":", "--out", str(store / "x")]) == 2
    assert capsys.readouterr().err.startswith("config error: --reference: expected START:END")
    assert (
        main(
            [
                "--config",
                config,
                "--reference",
                "1990-01-01:1990-12-31",
                "--current",
                "2015-01-01:",
                "--out",
                str(store / "x"),
                "--model",
                "none",
            ]
        )
        == 2
    )
    assert "config error: --reference: no bars of AAA, BBB fall in" in capsys.readouterr().err
    assert not (store / "x" / "drift.json").exists()
