"""The trades and costs sections: exit reasons, distributions, per-symbol P&L, sortable table, costs."""

from __future__ import annotations

import math

import pandas as pd

from bot.report import trade_charts as charts
from bot.report import trade_stats as ts
from bot.report.html import esc, figure, fmt, json_script, table
from bot.report.plotting import empty_note

TABLE_HEADERS = (
    "Symbol",
    "Entry",
    "Exit",
    "Side",
    "Size",
    "Entry price",
    "Exit price",
    "Net P&L",
    "Return %",
    "Commission",
    "Slippage",
    "Exit reason",
    "Win prob.",
    "Held (days)",
)


def _num(value: float | None, decimals: int | None) -> float | None:
    if value is None or not math.isfinite(float(value)):
        return None
    return round(float(value), decimals)


def column_decimals(trades: pd.DataFrame) -> list[int | None]:
    """Return decimals per table column (None = text): whole sizes and prices >= 1 shown short."""
    sizes = trades["size"].dropna()
    size_dp = 0 if bool((sizes == sizes.round()).all()) else 4
    prices = pd.concat([trades["entry_price"], trades["exit_price"]]).dropna()
    price_dp = 2 if len(prices) and float(prices.abs().min()) >= 1 else 4
    return [None, None, None, None, size_dp, price_dp, price_dp, 2, 2, 2, 2, None, 3, 1]


def trade_rows(trades: pd.DataFrame, intraday: bool, decimals: list[int | None]) -> list[list]:
    """Return the sortable table's rows (JSON-ready; None for missing values)."""
    stamp = "%Y-%m-%d %H:%M" if intraday else "%Y-%m-%d"
    extra = pd.DataFrame(
        {
            "ret": ts.trade_returns(trades) * 100,
            "held": ts.holding_days(trades),
            "prob": ts.win_probability(trades),
        }
    )
    cols = ("size", "entry_price", "exit_price", "pnl_net")
    rows = []
    for t, x in zip(trades.itertuples(index=False), extra.itertuples(index=False), strict=True):
        numbers = [getattr(t, c) for c in cols] + [x.ret, t.commission, t.slippage]
        row = [t.symbol, f"{t.entry_time:{stamp}}", f"{t.exit_time:{stamp}}", str(t.side)]
        row += [_num(v, d) for v, d in zip(numbers, decimals[4:11], strict=True)]
        row += [str(t.exit_reason), _num(x.prob, 3), _num(x.held, 1)]
        rows.append(row)
    return rows


def trade_table_html(trades: pd.DataFrame, intraday: bool) -> str:
    """Return the sortable, paged trade table (rows rendered by the page's inline script)."""
    heads = "".join(f'<th scope="col" aria-sort="none">{esc(h)}</th>' for h in TABLE_HEADERS)
    decimals = column_decimals(trades)
    data = {"fmt": decimals, "rows": trade_rows(trades, intraday, decimals)}
    return (
        '<h3 id="trade-list">All trades</h3><p class="note">Click a column header to sort; '
        "25 trades per page.</p>"
        '<div class="pager"><button type="button" id="trade-prev">Previous</button>'
        '<button type="button" id="trade-next">Next</button> <span id="trade-page-info"></span></div>'
        f'<div class="scroll"><table id="trade-table"><thead><tr>{heads}</tr></thead><tbody></tbody></table></div>'
        "<noscript><p>The trade table needs JavaScript; trades.csv holds the same rows.</p></noscript>"
        + json_script("trades-data", data)
    )


def _summary_table(trades: pd.DataFrame) -> str:
    s = ts.trade_summary(trades)
    rows = [
        (
            "Trades (long / short)",
            f"{fmt(s['n_trades'], 'int')} ({fmt(s['n_long'], 'int')} / {fmt(s['n_short'], 'int')})",
        ),
        ("Win rate", fmt(s["win_rate"], "pct")),
        ("Average win / average loss", f"{fmt(s['avg_win'], 'money')} / {fmt(s['avg_loss'], 'money')}"),
        ("Payoff ratio", fmt(s["payoff_ratio"])),
        ("Expectancy per trade", fmt(s["expectancy"], "money")),
        ("Average holding (days)", fmt(s["avg_holding_days"])),
    ]
    return table(("Trade statistic", "Value"), rows, cls="summary")


