"""Optimise strategy parameters with Optuna, walk-forward, and measure the overfitting.

    python -m bot.research.optimize --config FILE [--set key=value] [--trials N] [--out DIR] [-q]

Searches ``optimize.space`` (``strategy.params.*``, ``risk.*``, ``broker.*``, ``backtest.*``; see
``optimize_space``) with Optuna's TPE sampler (or random, ``optimize.sampler``), seeded by ``seed``
and run one trial after another, so a config gives the same trials every time. The walk-forward
predictions do not depend on the searched keys: they are computed once, and every trial only
re-runs the strategy's signals and the simulation (``backtest.engine`` = ``optimize.engine``).

Each trial simulates the whole period once; its per-bar equity returns from the first
out-of-sample prediction on (the trading period) are its column of the returns matrix. From it:

* walk-forward optimisation (``bot.research.wfo``): the trading period is cut into
  ``optimize.segments`` parts; the trial best on the in-sample part(s) before each later part
  trades it, and those out-of-sample parts are stitched. A position the chosen trial holds when
  its part begins was opened by that trial's own run before the boundary (the switch is not
  charged). With the TPE sampler the pool of trials was proposed using whole-period scores;
  ``optimize.sampler: random`` makes the pool independent of every return;
* the deflated Sharpe ratio of the best trial, deflated by the number of trials and the spread of
  their Sharpe ratios (``bot.ml.stats``);
* the probability of backtest overfitting by CSCV (``bot.analytics.pbo``).

Writes (atomically) to ``--out`` (default ``backtests/optimize-<name>-<id>``, the id a hash of
the config and trial count): ``config.yaml``, ``best_config.yaml`` (runnable by
``run_backtest.py``), ``trials.csv``, ``wfo_segments.csv``, ``wfo_equity.csv``, ``summary.json``
and ``optimize.html``. Config problems exit 2, data problems 3, with one line.
"""

from __future__ import annotations

import hashlib
import math
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from loguru import logger

from bot.analytics.pbo import PboResult, pbo
from bot.analytics.performance import periods_per_year, return_metrics, trade_metrics
from bot.cli import base_parser, run_cli, setup_logging
from bot.config import Config, ParamRange, dump_config
from bot.configure import load_config, parse_config
from bot.data.schema import union_calendar
from bot.engine.simulate import simulate
from bot.errors import ConfigError
from bot.instruments import any_crypto
from bot.ml import stats
from bot.ml.summary import bars_per_year, first_signal
from bot.ml.walkforward import run_walk_forward
from bot.models.fixed import fixed_model_predictions
from bot.progress import progress
from bot.research import wfo
from bot.research.optimize_space import check_space, params_text, trial_config
from bot.research.space import suggest
from bot.runfolder import csv_text, json_text, prepare_out_dir, write_atomically
from bot.version import code_version
from strategies import build_strategy


@dataclass
class TrialRun:
    number: int
    values: dict[str, Any]
    returns: np.ndarray | None = None  # per-bar returns over the trading period
    metrics: dict[str, Any] = field(default_factory=dict)
    score: float = float("nan")
    error: str | None = None

    @property
    def done_returns(self) -> np.ndarray:
        """The per-bar returns of a completed trial (``error`` is None)."""
        if self.returns is None:
            raise ValueError(f"trial {self.number} has no returns: {self.error}")
        return self.returns


@dataclass
class OptimizeResult:
    cfg: Config
    space: dict[str, ParamRange]
    runs: list[TrialRun]
    bar_times: pd.DatetimeIndex  # the trading period's bars; return row i is realised at bar i + 1
    ppy: int
    best: TrialRun
    wfo: wfo.WfoResult
    pbo: PboResult | None
    stats: dict[str, Any]

    @property
    def completed(self) -> list[TrialRun]:
        return [r for r in self.runs if r.error is None]


