#!/usr/bin/env python
"""Benchmark: bar-close-to-order latency of a paper session with N symbols of the ML strategy.

Runs ``run_session`` on a paper venue replaying synthetic daily sample bars (``data.source:
sample``, symbols S00..S<N-1>, 2015-2019): ml_signal on the starter features, an XGBoost model
trained at start-up on the last 504 bars, ``--bars`` traded bars. Entry/exit thresholds are 0.5 so
that most bars send orders (the latency is only observed when an order is sent). The latency is
what the session exports as ``mp_bar_to_order_latency_seconds`` (time from the get_bars call that
showed the newest bar to each accepted submit_order); its p50/p99 are read from the histogram
scraped from the session's own /metrics on 127.0.0.1 at the end of the replay, with Prometheus'
``histogram_quantile`` interpolation (buckets 5, 10, 25, 50 ms ...).

Each mode runs once in the same process: ``incremental`` (the default path: features and signals
streamed bar by bar, bot/features/stream.py, bit for bit equal to the full computation) and
``full`` (every feature and signal recomputed over the whole history per symbol, the old path);
the ratio is full / incremental. Measured 2026-12-06 on 2 idle cores, 50 symbols, 60 bars:
incremental p50 61 ms / p99 99 ms, full 406 / 975 ms (the target is p99 < 20 ms). With ``--prometheus PATH``
a real Prometheus binary also scrapes the exporter
on 127.0.0.1 and its ``histogram_quantile`` answer is printed next to ours.

    python bench/bench_live_latency.py [--symbols 50] [--bars 60] [--modes full,incremental]
"""

from __future__ import annotations

import argparse
import json
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.parse
import urllib.request
from pathlib import Path

import common  # noqa: F401  (first: puts the repo on sys.path)
from loguru import logger

from bot.configure import parse_config
from bot.features import wide
from bot.live.connect import connect
from bot.live.journal import Journal
from bot.live.session import run_session, warmup_bars
from strategies import build_strategy

TRAIN = 504
METRIC = "mp_bar_to_order_latency_seconds"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def config(n: int, tmp: Path, port: int):
    return parse_config(
        {
            "name": f"bench-latency-{n}",
            "seed": 7,
            "data": {
                "source": "sample",
                "symbols": [f"S{i:02d}" for i in range(n)],
                "timeframe": "1d",
                "start": "2015-01-01",
                "end": "2019-12-31",
            },
            "strategy": {"name": "ml_signal", "params": {"entry_threshold": 0.5, "exit_threshold": 0.5}},
            "model": {"type": "xgboost", "features": "starter", "calibration": "sigmoid"},
            "validation": {"train": TRAIN, "embargo": 5},
            "broker": {"kind": "paper", "cash": 1_000_000, "commission": 0.001, "slippage": 0.0005},
            "risk": {"sizing": "fixed_fraction", "fraction": 0.9 / n, "max_position": 1.0 / n},
            "live": {"paper_data": "replay", "poll_seconds": 0, "state_db": f"sqlite:///{tmp / 'journal.db'}"},
            "registry": {"log_training": False, "tracking_uri": f"sqlite:///{tmp / 'mlflow.db'}"},
            "monitoring": {"port": port},
        }
    )


def parse_histogram(text: str) -> tuple[list[tuple[float, float]], float, float]:
    """Return the (le, cumulative count) buckets, sum and count of METRIC from exposition text."""
    buckets, total, count = [], 0.0, 0.0
    for line in text.splitlines():
        if line.startswith(METRIC + "_bucket"):
            le = line.split('le="')[1].split('"')[0]
            buckets.append((float(le), float(line.rsplit(" ", 1)[1])))
        elif line.startswith(METRIC + "_sum"):
            total = float(line.rsplit(" ", 1)[1])
        elif line.startswith(METRIC + "_count"):
            count = float(line.rsplit(" ", 1)[1])
    return sorted(buckets), total, count


def histogram_quantile(q: float, buckets: list[tuple[float, float]]) -> float:
    """Prometheus' histogram_quantile: linear interpolation inside the bucket holding rank q * n."""
    n = buckets[-1][1] if buckets else 0.0
    if n == 0:
        return float("nan")
    rank, lo, below = q * n, 0.0, 0.0
    for le, cum in buckets:
        if cum >= rank:
            if le == float("inf"):
                return lo
            return lo + (le - lo) * (rank - below) / max(cum - below, 1e-12)
        lo, below = le, cum
    return lo


