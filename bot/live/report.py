"""A run folder for a live or paper account, built from its journal alone.

``python -m bot.live report --config CFG --out DIR`` (or ``run_live.py --report DIR`` at the end
of a session) writes the backtest's run-folder files from the journal, so ``tearsheet.html`` and
``python -m bot.report compare <backtest> <live>`` work for live trading too:

- ``equity.csv``: every journaled mark (one per traded bar, all sessions), ``exposure`` =
  (equity - cash) / equity for a long-only account; with shorts, gross |position| x close / equity
  (positions from the journaled fills, closes from the journaled bars), as backtests mark it;
- ``orders.csv``: every journaled order, ``reason`` = its intent (``exit`` is ``signal``, as in
  backtests), fill time = the order's last fill;
- ``trades.csv``: round trips rebuilt from the filled orders per symbol (a partial exit closes
  part of the trade; commission of the entry is shared pro rata). Positions still open are not
  trades yet: they are listed under ``open_positions`` in ``metrics.json``. Slippage is inside
  the venue's fill prices and is not known separately (the column is empty);
- ``signals.csv`` (with the model version behind each), ``metrics.json`` (the backtest's keys
  from these files, plus ``live``: sessions, venue, open positions) and ``tearsheet.html``.

The benchmark (equal-weight buy-and-hold, the backtest's rule) comes from the open and close the
session journals with each bar's signals (``bar_open``, ``bar_close``).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from bot.analytics.benchmark import buy_and_hold
from bot.analytics.performance import periods_per_year, return_metrics, trade_metrics
from bot.config import Config, dump_config
from bot.errors import ConfigError, without_credentials
from bot.ledger import OPENING_REASONS, ORDER_COLUMNS
from bot.live.journal import Journal, OrderRow
from bot.roundtrips import OpenTrade, RoundTrips
from bot.runfolder import csv_text, json_text, write_atomically
from bot.version import code_version

REASONS = {"exit": "signal"}  # journal intent -> the run folder's reason


def _fill_times(journal: Journal) -> dict[str, pd.Timestamp]:
    last: dict[str, pd.Timestamp] = {}
    for f in journal.fills():
        if f.client_order_id is not None:
            last[f.client_order_id] = f.time
    return last


def orders_frame(orders: list[OrderRow], fill_times: dict[str, pd.Timestamp]) -> pd.DataFrame:
    """Return orders.csv rows for the journaled orders."""
    rows = [
        dict(
            order_id=o.client_id,
            created=o.created,
            symbol=o.symbol,
            side=o.side,
            size=o.qty,
            type=o.type,
            status=o.status,
            fill_time=fill_times.get(o.client_id) if o.filled_qty > 0 else None,
            fill_price=o.avg_price if o.filled_qty > 0 else None,
            commission=o.commission,
            reason=REASONS.get(o.intent, o.intent),
        )
        for o in orders
    ]
    return pd.DataFrame(rows, columns=ORDER_COLUMNS)


def _entry_probs(signals: pd.DataFrame) -> dict[tuple, float]:
    """Return P(up) journaled per (bar time, symbol), for the trades' entry_prob."""
    if signals.empty or "prob_up" not in signals:
        return {}
    known = signals.dropna(subset=["prob_up"])
    return dict(zip(zip(known["timestamp"], known["symbol"], strict=True), known["prob_up"].astype(float), strict=True))