class TrialScorer:
    """Run one parameter draw on the shared bars and predictions: its returns and metrics."""

    def __init__(
        self,
        cfg: Config,
        bars: dict[str, pd.DataFrame],
        prob_up: dict[str, pd.Series] | None,
        start: pd.Timestamp,
    ):

        self.cfg, self.bars, self.prob_up = cfg, bars, prob_up
        calendar = union_calendar(bars)
        self.bar_times = calendar[calendar >= start]
        self.ppy = bars_per_year(calendar)
        fractional = cfg.broker.fractional
        self.fractional = any_crypto(cfg.data.symbols) if fractional is None else fractional

    def run(self, number: int, values: dict[str, Any]) -> TrialRun:

        try:
            cfg = trial_config(self.cfg, values, self.cfg.optimize.engine)
        except ConfigError as e:
            return TrialRun(number, values, error=str(e))
        strategy = build_strategy(cfg)
        signals = {
            s: strategy.compute_signals(df, self.prob_up[s] if self.prob_up else None) for s, df in self.bars.items()
        }
        # the simulation's per-10 % progress lines would bury the trial lines
        logger.disable("bot.engine.simulate")
        try:
            ledger, _ = simulate(cfg, self.bars, signals, strategy, self.fractional)
        finally:
            logger.enable("bot.engine.simulate")
        eq = ledger.equity_frame()
        equity = pd.Series(eq["equity"].to_numpy(np.float64), index=pd.DatetimeIndex(eq["timestamp"]))
        equity = equity[~equity.index.duplicated(keep="last")].reindex(self.bar_times).ffill()
        returns = equity.pct_change().to_numpy()[1:]
        m = return_metrics(equity, periods_per_year(self.bar_times))
        metrics = {k: m[k] for k in ("sharpe", "cagr", "max_drawdown", "total_return")}
        metrics["n_trades"] = trade_metrics(ledger.trades_frame())["n_trades"]
        score = float(wfo.score(returns, cfg.optimize.metric, self.ppy)[0])
        return TrialRun(number, values, returns, metrics, score)


def trading_start(cfg: Config, bars: dict[str, pd.DataFrame]) -> tuple[pd.Timestamp, dict | None]:
    """Return the trading period's first bar and the shared P(up) series (None without a model)."""

    if not build_strategy(cfg).uses_model:
        return union_calendar(bars)[0], None
    if cfg.model.uri:
        wf = fixed_model_predictions(bars, cfg)
    else:
        wf = run_walk_forward(bars, cfg)
    start = first_signal(wf.predictions)
    if start is None:
        raise ConfigError("validation", "the walk-forward run made no out-of-sample prediction")
    return start, wf.prob_up


def check_period(cfg: Config, n_returns: int) -> None:
    """Raise ConfigError when the trading period is too short for the segments or CSCV blocks."""
    o = cfg.optimize
    if n_returns < 2 * o.segments:
        raise ConfigError(
            "optimize.segments",
            f"the trading period has {n_returns} bar returns, too few for {o.segments} segments of at least 2",
        )
    if n_returns < 2 * o.pbo_splits:
        raise ConfigError(
            "optimize.pbo_splits",
            f"the trading period has {n_returns} bar returns, too few for {o.pbo_splits} blocks of at least 2",
        )


def make_sampler(cfg: Config):
    import optuna

    if cfg.optimize.sampler == "random":
        return optuna.samplers.RandomSampler(seed=cfg.seed)
    return optuna.samplers.TPESampler(seed=cfg.seed)


def search(scorer: TrialScorer, space: dict[str, ParamRange], n_trials: int) -> list[TrialRun]:
    """Run ``n_trials`` Optuna trials one after another; return every run, invalid ones too."""
    import optuna

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    study = optuna.create_study(direction="maximize", sampler=make_sampler(scorer.cfg))
    runs: list[TrialRun] = []

    def objective(trial) -> float:
        run = scorer.run(trial.number, {k: suggest(trial, k, spec) for k, spec in space.items()})
        runs.append(run)
        done = f"{len(runs)}/{n_trials}"
        if run.error is not None:
            logger.info(f"trial {done} invalid: {run.error}")
            raise optuna.TrialPruned(run.error)
        logger.info(f"trial {done}: {params_text(run.values)} -> {scorer.cfg.optimize.metric} {run.score:.4f}")
        return run.score if math.isfinite(run.score) or run.score == math.inf else -math.inf

    with progress(n_trials, desc="trials", unit="trial") as bar:
        study.optimize(objective, n_trials=n_trials, callbacks=[lambda _s, _t: bar.update()])
    return runs