def _reason_block(trades: pd.DataFrame) -> str:
    reasons = ts.by_exit_reason(trades)
    rows = [
        (
            r.replace("_", " "),
            fmt(x["count"], "int"),
            fmt(x["share"], "pct"),
            fmt(x["win_rate"], "pct"),
            fmt(x["pnl_net"], "money"),
        )
        for r, x in reasons.iterrows()
    ]
    tbl = table(("Exit reason", "Trades", "Share", "Win rate", "Net P&L"), rows, cls="reasons")
    chart = figure("chart-exit-reasons", "Trades by exit reason", charts.exit_reason_bars(reasons["count"]))
    return f'<div class="grid2">{chart}<div><h3>Exit reasons</h3>{tbl}{_summary_table(trades)}</div></div>'


def _distribution_blocks(trades: pd.DataFrame, intraday: bool) -> str:
    pnl = figure(
        "chart-trade-pnl",
        "Trade P&L distribution",
        charts.pnl_histogram(ts.trade_returns(trades)),
        "Net P&L of each trade as a fraction of its entry value; outer 0.5% tails clipped into the end bins.",
    )
    hold = figure(
        "chart-holding",
        "Holding-time distribution",
        charts.holding_histogram(ts.holding_days(trades), intraday),
    )
    return f'<div class="grid2">{pnl}{hold}</div>'


def _symbol_block(trades: pd.DataFrame) -> str:
    per = ts.by_symbol(trades)
    note = "Sum of net P&L per symbol" + (" (15 best and 15 worst shown)." if len(per) > 30 else ".")
    rows = [
        (s, fmt(x["count"], "int"), fmt(x["win_rate"], "pct"), fmt(x["pnl_net"], "money")) for s, x in per.iterrows()
    ]
    details = (
        "<details><summary>Per-symbol table</summary>"
        + table(("Symbol", "Trades", "Win rate", "Net P&L"), rows, cls="symbols")
        + "</details>"
    )
    return figure("chart-symbols", "Per-symbol contribution", charts.symbol_bars(per["pnl_net"]), note) + details


def trades_html(trades: pd.DataFrame, intraday: bool) -> str:
    """Return the trades section body."""
    if trades.empty:
        return empty_note("The run made no trades.")
    return (
        _reason_block(trades)
        + _distribution_blocks(trades, intraday)
        + _symbol_block(trades)
        + trade_table_html(trades, intraday)
    )


def costs_html(trades: pd.DataFrame, starting_cash: float | None) -> str:
    """Return the costs section body: totals, share of gross P&L and their build-up over time."""
    if trades.empty:
        return empty_note("No trades, so no costs.")
    c = ts.costs(trades, starting_cash)
    rows = [
        ("Gross P&L before costs", fmt(c["gross_pnl"], "money")),
        ("Commission paid", fmt(c["commission"], "money")),
        ("Slippage paid", fmt(c["slippage"], "money")),
        *([("Short borrow fees paid", fmt(c["borrow"], "money"))] if c["borrow"] else []),
        ("Total costs", fmt(c["total_costs"], "money")),
        ("Net P&L", fmt(c["net_pnl"], "money")),
        ("Costs as share of gross P&L", fmt(c["cost_share"], "pct")),
        ("Costs as share of starting cash", fmt(c["cost_vs_cash"], "pct")),
        ("Commission per trade", fmt(c["commission_per_trade"], "money")),
    ]
    note = (
        "Gross P&L = net P&L + commission + slippage (+ short borrow fees), since fill prices already include "
        "slippage. "
        "The share uses |gross P&L|."
    )
    chart = figure("chart-costs", "Cumulative P&L and costs", charts.cost_chart(trades), "By trade exit date.")
    costs = table(("Cost", "Amount"), rows, cls="costs")
    return f'<div class="grid2"><div>{costs}<p class="note">{note}</p></div>{chart}</div>'
