"""Validate bars by per-check policy and build the data_validation.json report.

    bars, report = validate_bars(bars, cfg, "1d")

Each check finds problems, then its policy decides: ``fail`` collects a data error (raised
after every symbol was checked, with the report attached as ``err.report``), ``warn`` keeps the
data, ``repair`` fixes it. Statuses per symbol and check: ok / warn / repaired / fail.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pandas as pd
from loguru import logger

from bot.config.data_validation import DataValidationConfig
from bot.data import checks_integrity as ci
from bot.data import checks_market as cm
from bot.data.checks_common import Context, Finding
from bot.data.partial import trades_24_7
from bot.errors import DataError
from bot.timeframes import parse_timeframe

Find = Callable[[pd.DataFrame, Any, Context], Finding]
Repair = Callable[[pd.DataFrame, Any, Context], tuple[pd.DataFrame, int]]

CHECKS: dict[str, tuple[Find, Repair]] = {
    "unsorted_timestamps": (ci.find_unsorted, ci.repair_unsorted),
    "duplicate_timestamps": (ci.find_duplicates, ci.repair_duplicates),
    "missing_values": (ci.find_missing, ci.repair_missing),
    "non_positive_prices": (ci.find_non_positive, ci.repair_non_positive),
    "ohlc_consistency": (ci.find_ohlc, ci.repair_ohlc),
    "partial_last_candle": (cm.find_partial, cm.repair_partial),
    "gaps": (cm.find_gaps, cm.repair_gaps),
    "single_bar_move": (cm.find_moves, cm.repair_moves),
    "zero_volume": (cm.find_zero_volume, cm.repair_zero_volume),
    "flat_bars": (cm.find_flat, cm.repair_flat),
    "stale_data": (cm.find_stale, cm.no_repair),
    "history": (cm.find_history, cm.no_repair),
}
RANK = {"ok": 0, "repaired": 1, "warn": 2, "fail": 3}


def worst(statuses: list[str]) -> str:
    """Return the most severe status (fail > warn > repaired > ok)."""
    return max(statuses, key=RANK.__getitem__, default="ok")


def _entry(status: str, found: Finding, ctx: Context, left: int = 0) -> dict:
    entry: dict[str, Any] = {"status": status, "count": found.count}
    if found.detail:
        entry["detail"] = found.detail + (f"; {left} not repairable" if left else "")
    if found.first is not None:
        entry["first"] = ctx.stamp(found.first)
    return entry


def _run_check(frame: pd.DataFrame, name: str, check: Any, ctx: Context) -> tuple[pd.DataFrame, dict]:
    find, repair = CHECKS[name]
    found = find(frame, check, ctx)
    if found.count == 0:
        return frame, _entry("ok", found, ctx)
    if check.policy == "repair":
        frame, left = repair(frame, check, ctx)
        return frame, _entry("warn" if left else "repaired", found, ctx, left)
    return frame, _entry(check.policy, found, ctx)


def validate_frame(frame: pd.DataFrame, cfg: DataValidationConfig, ctx: Context) -> tuple[pd.DataFrame, dict]:
    """Run every check on one symbol; return the (repaired) frame and its report entry."""
    rows_in, prices = len(frame), frame.attrs.get("prices", "raw")
    checks: dict[str, dict] = {}
    for name in CHECKS:
        frame, checks[name] = _run_check(frame, name, getattr(cfg, name), ctx)
    status = worst([c["status"] for c in checks.values()])
    return frame, {"status": status, "prices": prices, "rows_in": rows_in, "rows_out": len(frame), "checks": checks}


def _context(symbol: str, frame: pd.DataFrame, timeframe: str, now: object) -> Context:
    bar = parse_timeframe(timeframe)
    clock = None if now is None else pd.Timestamp(now)
    if clock is not None:
        clock = clock.tz_localize("UTC") if clock.tzinfo is None else clock.tz_convert("UTC")
    idx = pd.DatetimeIndex(frame.index)
    return Context(symbol, bar, trades_24_7(idx.sort_values()), clock)


def _fail_error(bars: dict[str, pd.DataFrame], report: dict) -> DataError:
    fails = [(s, n, c) for s, e in report["symbols"].items() for n, c in e["checks"].items() if c["status"] == "fail"]
    sym, name, c = fails[0]
    source = bars[sym].attrs.get("source", sym)
    more = f" (+{len(fails) - 1} more failed checks, see data_validation.json)" if len(fails) > 1 else ""
    err = DataError(f"{source}:{c.get('first', '-')}", f"{sym}: {name}: {c.get('detail', '')}{more}")
    err.report = report
    return err


def validate_bars(
    bars: dict[str, pd.DataFrame],
    cfg: DataValidationConfig,
    timeframe: str,
    now: object = None,
) -> tuple[dict[str, pd.DataFrame], dict]:
    """Apply the per-check policies to every symbol; return repaired bars and the report dict.

    ``now`` is the live clock (for stale data and still-open candles); leave it None in backtests.
    Raise DataError naming source, first bad timestamp, symbol and check when any check fails.
    """
    out: dict[str, pd.DataFrame] = {}
    symbols: dict[str, dict] = {}
    for sym, frame in bars.items():
        ctx = _context(sym, frame, timeframe, now)
        fixed, symbols[sym] = validate_frame(frame, cfg, ctx)
        fixed.attrs = dict(frame.attrs)
        out[sym] = fixed
    counts = {k: 0 for k in RANK}
    for entry in symbols.values():
        for c in entry["checks"].values():
            counts[c["status"]] += 1
    status = worst([e["status"] for e in symbols.values()])
    report = {
        "status": status,
        "timeframe": timeframe,
        "counts": counts,
        "symbols": symbols,
        "policies": cfg.model_dump(mode="json"),
    }
    for line in summary_lines(report):
        (logger.warning if status in ("warn", "fail") else logger.info)(line)
    if status == "fail":
        raise _fail_error(bars, report)
    return out, report


def summary_lines(report: dict) -> list[str]:
    """Return a readable summary: one line overall, one per symbol/check that is not ok."""
    c = report["counts"]
    lines = [
        f"data validation: {report['status']} ({len(report['symbols'])} symbols; "
        f"{c['repaired']} repaired, {c['warn']} warnings, {c['fail']} failures)"
    ]
    for sym, entry in report["symbols"].items():
        for name, chk in entry["checks"].items():
            if chk["status"] != "ok":
                lines.append(f"  {sym} {name}: {chk['status']}: {chk.get('detail', '')}")
    return lines