def rebuild_trades(
    orders: list[OrderRow], fill_times: dict[str, pd.Timestamp], signals: pd.DataFrame
) -> tuple[pd.DataFrame, dict[str, OpenTrade], int]:
    """Return (closed round trips, trades still open per symbol, exit fills with no journaled entry)."""
    probs = _entry_probs(signals)
    filled = [o for o in orders if o.filled_qty > 0 and o.avg_price is not None]
    filled.sort(key=lambda o: (fill_times.get(o.client_id) or o.updated or o.created, o.client_id))
    trips = RoundTrips()
    orphans = 0
    for o in filled:
        if o.avg_price is None:  # (filtered out above; narrows the type)
            continue
        when = fill_times.get(o.client_id) or o.updated or o.created
        opens = o.intent in OPENING_REASONS and o.parent_id is None
        unmatched = trips.fill(
            o.symbol,
            when,
            o.side,
            float(o.filled_qty),
            float(o.avg_price),
            o.commission,
            float("nan"),
            probs.get((o.bar_time, o.symbol)) if opens else None,
            REASONS.get(o.intent, o.intent),
            opens=opens,
        )
        orphans += unmatched > 0  # held before the journal began (or entered by hand): no entry to pair with
    return trips.frame(), trips.open, orphans


def _versions(signals: pd.DataFrame) -> list[str]:
    if signals.empty or "model_version" not in signals:
        return []
    return [str(v) for v in dict.fromkeys(signals["model_version"].dropna())]


def _metrics(
    cfg: Config,
    equity: pd.DataFrame,
    trades: pd.DataFrame,
    open_: dict[str, OpenTrade],
    orphans: int,
    journal: Journal,
    signals: pd.DataFrame,
) -> dict:

    series = pd.Series(equity["equity"].to_numpy(), index=pd.DatetimeIndex(equity["timestamp"]))
    ppy = periods_per_year(series.index)
    m: dict = dict(return_metrics(series, ppy))
    m.update(trade_metrics(trades))
    m["exposure"] = float((equity["exposure"] > 1e-12).mean())
    m["final_value"] = float(series.iloc[-1])
    m["starting_cash"] = float(series.iloc[0])
    m["periods_per_year"] = ppy
    m["n_bars"] = int(len(series))
    m["costs"] = {"commission": float(trades["commission"].sum()) if len(trades) else 0.0, "slippage": None}
    sessions = journal.sessions()
    m["live"] = {
        "venue": sessions[-1]["venue"] if sessions else None,
        "journal": journal.url,
        "sessions": [
            {k: (v.isoformat() if isinstance(v, pd.Timestamp) else v) for k, v in s.items()} for s in sessions
        ],
        "open_positions": [
            {
                "symbol": s,
                "side": t.side,
                "size": t.size,
                "entry_time": t.entry_time.isoformat(),
                "entry_price": t.entry_price,
            }
            for s, t in sorted(open_.items())
        ],
        "unpaired_exits": orphans,
        "model_versions": _versions(signals),
    }
    m["code_version"] = code_version()
    return m


def benchmark(cfg: Config, signals: pd.DataFrame, calendar: pd.DatetimeIndex, cash: float) -> pd.Series | None:
    """Equal-weight buy-and-hold over the traded bars, from the prices journaled with each bar's signals.

    The backtest's benchmark rule (bot.analytics.benchmark): bought at the second bar's open with
    slippage and commission, marked at each close. None for journals written before prices were kept.
    """

    if signals.empty or "bar_close" not in signals or signals["bar_close"].isna().all():
        return None
    bars = {}
    for sym, g in signals.dropna(subset=["bar_open", "bar_close"]).groupby("symbol", sort=True):
        g = g.sort_values("timestamp").drop_duplicates("timestamp", keep="last")
        bars[sym] = pd.DataFrame(
            {"open": g["bar_open"].to_numpy(), "close": g["bar_close"].to_numpy()},
            index=pd.DatetimeIndex(g["timestamp"]),
        )
    b = cfg.broker
    return buy_and_hold(bars, calendar, cash, b.commission, b.slippage)


