"""Trade and cost analytics over trades.csv (pure functions)."""

from __future__ import annotations

import numpy as np
import pandas as pd

EXIT_REASONS = ("signal", "stop_loss", "take_profit", "trailing_stop", "end")


def holding_days(trades: pd.DataFrame) -> pd.Series:
    """Return each trade's holding time in (fractional) calendar days."""
    return (trades["exit_time"] - trades["entry_time"]).dt.total_seconds() / 86400.0


def trade_returns(trades: pd.DataFrame) -> pd.Series:
    """Return each trade's net P&L as a fraction of its entry value."""
    notional = (trades["size"].abs() * trades["entry_price"]).replace(0.0, np.nan)
    return trades["pnl_net"] / notional


def trade_summary(trades: pd.DataFrame) -> dict[str, float]:
    """Return win rate, average win/loss, payoff ratio, expectancy, extremes and holding time."""
    pnl = trades["pnl_net"].astype(float)
    wins, losses = pnl[pnl > 0], pnl[pnl < 0]
    avg_win = float(wins.mean()) if len(wins) else float("nan")
    avg_loss = float(losses.mean()) if len(losses) else float("nan")
    return {
        "n_trades": float(len(pnl)),
        "win_rate": float(len(wins) / len(pnl)) if len(pnl) else float("nan"),
        "avg_win": avg_win,
        "avg_loss": avg_loss,
        "payoff_ratio": avg_win / abs(avg_loss) if len(wins) and len(losses) else float("nan"),
        "expectancy": float(pnl.mean()) if len(pnl) else float("nan"),
        "largest_win": float(pnl.max()) if len(pnl) else float("nan"),
        "largest_loss": float(pnl.min()) if len(pnl) else float("nan"),
        "avg_holding_days": float(holding_days(trades).mean()) if len(pnl) else float("nan"),
        "n_long": float((trades["side"] == "long").sum()),
        "n_short": float((trades["side"] == "short").sum()),
    }


def by_exit_reason(trades: pd.DataFrame) -> pd.DataFrame:
    """Return count, share, win rate and net P&L per exit reason (known reasons always listed)."""
    reasons = list(EXIT_REASONS) + sorted(set(trades["exit_reason"].astype(str)) - set(EXIT_REASONS))
    grouped = trades.groupby(trades["exit_reason"].astype(str))["pnl_net"]
    out = pd.DataFrame(
        {
            "count": grouped.size(),
            "wins": grouped.apply(lambda s: int((s > 0).sum())),
            "pnl_net": grouped.sum(),
        }
    ).reindex(reasons)
    out["count"] = out["count"].fillna(0).astype(int)
    out["pnl_net"] = out["pnl_net"].fillna(0.0)
    total = max(int(out["count"].sum()), 1)
    out["share"] = out["count"] / total
    out["win_rate"] = out["wins"] / out["count"].replace(0, np.nan)
    return out.drop(columns="wins")


def by_symbol(trades: pd.DataFrame) -> pd.DataFrame:
    """Return trades, net P&L and win rate per symbol, best contributor first."""
    grouped = trades.groupby("symbol")["pnl_net"]
    out = pd.DataFrame(
        {
            "count": grouped.size(),
            "pnl_net": grouped.sum(),
            "win_rate": grouped.apply(lambda s: (s > 0).mean()),
        }
    )
    return out.sort_values("pnl_net", ascending=False)


def costs(trades: pd.DataFrame, starting_cash: float | None) -> dict[str, float]:
    """Return commission, slippage and short borrow totals and their share of gross (pre-cost) P&L.

    Fill prices already include slippage, so gross P&L = sum(pnl_net) + commission + slippage + borrow.
    """
    commission = float(trades["commission"].fillna(0).sum())
    slippage = float(trades["slippage"].fillna(0).sum())
    borrow = float(trades["borrow"].fillna(0).sum()) if "borrow" in trades else 0.0
    net = float(trades["pnl_net"].fillna(0).sum())
    gross = net + commission + slippage + borrow
    total = commission + slippage + borrow
    share = total / abs(gross) if gross != 0 else float("nan")
    cash = float(starting_cash) if starting_cash else float("nan")
    return {
        "gross_pnl": gross,
        "commission": commission,
        "slippage": slippage,
        "borrow": borrow,
        "total_costs": total,
        "net_pnl": net,
        "cost_share": share,
        "cost_vs_cash": total / cash if cash == cash else float("nan"),
        "commission_per_trade": commission / len(trades) if len(trades) else float("nan"),
    }


def win_probability(trades: pd.DataFrame) -> pd.Series:
    """Return the model's probability that each trade wins (prob_up for longs, 1-prob_up for shorts)."""
    prob = trades["entry_prob"].astype(float)
    return prob.where(trades["side"] != "short", 1.0 - prob)


def hit_rate_by_bucket(trades: pd.DataFrame, width: float = 0.05) -> pd.DataFrame:
    """Return trade count, hit rate and mean probability per predicted-win-probability bucket."""
    prob = win_probability(trades)
    mask = prob.notna()
    if not mask.any():
        return pd.DataFrame(columns=["lo", "hi", "count", "hit_rate", "mean_prob"])
    p, won = prob[mask], (trades.loc[mask, "pnl_net"] > 0).astype(float)
    lo_edge = np.floor(p.min() / width) * width
    hi_edge = np.ceil(p.max() / width) * width + 1e-9
    edges = np.round(np.arange(lo_edge, hi_edge + width, width), 10)
    bucket = pd.cut(p, edges, right=False, include_lowest=True)
    grouped = pd.DataFrame({"bucket": bucket, "won": won, "p": p}).groupby("bucket", observed=True)
    out = grouped.agg(count=("won", "size"), hit_rate=("won", "mean"), mean_prob=("p", "mean"))
    out["lo"] = [iv.left for iv in out.index]
    out["hi"] = [iv.right for iv in out.index]
    return out.reset_index(drop=True)[["lo", "hi", "count", "hit_rate", "mean_prob"]]
