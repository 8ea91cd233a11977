"""python -m bot.data: download (progress, resume, rate limits) and verify-hash."""

from __future__ import annotations

import json
import subprocess
import sys

import pandas as pd
import pytest
from data_fakes import FakeBinance, serve

from bot.data import data_hash, data_manifest, load_bars
from bot.data.cache import cache_file, read_cache
from bot.data.cli import main
from bot.venues import sources  # noqa: F401  (registers the ccxt bar source, as python -m bot.data does)


@pytest.fixture(scope="module")
def hourly() -> pd.DataFrame:
    return load_bars("sample", ["BTC/USDT"], "1h", start="2021-01-01", end="2021-02-28", seed=5)["BTC/USDT"]


def _download(url: str, cache, *extra: str) -> int:
    return main(
        [
            "download",
            "--source",
            "ccxt",
            "--exchange",
            "binance",
            "--url",
            url,
            "--symbols",
            "BTC/USDT,ETH/USDT",
            "--timeframe",
            "1h",
            "--start",
            "2021-01-02",
            "--end",
            "2021-02-10",
            "--cache-dir",
            str(cache),
            "--chunk-bars",
            "200",
            "--retries",
            "0",
            "-q",
            *extra,
        ]
    )


def test_download_fills_cache_and_resumes(tmp_path, hourly, capsys):
    frames = {"BTCUSDT": hourly, "ETHUSDT": hourly * 0.1}
    broken = FakeBinance(frames, fail_after=3)
    with serve(broken) as url:
        assert _download(url, tmp_path) == 4
    assert "venue error" in capsys.readouterr().err
    partial, cov = read_cache(cache_file(tmp_path, "BTC/USDT", "1h"))
    assert len(partial) == 600 and cov.end == pd.Timestamp("2021-01-26 23:59:59.999999999", tz="UTC")

    fake = FakeBinance(frames, fail_first=1)
    with serve(fake) as url:
        assert _download(url, tmp_path, "--retries", "1", "--backoff", "0.01") == 0
    out = capsys.readouterr().out
    assert "BTC/USDT 1h: 960 bars" in out and "ETH/USDT 1h: 960 bars" in out
    starts = [pd.Timestamp(int(q["startTime"]), unit="ms", tz="UTC") for q in fake.kline_calls]
    assert starts[0] == pd.Timestamp("2021-01-27", tz="UTC")  # resumed after the 3 saved chunks
    assert len(fake.kline_calls) == 1 + 2 + 5  # one rate-limited retry, 2 BTC chunks, 5 ETH chunks
    btc, _ = read_cache(cache_file(tmp_path, "BTC/USDT", "1h"))
    pd.testing.assert_frame_equal(btc, hourly.loc["2021-01-02":"2021-02-10"], check_freq=False)


def test_download_needs_start(tmp_path, capsys):
    code = main(["download", "--source", "sample", "--symbols", "A", "--cache-dir", str(tmp_path), "-q"])
    assert code == 2
    assert capsys.readouterr().err.startswith("config error: --start:")


def test_verify_hash_ok_and_mismatch(real_data, tmp_path, capsys):
    folder = str(real_data / "equities" / "daily")
    bars = load_bars("csv", ["AAPL", "MSFT"], path=folder, end="2020-12-31")
    args = ["verify-hash", "--source", "csv", "--path", folder, "--symbols", "AAPL,MSFT", "--end", "2020-12-31", "-q"]
    assert main([*args, data_hash(bars)]) == 0
    assert capsys.readouterr().out.startswith(f"ok {data_hash(bars)}")
    manifest = data_manifest(bars)
    manifest["symbols"]["MSFT"]["hash"] = "sha256:old"
    (tmp_path / "m.json").write_text(json.dumps(manifest))
    assert main([*args, "--manifest", str(tmp_path / "m.json"), "sha256:old"]) == 3
    err = capsys.readouterr().err
    assert err.startswith("data error: ") and "hash mismatch" in err and "(changed: MSFT)" in err


def test_module_entry_point(tmp_path):
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "bot.data",
            "verify-hash",
            "--source",
            "sample",
            "--symbols",
            "A",
            "--start",
            "2015-01-01",
            "--end",
            "2015-01-31",
            "-q",
            "sha256:nope",
        ],
        capture_output=True,
        text=True,
    )
    assert proc.returncode == 3
    assert proc.stderr.startswith("data error: sample:-: hash mismatch")


def test_verify_hash_of_a_run_folder(tmp_path, capsys):
    (tmp_path / "config.yaml").write_text(
        "name: t\ndata:\n  source: sample\n  symbols: [A, B]\n  start: 2015-01-01\n  end: 2015-03-31\n"
    )
    bars = load_bars("sample", ["A", "B"], start="2015-01-01", end="2015-03-31")
    (tmp_path / "metrics.json").write_text(json.dumps({"data": {"hash": data_hash(bars)}}))
    assert main(["verify-hash", "--run", str(tmp_path), "-q"]) == 0
    (tmp_path / "metrics.json").write_text(json.dumps({"data": {"hash": "sha256:other"}}))
    assert main(["verify-hash", "--run", str(tmp_path), "-q"]) == 3
    assert "hash mismatch" in capsys.readouterr().err
