"""``python -m bot.data``: download bars into the Parquet cache, or re-check data against a hash.

    python -m bot.data download --source ccxt --exchange binance --symbols BTC/USDT,ETH/USDT \\
        --timeframe 1h --start 2020-01-01 [--end 2024-01-01] [--cache-dir data/cache]
    python -m bot.data verify-hash --source csv --path ../shared/data/equities/daily \\
        --symbols AAPL,MSFT [--start ... --end ...] sha256:...
    python -m bot.data verify-hash --run backtests/my-run

Exit codes: 0 ok, 2 config error, 3 data error (hash mismatch included), 4 venue error.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from loguru import logger

from bot.cli import program, run_cli, setup_logging
from bot.config import read_config, validate_config
from bot.data.cache import ParquetCache
from bot.data.download import download, log_chunk
from bot.data.hashing import data_manifest
from bot.data.loading import load_data
from bot.data.providers import ProviderSettings, build_provider, system_clock
from bot.errors import ConfigError, DataError, VenueError
from bot.timeframes import bounds

DEFAULT_CACHE = "data/cache"


def _common(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--source",
        default="csv",
        help="csv, parquet, sample, yfinance, alpaca, ccxt; comma-separated for a fallback chain",
    )
    p.add_argument("--symbols", required=True, help="comma-separated, e.g. BTC/USDT,ETH/USDT")
    p.add_argument("--timeframe", default="1d")
    p.add_argument("--start")
    p.add_argument("--end")
    p.add_argument("--path", help="CSV/Parquet folder")
    p.add_argument("--exchange", default="binance", help="ccxt exchange id")
    p.add_argument("--url", help="base-URL override of the network source (proxies, fakes)")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--retries", type=int, default=3, help="retries of timeouts/rate limits per request")
    p.add_argument("--backoff", type=float, default=1.0, help="first retry wait (s), doubled each time")
    p.add_argument("-q", "--quiet", action="store_true", help="warnings and errors only, no progress bar")
    p.add_argument("-v", "--verbose", action="store_true", help="log debug messages")


def parser() -> argparse.ArgumentParser:
    """Return the argument parser of ``python -m bot.data``."""
    p = argparse.ArgumentParser(prog=program("python -m bot.data"), description="Market data tools.")
    sub = p.add_subparsers(dest="command", required=True)
    d = sub.add_parser("download", help="fill the Parquet cache (resumes, respects rate limits)")
    _common(d)
    d.add_argument("--cache-dir", default=DEFAULT_CACHE)
    d.add_argument("--chunk-bars", type=int, default=1000, help="bars per request chunk")
    v = sub.add_parser("verify-hash", help="re-check data against a recorded content hash")
    v.add_argument("--run", help="run folder: read config.yaml and metrics.json data.hash")
    v.add_argument("--symbols")
    for flag in ("--source", "--timeframe", "--start", "--end", "--path", "--exchange", "--url"):
        v.add_argument(flag)
    v.add_argument("--seed", type=int, default=0)
    v.add_argument("--manifest", help="data manifest JSON (per-symbol hashes) to name what changed")
    v.add_argument("expected", nargs="?", help="recorded hash, sha256:...")
    v.add_argument("-q", "--quiet", action="store_true", help="log warnings and errors only")
    v.add_argument("-v", "--verbose", action="store_true", help="log debug messages")
    return p


def _settings(a: argparse.Namespace) -> ProviderSettings:
    return ProviderSettings(
        path=a.path,
        seed=a.seed or 0,
        exchange=a.exchange or "binance",
        url=a.url,
        retries=getattr(a, "retries", 3),
        backoff=getattr(a, "backoff", 1.0),
    )


def _symbols(text: str | None) -> list[str]:
    out = [s.strip() for s in (text or "").split(",") if s.strip()]
    if not out:
        raise ConfigError("--symbols", "give at least one symbol")
    return out


def cmd_download(a: argparse.Namespace) -> int:
    """Download every symbol into the cache and print one summary line per symbol."""
    lo, hi = bounds(a.start, a.end)
    if lo is None:
        raise ConfigError("--start", "download needs a start date")
    hi = hi if hi is not None else system_clock()
    provider = build_provider(a.source.split(","), _settings(a))
    cache = ParquetCache(provider, a.cache_dir)
    for r in download(cache, _symbols(a.symbols), a.timeframe, lo, hi, log_chunk, a.chunk_bars):
        first = r.first.isoformat() if r.first is not None else "-"
        last = r.last.isoformat() if r.last is not None else "-"
        print(
            f"{r.symbol} {a.timeframe}: {r.rows} bars {first} .. {last} "
            f"({r.chunks_fetched} chunks fetched) in {a.cache_dir}"
        )
    return 0


def _from_run(a: argparse.Namespace) -> tuple[dict, str]:
    run = Path(a.run)
    metrics_path = run / "metrics.json"
    if not metrics_path.is_file():
        raise ConfigError("--run", f"no metrics.json in {run}")
    expected = json.loads(metrics_path.read_text()).get("data", {}).get("hash")
    if not expected:
        raise DataError(f"{metrics_path}:-", "no data.hash recorded")
    # the run's own loading path; the data section needs the schema only, not the run's plugins
    return load_data(validate_config(read_config(run / "config.yaml")))[0], expected


def _changed(manifest_path: str | None, current: dict) -> str:
    if not manifest_path:
        return ""
    old = json.loads(Path(manifest_path).read_text()).get("symbols", {})
    diff = sorted(
        s
        for s in set(old) | set(current["symbols"])
        if old.get(s, {}).get("hash") != current["symbols"].get(s, {}).get("hash")
    )
    return f" (changed: {', '.join(diff)})" if diff else ""


def cmd_verify(a: argparse.Namespace) -> int:
    """Reload the data and compare its content hash with the recorded one."""
    if a.run:
        bars, expected = _from_run(a)
        where = a.run
    else:
        from bot.data import load_bars

        if not a.expected:
            raise ConfigError("expected", "give the recorded hash (sha256:...) or --run")
        bars = load_bars(
            a.source or "csv", _symbols(a.symbols), a.timeframe or "1d", a.start, a.end, settings=_settings(a)
        )
        expected, where = a.expected, a.path or a.source or "csv"
    current = data_manifest(bars)
    if current["hash"] != expected:
        raise DataError(
            f"{where}:-", f"hash mismatch: expected {expected}, got {current['hash']}{_changed(a.manifest, current)}"
        )
    print(f"ok {current['hash']} ({len(bars)} symbols, {sum(len(f) for f in bars.values())} bars)")
    return 0


def main(argv: list[str] | None = None) -> int:
    """Entry point of ``python -m bot.data``."""
    a = parser().parse_args(argv)
    setup_logging(a.quiet, a.verbose)

    def run() -> int:
        try:
            return cmd_download(a) if a.command == "download" else cmd_verify(a)
        except VenueError as e:
            logger.debug("venue error", exc_info=e)
            print(f"venue error: {' '.join(str(e).split())}", file=sys.stderr)
            return 4

    return run_cli(run)