def exposure(equity: pd.DataFrame, fills: list, signals: pd.DataFrame) -> pd.Series:
    """Return each mark's exposure: (equity - cash) / equity for a long-only account (what it holds, whoever
    bought it); with shorts in the journal's fills, the gross |position| x close / equity as backtests mark it,
    positions summed from the fills up to the mark, closes from the journaled bars."""
    net = ((equity["equity"] - equity["cash"]) / equity["equity"]).clip(lower=0.0)
    if signals.empty or "bar_close" not in signals:
        return net
    times = pd.DatetimeIndex(equity["timestamp"])
    gross = np.zeros(len(times))
    short = False
    for sym, g in signals.dropna(subset=["bar_close"]).groupby("symbol", sort=True):
        mine = [f for f in fills if f.symbol == sym]
        if not mine:
            continue
        qty = pd.Series(
            [f.qty if f.side == "buy" else -f.qty for f in mine], index=pd.DatetimeIndex([f.time for f in mine])
        ).cumsum()
        short = short or bool((qty < -1e-12).any())
        pos = qty.groupby(level=0).last().reindex(times, method="ffill").fillna(0.0)
        close = g.drop_duplicates("timestamp", keep="last").set_index("timestamp")["bar_close"].astype(float)
        close = close.reindex(times, method="ffill")
        gross += (pos.abs() * close).fillna(0.0).to_numpy()
    return pd.Series(gross / equity["equity"].to_numpy(), index=equity.index) if short else net


def write_journal_run(cfg: Config, journal: Journal, out: Path) -> Path:
    """Write the account's run folder (atomically) from ``journal``; return its path."""
    marks = journal.equity()
    if marks.empty:
        raise ConfigError(
            "live.state_db",
            f"{without_credentials(journal.url)} holds no equity marks yet: trade at least one bar first",
        )
    equity = pd.DataFrame({"timestamp": marks["time"], "equity": marks["equity"], "cash": marks["cash"]})
    signals = journal.signals()
    equity["exposure"] = exposure(equity, journal.fills(), signals)
    orders = journal.orders()
    times = _fill_times(journal)
    bench = benchmark(cfg, signals, pd.DatetimeIndex(equity["timestamp"]), float(equity["equity"].iloc[0]))
    if bench is not None:
        equity["benchmark"] = bench.to_numpy()
    trades, open_, orphans = rebuild_trades(orders, times, signals)
    metrics = _metrics(cfg, equity, trades, open_, orphans, journal, signals)
    if bench is not None:
        ppy = periods_per_year(pd.DatetimeIndex(equity["timestamp"]))
        metrics["benchmark"] = dict(return_metrics(bench, ppy), final_value=float(bench.iloc[-1]))

    def fill(tmp: Path) -> None:
        from bot.report import write_tearsheet  # lazy: matplotlib (optional extra)

        (tmp / "config.yaml").write_text(dump_config(cfg))
        (tmp / "equity.csv").write_text(csv_text(equity, ("timestamp",)))
        (tmp / "orders.csv").write_text(csv_text(orders_frame(orders, times), ("created", "fill_time")))
        (tmp / "trades.csv").write_text(csv_text(trades, ("entry_time", "exit_time")))
        if not signals.empty:
            (tmp / "signals.csv").write_text(csv_text(signals, ("timestamp",)))
        (tmp / "metrics.json").write_text(json_text(metrics))
        write_tearsheet(tmp)

    return write_atomically(out, fill)


def open_journal(cfg: Config) -> Journal:
    """Open the config's journal for reading; a missing SQLite file is a config error, not a new journal."""
    from sqlalchemy.engine import make_url

    from bot.live.journal import default_url

    url = cfg.live.state_db or default_url(cfg.name)
    parsed = make_url(url)
    if (
        parsed.get_backend_name() == "sqlite"
        and parsed.database not in (None, "", ":memory:")
        and not Path(parsed.database).is_file()
    ):
        raise ConfigError("live.state_db", f"no journal at {parsed.database} (has run_live.py traded this config?)")
    return Journal(url)


def default_out(cfg: Config) -> Path:
    """Return ``live_runs/<UTC timestamp>-<name>/``."""
    from datetime import datetime, timezone

    return Path("live_runs") / f"{datetime.now(timezone.utc).strftime('%Y%m%dT%H%M%SZ')}-{cfg.name}"