def analyse(
    cfg: Config,
    space: dict[str, ParamRange],
    runs: list[TrialRun],
    bar_times: pd.DatetimeIndex,
    ppy: int,
) -> OptimizeResult:
    """Walk-forward selection, PBO and the deflated Sharpe ratio over the completed trials."""
    done = [r for r in runs if r.error is None]
    if not done:
        raise ConfigError("optimize.space", f"no trial had a valid config; the first: {runs[0].error}")
    matrix = np.column_stack([r.done_returns for r in done])
    o = cfg.optimize
    walk = wfo.walk_forward(matrix, o.segments, o.window, o.is_segments, o.metric, ppy)
    best = done[wfo.pick(np.array([r.score for r in done]))]
    overfit = pbo(matrix, o.pbo_splits) if len(done) >= 2 else None
    sharpes = np.array([stats.sharpe_ratio(r.done_returns) for r in done])
    finite = sharpes[np.isfinite(sharpes)]
    spread = float(np.std(finite, ddof=1)) if len(finite) >= 2 and np.std(finite) > 0 else None
    best_stats = stats.sharpe_stats(best.done_returns, len(done), spread, ppy)
    oos_stats = stats.sharpe_stats(walk.oos_returns, 1, None, ppy)
    return OptimizeResult(
        cfg,
        space,
        runs,
        bar_times,
        ppy,
        best,
        walk,
        overfit,
        {"best": best_stats, "wfo_oos": oos_stats},
    )


def optimize(cfg: Config, n_trials: int, bars: dict[str, pd.DataFrame] | None = None) -> OptimizeResult:
    """Check the space, compute the predictions once, run the trials and analyse them."""
    space = check_space(cfg)
    if bars is None:
        from bot.research.evaluate import evaluate_bars

        bars = evaluate_bars(cfg)
    start, prob_up = trading_start(cfg, bars)
    scorer = TrialScorer(cfg, bars, prob_up, start)
    check_period(cfg, len(scorer.bar_times) - 1)
    runs = search(scorer, space, n_trials)
    return analyse(cfg, space, runs, scorer.bar_times, scorer.ppy)


def default_out(cfg: Config, n_trials: int) -> Path:
    """Return ``backtests/optimize-<name>-<id>``, the id a hash of the config and trial count."""
    digest = hashlib.sha256(f"{dump_config(cfg)}\n{n_trials}".encode()).hexdigest()[:10]
    return Path("backtests") / f"optimize-{cfg.name}-{digest}"


def _num(v: Any, fmt: str = ".3f") -> str:
    return "n/a" if v is None or (isinstance(v, float) and not math.isfinite(v)) else format(v, fmt)


def summary_text(res: OptimizeResult, out: Path | None = None) -> str:
    """Return the terminal summary: trials, the best trial, the walk-forward result, PBO and DSR."""
    o, b, s = res.cfg.optimize, res.best, res.stats
    invalid = len(res.runs) - len(res.completed)
    oos = wfo_frame(res)
    picked = float(np.mean([x.is_score for x in res.wfo.steps]))
    lines = [
        f"optimize {res.cfg.name}: {len(res.runs)} trials ({invalid} invalid), {o.sampler} "
        f"sampler, metric {o.metric}, {o.segments - 1} walk-forward steps ({o.window}), "
        f"engine {o.engine}",
        f"best trial {b.number} over the whole period: "
        + ("" if o.metric == "sharpe" else f"{o.metric} {_num(b.score)}, ")
        + f"sharpe {_num(b.metrics['sharpe'])}, {b.metrics['n_trades']} trades: "
        + params_text(b.values),
        f"walk-forward out of sample: sharpe {_num(s['wfo_oos']['sharpe'])}, total return "
        f"{_num(float(oos['equity'].iloc[-1] / oos['equity'].iloc[0] - 1), '.2%')} "
        f"(mean in-sample {o.metric} of the picks {_num(picked)})",
        f"PBO {_num(res.pbo.pbo if res.pbo else None)} (CSCV, S={o.pbo_splits}, "
        f"{res.pbo.n_splits if res.pbo else 0} splits); DSR {_num(s['best']['dsr'])}, PSR "
        f"{_num(s['best']['psr'])} (n_trials {len(res.completed)})",
    ]
    if out is not None:
        lines.append(f"optimize folder: {out}")
    return "\n".join(lines)


