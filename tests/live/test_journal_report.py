"""A run folder and tear sheet for a paper account, rebuilt from its journal alone."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from bot.configure import parse_config
from bot.live.report import open_journal, write_journal_run
from bot.report.run_reader import load_run
from tests.live.test_parity import config, live_session


@pytest.fixture(scope="module")
def session(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("journal-report")
    raw = config(
        tmp,
        strategy=dict(name="sma_cross", params=dict(fast=3, slow=8)),
        risk=dict(sizing="fixed_fraction", fraction=0.4, max_position=0.5, stop_loss=0.04, take_profit=0.06),
    )
    raw["live"]["warmup_bars"] = 8
    cfg = parse_config(raw)
    result, journal = live_session(cfg)
    out = write_journal_run(cfg, journal, tmp / "run")
    return cfg, result, journal, out


def test_trades_rebuilt_from_the_journal_are_the_sessions_round_trips(session):
    cfg, result, journal, out = session
    everything = result.ledger.trades_frame()
    ledger = everything[everything["exit_reason"] != "end"].reset_index(drop=True)  # "end": marked, still held
    rebuilt = pd.read_csv(out / "trades.csv")
    assert len(ledger) >= 4 and len(rebuilt) == len(ledger)
    held = json.loads((out / "metrics.json").read_text())["live"]["open_positions"]
    assert sorted((p["symbol"], p["size"]) for p in held) == sorted(
        (t.symbol, float(t.size)) for t in everything[everything["exit_reason"] == "end"].itertuples()
    )
    assert set(rebuilt["exit_reason"]) & {"stop_loss", "take_profit"}
    assert list(rebuilt["exit_reason"]) == list(ledger["exit_reason"])
    for col in ("size", "entry_price", "exit_price", "commission", "pnl_net"):
        np.testing.assert_allclose(rebuilt[col], ledger[col].astype(float), rtol=1e-9, err_msg=col)
    assert rebuilt["slippage"].isna().all()  # inside the venue's prices; not known separately


def test_equity_orders_and_metrics_agree_with_the_journal(session):
    cfg, result, journal, out = session
    marks = journal.equity()
    equity = pd.read_csv(out / "equity.csv")
    assert len(equity) == len(marks) == result.bars
    np.testing.assert_allclose(equity["equity"], marks["equity"], rtol=0, atol=1e-9)
    orders = pd.read_csv(out / "orders.csv")
    assert sorted(orders["order_id"]) == sorted(o.client_id for o in journal.orders())
    m = json.loads((out / "metrics.json").read_text())
    open_ = m["live"]["open_positions"]
    trades = pd.read_csv(out / "trades.csv")
    if not open_:  # flat at the end: the closed trades explain every cent of the equity change
        assert trades["pnl_net"].sum() == pytest.approx(m["final_value"] - m["starting_cash"], abs=1e-6)
    assert m["n_trades"] == len(trades) and m["live"]["unpaired_exits"] == 0
    assert m["live"]["venue"] == "paper" and len(m["live"]["sessions"]) == 1


def test_the_tear_sheet_reads_the_live_run_folder(session):
    out = session[3]
    run = load_run(out)
    assert not run.has_ml and len(run.trades) >= 4
    html = (out / "tearsheet.html").read_text()
    assert "Trades" in html and "Drawdown" in html and "http://" not in html.replace("http://www.w3.org", "")
    assert ".tmp-" not in html  # the folder's final name, not the temporary one it was written under
    assert "none (rule-based)" in html  # sma_cross: no model versions in the journal


def test_report_cli_refuses_a_missing_journal(tmp_path):
    import subprocess
    import sys

    from bot.config import dump_config

    cfg = parse_config(config(tmp_path))
    (tmp_path / "c.yaml").write_text(dump_config(cfg))
    res = subprocess.run(
        [
            sys.executable,
            "-m",
            "bot.live",
            "report",
            "--config",
            str(tmp_path / "c.yaml"),
            "--out",
            str(tmp_path / "out"),
        ],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert res.returncode == 2
    assert res.stderr.strip().splitlines()[-1].startswith("config error: live.state_db: no journal at ")
    assert not (tmp_path / "out").exists() and not (tmp_path / "parity.db").exists()
    with pytest.raises(Exception, match="no journal"):
        open_journal(cfg)


def test_a_postgresql_journal_gives_the_same_run_folder(session, postgres_url, tmp_path):
    cfg, _, _, out = session
    pg_cfg = cfg.model_copy(update={"live": cfg.live.model_copy(update={"state_db": postgres_url})})
    result, journal = live_session(pg_cfg)
    assert journal.url.startswith("postgresql+psycopg://")
    pg_out = write_journal_run(pg_cfg, journal, tmp_path / "pg-run")
    for name in ("equity.csv", "orders.csv", "trades.csv"):
        assert (pg_out / name).read_text() == (out / name).read_text(), name


def test_the_benchmark_is_the_backtests_buy_and_hold_over_the_traded_bars(session):
    from bot.analytics.benchmark import buy_and_hold
    from bot.data.loading import load_data

    cfg, _, _, out = session
    equity = pd.read_csv(out / "equity.csv", parse_dates=["timestamp"])
    bars, _ = load_data(cfg)
    calendar = pd.DatetimeIndex(pd.to_datetime(equity["timestamp"], utc=True))
    traded = {s: df.loc[calendar[0] : calendar[-1]] for s, df in bars.items()}
    expected = buy_and_hold(
        traded, calendar, float(equity["equity"].iloc[0]), cfg.broker.commission, cfg.broker.slippage
    )
    np.testing.assert_allclose(equity["benchmark"], expected.to_numpy(), rtol=1e-12)
    m = json.loads((out / "metrics.json").read_text())
    assert m["benchmark"]["final_value"] == pytest.approx(float(expected.iloc[-1]))
    assert {"sharpe", "total_return", "max_drawdown"} <= set(m["benchmark"])


def test_rebuilt_trades_carry_the_entry_bars_probability_and_split_partial_exits():
    from bot.live.journal import OrderRow
    from bot.live.report import rebuild_trades

    t = pd.date_range("2024-01-01", periods=4, freq="D", tz="UTC")
    orders = [
        OrderRow(
            "e",
            "A",
            "buy",
            10,
            "market",
            "filled",
            "entry",
            bar_time=t[0],
            filled_qty=10,
            avg_price=100,
            commission=1.0,
        ),
        OrderRow(
            "x1", "A", "sell", 4, "market", "filled", "exit", bar_time=t[1], filled_qty=4, avg_price=110, commission=0.4
        ),
        OrderRow(
            "x2",
            "A",
            "sell",
            6,
            "stop",
            "filled",
            "stop_loss",
            bar_time=t[2],
            filled_qty=6,
            avg_price=95,
            commission=0.6,
        ),
    ]
    fills = {"e": t[1], "x1": t[2], "x2": t[3]}
    signals = pd.DataFrame({"timestamp": t[:3], "symbol": "A", "prob_up": [0.61, 0.4, 0.3]})
    trades, open_, orphans = rebuild_trades(orders, fills, signals)
    assert list(trades["exit_reason"]) == ["signal", "stop_loss"] and not open_ and orphans == 0
    assert list(trades["entry_prob"]) == [0.61, 0.61]  # P(up) at the entry's decision bar
    assert list(trades["size"]) == [4, 6] and list(trades["pnl"]) == [40.0, -30.0]
    assert trades["commission"].tolist() == pytest.approx([0.4 + 0.4, 0.6 + 0.6])  # entry commission pro rata


def test_the_report_cli_reads_a_journal_while_a_live_session_holds_it(session, tmp_path):
    from bot.config import dump_config
    from bot.live.__main__ import main

    cfg, _, journal, _ = session
    journal.lock(cfg.name)  # as the running session does; the report is read-only and must not wait for it
    (tmp_path / "c.yaml").write_text(dump_config(cfg))
    assert main(["report", "--config", str(tmp_path / "c.yaml"), "--out", str(tmp_path / "out"), "-q"]) == 0
    assert (tmp_path / "out" / "tearsheet.html").is_file()