class Prometheus:
    """A real Prometheus server scraping the exporter every 200 ms (127.0.0.1 only)."""

    def __init__(self, binary: str, target_port: int, tmp: Path):
        self.port = free_port()
        conf = tmp / "prometheus.yml"
        conf.write_text(
            "global: {scrape_interval: 200ms, evaluation_interval: 1s}\nscrape_configs:\n"
            f"  - job_name: mp\n    scrape_interval: 200ms\n    scrape_timeout: 150ms\n"
            f"    static_configs: [{{targets: ['127.0.0.1:{target_port}']}}]\n"
        )
        self.proc = subprocess.Popen(
            [
                binary,
                f"--config.file={conf}",
                f"--storage.tsdb.path={tmp / 'tsdb'}",
                f"--web.listen-address=127.0.0.1:{self.port}",
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )

    def quantile(self, q: float) -> float:
        expr = f"histogram_quantile({q}, {METRIC}_bucket)"
        url = f"http://127.0.0.1:{self.port}/api/v1/query?" + urllib.parse.urlencode({"query": expr})
        with urllib.request.urlopen(url, timeout=5) as r:
            result = json.load(r)["data"]["result"]
        return float(result[0]["value"][1]) if result else float("nan")

    def stop(self) -> None:
        self.proc.terminate()
        self.proc.wait(timeout=10)


def run_once(n: int, bars: int, mode: str, prometheus: str | None) -> dict:
    """Run one paper session; return latency quantiles, order count and wall seconds."""
    wide.ENABLED = mode != "full"
    with tempfile.TemporaryDirectory() as d:
        tmp = Path(d)
        port = free_port()
        cfg = config(n, tmp, port)
        journal = Journal(cfg.live.state_db)
        stop = threading.Event()
        conn = connect(cfg, journal, stop, warmup_bars(cfg, build_strategy(cfg)))
        prom = Prometheus(prometheus, port, tmp) if prometheus else None
        scraped: dict = {}
        steps = {"n": 0}

        def wait(seconds: float) -> bool:
            steps["n"] += 1
            if steps["n"] >= bars:  # the last step's orders are out: read the metrics before the exporter stops
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=5) as r:
                    scraped["text"] = r.read().decode()
                if prom is not None:
                    time.sleep(1.0)  # two scrapes at least after the last order
                    scraped["prom"] = (prom.quantile(0.5), prom.quantile(0.99))
                return False
            return conn.wait(seconds)

        t0 = time.perf_counter()
        try:
            run_session(cfg, conn.venue, journal, wait=wait, stop=stop)
        finally:
            if prom is not None:
                prom.stop()
        wall = time.perf_counter() - t0
        journal.close()
    buckets, total, count = parse_histogram(scraped.get("text", ""))
    out = {
        "p50": histogram_quantile(0.5, buckets),
        "p99": histogram_quantile(0.99, buckets),
        "mean": total / count if count else float("nan"),
        "orders": int(count),
        "wall": wall,
    }
    if "prom" in scraped:
        out["prom_p50"], out["prom_p99"] = scraped["prom"]
    return out


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--symbols", type=int, default=50)
    ap.add_argument("--bars", type=int, default=60, help="traded bars per session")
    ap.add_argument("--modes", default="full,incremental")
    ap.add_argument(
        "--prometheus",
        default=shutil.which("prometheus"),
        help="Prometheus binary to scrape the exporter too (default: on PATH if installed)",
    )
    ap.add_argument("--no-prometheus", action="store_true")
    args = ap.parse_args()
    logger.remove()
    logger.add(sys.stderr, level="WARNING")
    prom = None if args.no_prometheus else args.prometheus
    print(
        f"symbols={args.symbols} traded bars={args.bars} warm-up={TRAIN} daily bars, ml_signal starter xgboost; "
        f"prometheus={'yes' if prom else 'no'}"
    )
    print(
        f"{'mode':12} {'p50 ms':>8} {'p99 ms':>8} {'mean ms':>8} {'orders':>7} {'wall s':>7}"
        + (f" {'prom p50':>9} {'prom p99':>9}" if prom else "")
    )
    results = {}
    for mode in args.modes.split(","):
        r = results[mode] = run_once(args.symbols, args.bars, mode, prom)
        extra = (
            f" {r.get('prom_p50', float('nan')) * 1e3:9.2f} {r.get('prom_p99', float('nan')) * 1e3:9.2f}"
            if prom
            else ""
        )
        print(
            f"{mode:12} {r['p50'] * 1e3:8.2f} {r['p99'] * 1e3:8.2f} {r['mean'] * 1e3:8.2f} {r['orders']:7d} "
            f"{r['wall']:7.1f}{extra}",
            flush=True,
        )
    if {"full", "incremental"} <= results.keys():
        f, i = results["full"], results["incremental"]
        print(
            f"full / incremental: p50 x{f['p50'] / i['p50']:.1f}, p99 x{f['p99'] / i['p99']:.1f}, "
            f"mean x{f['mean'] / i['mean']:.1f}"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