def trials_frame(res: OptimizeResult) -> pd.DataFrame:
    """Return trials.csv: per trial its params, whole-period metrics and IS/OOS scores."""
    column = {r.number: i for i, r in enumerate(res.completed)}
    rows = []
    for r in res.runs:
        row: dict[str, Any] = {"number": r.number, "state": "invalid" if r.error else "complete"}
        row.update({k: r.values.get(k) for k in res.space})
        row["score"] = r.score if r.error is None else None
        row.update({k: r.metrics.get(k) for k in ("sharpe", "cagr", "max_drawdown", "total_return", "n_trades")})
        for i, step in enumerate(res.wfo.steps):
            c = column.get(r.number)
            row[f"is_{step.index}"] = None if c is None else float(res.wfo.is_scores[i, c])
            row[f"oos_{step.index}"] = None if c is None else float(res.wfo.oos_scores[i, c])
        row["error"] = r.error or ""
        rows.append(row)
    df = pd.DataFrame(rows)
    df["n_trades"] = df["n_trades"].astype("Int64")
    return df


def segments_frame(res: OptimizeResult) -> pd.DataFrame:
    """Return wfo_segments.csv: each step's in-sample and out-of-sample bars, pick and scores."""
    t, done = res.bar_times, res.completed
    rows = []
    for step in res.wfo.steps:
        run = done[step.chosen]
        (a, b), (c, d) = step.is_rows, step.oos_rows
        oos = run.done_returns[c:d]
        rows.append(
            {
                "segment": step.index,
                "is_start": t[a + 1],
                "is_end": t[b],
                "oos_start": t[c + 1],
                "oos_end": t[d],
                "chosen_trial": run.number,
                "params": params_text(run.values),
                "is_score": step.is_score,
                "oos_score": step.oos_score,
                "oos_return": float(np.prod(1 + oos) - 1),
            }
        )
    return pd.DataFrame(rows)


def wfo_frame(res: OptimizeResult) -> pd.DataFrame:
    """Return wfo_equity.csv: the stitched out-of-sample equity from ``broker.cash``."""
    start = res.wfo.start_row
    trial = np.concatenate(
        [np.full(s.oos_rows[1] - s.oos_rows[0], res.completed[s.chosen].number) for s in res.wfo.steps]
    )
    equity = res.cfg.broker.cash * np.cumprod(1 + res.wfo.oos_returns)
    head = pd.DataFrame(
        {
            "timestamp": [res.bar_times[start]],
            "segment": [0],
            "trial": [-1],
            "return": [0.0],
            "equity": [res.cfg.broker.cash],
        }
    )
    segment = np.concatenate([np.full(s.oos_rows[1] - s.oos_rows[0], s.index) for s in res.wfo.steps])
    body = pd.DataFrame(
        {
            "timestamp": res.bar_times[start + 1 :],
            "segment": segment,
            "trial": trial,
            "return": res.wfo.oos_returns,
            "equity": equity,
        }
    )
    return pd.concat([head, body], ignore_index=True)


NOTE = (
    "each trial simulated the whole period once; a position the chosen trial holds at a segment "
    "boundary was opened by its own run before it, the switch is not charged"
)


def summary_dict(res: OptimizeResult, n_trials: int) -> dict[str, Any]:
    """Return summary.json: statistics of the best trial, the walk-forward result, the PBO."""

    o, s, b = res.cfg.optimize, res.stats, res.best
    keep = (
        "sharpe",
        "sharpe_per_bar",
        "n_obs",
        "skew",
        "kurtosis",
        "psr",
        "dsr",
        "n_trials",
        "sharpe_std_trials",
        "sharpe_std_assumed",
        "sr0_per_bar",
    )
    eq = wfo_frame(res)["equity"]
    out: dict[str, Any] = {
        "name": res.cfg.name,
        "metric": o.metric,
        "sampler": o.sampler,
        "engine": o.engine,
        "n_trials_requested": n_trials,
        "n_trials": len(res.completed),
        "n_invalid": len(res.runs) - len(res.completed),
        "trading_period": {
            "start": res.bar_times[0].isoformat(),
            "end": res.bar_times[-1].isoformat(),
            "n_returns": len(res.bar_times) - 1,
            "periods_per_year": res.ppy,
        },
        "best": {
            "trial": b.number,
            "params": b.values,
            "score": b.score,
            **b.metrics,
            **{k: s["best"][k] for k in keep},
        },
        "dsr": s["best"]["dsr"],
        "psr": s["best"]["psr"],
        "wfo": {
            "segments": o.segments,
            "window": o.window,
            "is_segments": o.is_segments,
            "total_return": float(eq.iloc[-1] / eq.iloc[0] - 1),
            **{k: s["wfo_oos"][k] for k in ("sharpe", "sharpe_per_bar", "n_obs", "psr")},
            "note": NOTE,
        },
        "pbo": None,
        "code_version": code_version(),
    }
    if res.pbo is not None:
        p = res.pbo
        out["pbo"] = {
            "pbo": p.pbo,
            "blocks": p.blocks,
            "block_size": p.block_size,
            "n_splits": p.n_splits,
            "logits": [round(float(x), 12) for x in p.logits],
        }
    return out


def best_config_text(res: OptimizeResult) -> str:
    """Return best_config.yaml: the input config with the best trial's values applied."""
    cfg = trial_config(res.cfg, res.best.values)
    raw = cfg.model_dump(mode="json")
    n = res.cfg.tuning.n_trials + len(res.completed) - 1
    raw["tuning"]["n_trials"] = n
    spread = res.stats["best"]["sharpe_std_trials"]
    if not res.stats["best"]["sharpe_std_assumed"]:
        raw["tuning"]["sharpe_std"] = spread

    header = (
        f"# Best of {len(res.completed)} trials of python -m bot.research.optimize "
        f"({res.cfg.optimize.metric} {_num(res.best.score, '.6f')}, trial {res.best.number}): "
        f"{params_text(res.best.values)}\n"
        "# tuning.n_trials / sharpe_std count these trials for the deflated Sharpe ratio of a "
        "backtest.\n"
    )
    return header + dump_config(parse_config(raw))


def write_outputs(res: OptimizeResult, n_trials: int, out: Path) -> Path:
    """Write the optimisation folder atomically and return its path."""
    from bot.research.optimize_report import optimize_html

    def fill(tmp: Path) -> None:
        (tmp / "config.yaml").write_text(dump_config(res.cfg))
        (tmp / "best_config.yaml").write_text(best_config_text(res))
        (tmp / "trials.csv").write_text(csv_text(trials_frame(res)))
        times = ("is_start", "is_end", "oos_start", "oos_end")
        (tmp / "wfo_segments.csv").write_text(csv_text(segments_frame(res), times))
        (tmp / "wfo_equity.csv").write_text(csv_text(wfo_frame(res), ("timestamp",)))
        (tmp / "summary.json").write_text(json_text(summary_dict(res, n_trials)))
        (tmp / "optimize.html").write_text(optimize_html(res, trials_frame(res), segments_frame(res), wfo_frame(res)))

    return write_atomically(out, fill)


def main(argv: list[str] | None = None) -> int:
    parser = base_parser(
        "python -m bot.research.optimize",
        "Optimise strategy parameters walk-forward; report PBO and the deflated Sharpe ratio.",
    )
    parser.add_argument("--trials", type=int, help="trials to run (default: optimize.n_trials)")
    parser.add_argument("--out", help="output folder (default: backtests/optimize-<name>-<id>)")
    args = parser.parse_args(argv)

    def go() -> int:
        setup_logging(args.quiet, args.verbose)

        cfg = load_config(args.config, args.set)
        check_space(cfg)
        if args.trials is not None and args.trials < 1:
            raise ConfigError("--trials", f"must be at least 1, got {args.trials}")
        n_trials = args.trials or cfg.optimize.n_trials
        out = Path(args.out) if args.out else default_out(cfg, n_trials)
        prepare_out_dir(out)
        res = optimize(cfg, n_trials)
        path = write_outputs(res, n_trials, out)
        print(summary_text(res, path))
        return 0

    return run_cli(go)


if __name__ == "__main__":
    sys.exit(main())
