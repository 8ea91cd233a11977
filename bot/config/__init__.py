"""Load a YAML run config into frozen pydantic models; report problems as YAML key paths."""

from __future__ import annotations

import copy
import datetime as dt
import difflib
import os
import re
from pathlib import Path
from typing import Any, Literal

import yaml
from loguru import logger
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from bot.config.data_validation import DataValidationConfig
from bot.config.lifecycle import (
    AlertsConfig,
    DriftConfig,
    MonitoringConfig,
    RegistryConfig,
    RetrainConfig,
)
from bot.errors import ConfigError, mask_secrets
from bot.timeframes import parse_timeframe

Fraction = Field(gt=0, le=1)


class Frozen(BaseModel):
    """Base of every config model: immutable, unknown keys rejected."""

    model_config = ConfigDict(frozen=True, extra="forbid")


class DataConfig(Frozen):
    source: str = "sample"
    path: str | None = None
    symbols: list[str] = Field(min_length=1)
    start: dt.date | dt.datetime | None = None
    end: dt.date | dt.datetime | None = None
    timeframe: str = "1d"  # bot.timeframes: 15m, 1h, 4h, 1d, 1w
    sources: list[str] | None = None  # fallback chain, e.g. [alpaca, yfinance]; overrides `source` when set
    cache_dir: str | None = None  # Parquet cache of fetched bars (network sources)
    prices: Literal["raw", "adjusted"] = "raw"  # adjusted: OHLC scaled by adj_close / close when present
    validation: DataValidationConfig = DataValidationConfig()

    @field_validator("path")
    @classmethod
    def _expand(cls, v: str | None) -> str | None:
        return expand_env(v) if v else v

    @field_validator("timeframe")
    @classmethod
    def _timeframe(cls, v: str) -> str:
        try:
            parse_timeframe(v)
        except ConfigError as e:
            raise ValueError(e.what) from None
        return v

    @field_validator("symbols")
    @classmethod
    def _unique(cls, v: list[str]) -> list[str]:
        dupes = sorted({s for s in v if v.count(s) > 1})
        if dupes:
            raise ValueError(f"duplicate symbols: {', '.join(dupes)}")
        return v

    @model_validator(mode="after")
    def _ordered(self) -> DataConfig:
        if self.start and self.end and _as_datetime(self.start) > _as_datetime(self.end):
            raise ValueError(f"data.start ({self.start}) is after data.end ({self.end})")
        return self


class StrategyConfig(Frozen):
    # a registered name (ml_signal, sma_cross), package.module:Class, or path/to/file.py:Class (relative to
    # the config file's folder, else the working directory; stored absolute once loaded: see strategies/loader.py)
    name: str = Field(default="ml_signal", min_length=1)
    params: dict[str, Any] = Field(default_factory=dict)


class LabelParams(Frozen):
    """Settings of the non-default labels (see bot/ml/labels.py)."""

    quantiles: list[float] = Field(default=[0.1, 0.35, 0.65, 0.9], min_length=4, max_length=4)  # signal5 cuts
    profit_take: float = Field(default=1.0, gt=0, le=20)  # triple_barrier: upper barrier, in volatilities
    stop_loss: float = Field(default=1.0, gt=0, le=20)  # triple_barrier: lower barrier, in volatilities
    vol_window: int = Field(default=20, ge=2, le=1000)  # triple_barrier: bars of the causal volatility

    @field_validator("quantiles")
    @classmethod
    def _increasing(cls, v: list[float]) -> list[float]:
        if any(not 0 < q < 1 for q in v) or sorted(set(v)) != v:
            raise ValueError(f"must be 4 increasing fractions in (0, 1), got {v}")
        return v


class SelectionConfig(Frozen):
    """Per-fold feature selection (bot/ml/selection.py), fitted on each training window only."""

    method: Literal["none", "anova", "mutual_info"] = "none"
    k: int = Field(default=20, ge=1)  # features kept


class ModelConfig(Frozen):
    type: Literal["xgboost", "random_forest", "logistic", "hist_gb", "ensemble", "stacking"] = "xgboost"
    params: dict[str, Any] = Field(default_factory=dict)
    features: str | list[str] = "starter"
    horizon: int | list[int] = 1
    # how per-horizon P(up) combine into the one a strategy trades on (bot/ml/horizons.py)
    horizon_combine: Literal["all_agree", "mean", "first"] = "all_agree"
    # users' feature modules: module names or .py paths (relative to the config file's folder; stored absolute)
    feature_modules: list[str] = Field(default_factory=list)
    label: Literal["direction", "signal5", "return", "triple_barrier", "excess_return"] = "direction"
    label_params: LabelParams = LabelParams()
    calibration: Literal["none", "sigmoid", "isotonic"] = "sigmoid"
    pooled: bool = True
    selection: SelectionConfig = SelectionConfig()
    # Trade a model trained earlier instead of walk-forward training: "models:/<name>@champion",
    # "models:/<name>/<version>" or a saved artifact folder. Only bars after its training labels
    # end (plus validation.embargo) get signals. See bot/models/fixed.py.
    uri: str | None = None

    @field_validator("horizon", mode="before")
    @classmethod
    def _horizons(cls, v: Any) -> Any:
        items = v if isinstance(v, list) else [v]
        if not items:
            raise ValueError("give at least one horizon")
        for h in items:
            if isinstance(h, bool) or not isinstance(h, int) or not 1 <= h <= 252:
                raise ValueError(f"each horizon must be a whole number of bars from 1 to 252 (got {h!r})")
        if len(set(items)) != len(items):
            raise ValueError(f"duplicate horizons in {items}")
        return v

    @property
    def horizons(self) -> list[int]:
        """Return the label horizons as a list (one model is trained per horizon)."""
        return list(self.horizon) if isinstance(self.horizon, list) else [self.horizon]


class ValidationConfig(Frozen):
    train: int = Field(default=504, ge=20)
    test: int = Field(default=63, ge=1)
    step: int | None = Field(default=None, ge=1)
    embargo: int = Field(default=5, ge=0)
    window: Literal["rolling", "expanding"] = "rolling"
    scheme: Literal["walk_forward", "purged_kfold", "cpcv"] = "walk_forward"  # backtests need walk_forward
    n_splits: int = Field(default=5, ge=2, le=50)  # purged_kfold: folds; cpcv: groups
    n_test_splits: int = Field(default=2, ge=1, le=49)  # cpcv: groups in each test set
    # folds trained at once (joblib worker processes, bot/ml/pipeline.py); -1: all cores. Results are
    # identical to 1; not part of the prediction cache key. The tuner (on_split) always trains in order.
    n_jobs: int = Field(default=-1)

    @field_validator("n_jobs")
    @classmethod
    def _jobs(cls, v: int) -> int:
        if v == 0 or v < -1:
            raise ValueError("must be -1 (all cores) or a positive number of processes")
        return v

    @model_validator(mode="after")
    def _cpcv_groups(self) -> ValidationConfig:
        if self.scheme == "cpcv" and self.n_test_splits >= self.n_splits:
            raise ValueError(f"n_test_splits ({self.n_test_splits}) must be smaller than n_splits ({self.n_splits})")
        return self

    @property
    def step_bars(self) -> int:
        return self.step or self.test


class ParamRange(Frozen):
    """One dimension of a tuning search space: a numeric range or a list of choices."""

    low: float | None = None
    high: float | None = None
    log: bool = False
    integer: bool = False
    choices: list[Any] | None = None

    @model_validator(mode="after")
    def _range_or_choices(self) -> ParamRange:
        if self.choices is not None:
            if not self.choices:
                raise ValueError("choices must not be empty")
            return self
        if self.low is None or self.high is None or self.low >= self.high:
            raise ValueError("give choices, or low < high")
        if self.log and self.low <= 0:
            raise ValueError("a log range needs low > 0")
        return self


class TuningConfig(Frozen):
    """Optuna tuning settings, and the trial count the deflated Sharpe ratio deflates by."""

    n_trials: int = Field(default=1, ge=1)  # configurations tried to arrive at this one (written by tune)
    sharpe_std: float | None = Field(default=None, gt=0)  # std of per-bar Sharpe across those trials
    metric: Literal["roc_auc", "log_loss", "brier", "accuracy", "balanced_accuracy", "sharpe"] = "roc_auc"
    space: dict[str, ParamRange] = Field(default_factory=dict)  # model.params key -> range; empty: defaults
    prune_after: int = Field(default=3, ge=0)  # folds scored before a trial may be pruned


class BacktestConfig(Frozen):
    """How backtests simulate: Backtrader (the engine of record) or the vectorised engine (bot/engine/vector.py)."""

    engine: Literal["backtrader", "vector"] = "backtrader"


class CacheConfig(Frozen):
    """On-disk cache of walk-forward out-of-sample predictions (bot/ml/cache.py).

    Keyed by the bars' hashes, data/model/validation (not n_jobs)/seed, the training code and library
    versions: a run changing only strategy, risk, broker, backtest, tuning, cache or live reuses an entry.
    """

    enabled: bool = True  # run_backtest.py --no-cache turns it off for one run
    dir: str = ".cache/predictions"  # relative to the working directory; $MP_CACHE_DIR overrides it
    max_size_mb: float = Field(default=2048, gt=0)  # least recently used entries are evicted beyond this


class OptimizeConfig(Frozen):
    """Strategy-parameter optimisation (python -m bot.research.optimize): the space and the walk-forward segments.

    The trading period (from the first out-of-sample prediction on) is cut into ``segments`` equal
    parts; for each part after the first, the trial with the best ``metric`` on the in-sample part
    before it (all earlier parts when ``window`` is anchored, the last ``is_segments`` when rolling)
    trades it. ``pbo_splits`` is the S of the probability of backtest overfitting (CSCV).
    """

    space: dict[str, ParamRange] = Field(default_factory=dict)  # dotted non-model key -> range
    n_trials: int = Field(default=50, ge=1, le=100_000)  # --trials overrides
    metric: Literal["sharpe", "sortino", "total_return", "calmar"] = "sharpe"  # of per-bar equity returns
    sampler: Literal["tpe", "random"] = "tpe"  # random: the trial pool does not depend on any returns
    segments: int = Field(default=5, ge=2, le=100)  # walk-forward parts of the trading period
    window: Literal["anchored", "rolling"] = "anchored"
    is_segments: int = Field(default=1, ge=1)  # rolling window: in-sample parts before each out-of-sample one
    pbo_splits: int = Field(default=16, ge=2, le=24)  # CSCV blocks S (even): C(S, S/2) splits
    engine: Literal["backtrader", "vector"] = "vector"  # backtest.engine of the trials (best_config keeps yours)

    @field_validator("pbo_splits")
    @classmethod
    def _even(cls, v: int) -> int:
        if v % 2:
            raise ValueError("must be even (CSCV splits the blocks into two halves)")
        return v

    @model_validator(mode="after")
    def _is_fits(self) -> OptimizeConfig:
        if self.window == "rolling" and self.is_segments >= self.segments:
            raise ValueError(f"is_segments ({self.is_segments}) must be smaller than segments ({self.segments})")
        return self


class AlpacaBrokerConfig(Frozen):
    """Alpaca settings for live sessions (keys come from ALPACA_API_KEY / ALPACA_SECRET_KEY)."""

    paper: bool = True
    trading_url: str | None = None  # override of the trading API base URL (tests: a loopback fake)
    data_url: str | None = None  # override of the market-data API base URL
    feed: str | None = None  # stock data feed: iex (free accounts) or sip; None: the account default


class CcxtBrokerConfig(Frozen):
    """CCXT exchange settings for live sessions (keys come from CCXT_API_KEY / CCXT_SECRET)."""

    exchange: str = "binance"
    sandbox: bool = True  # the exchange's testnet
    api_url: str | None = None  # override of the exchange's API base URLs (tests: a loopback fake)


class VenueRetryConfig(Frozen):
    """How live sessions talk to a venue: request timeout and retries (bot/venues/retry.py RetryPolicy)."""

    timeout: float = Field(default=10.0, gt=0)  # seconds per HTTP request
    attempts: int = Field(default=5, ge=1, le=20)  # tries of one call, the first included
    base_delay: float = Field(default=0.5, gt=0)  # seconds before the first retry, doubling up to max_delay
    max_delay: float = Field(default=30.0, gt=0)
    lookup_tries: int = Field(default=3, ge=1, le=20)  # lookups of an order whose send outcome is unknown
    lookup_interval: float = Field(default=0.5, ge=0)  # seconds between them


class BrokerConfig(Frozen):
    cash: float = Field(default=100_000.0, gt=0)
    commission: float = Field(default=0.001, ge=0, lt=1)
    slippage: float = Field(default=0.0005, ge=0, lt=1)
    short_fee: float = Field(default=0.0, ge=0)  # annual borrow fee on a short's value, charged per bar in backtests
    fractional: bool | None = None  # None: fractional sizes for crypto pairs (symbols with '/'), whole shares otherwise
    # tick that bracket exit prices are rounded to (bot/venues/increments.py): auto = US-equity rule ($0.01, $0.0001
    # below $1) for symbols without '/', none for crypto pairs; a number: that tick everywhere; null: no rounding
    price_increment: Literal["auto"] | float | None = "auto"
    kind: Literal["paper", "alpaca", "ccxt"] = "paper"  # live sessions only: which venue run_live.py trades on
    alpaca: AlpacaBrokerConfig = AlpacaBrokerConfig()
    ccxt: CcxtBrokerConfig = CcxtBrokerConfig()
    venue: VenueRetryConfig = VenueRetryConfig()  # live sessions: request timeout and retries

    @field_validator("price_increment")
    @classmethod
    def _positive_tick(cls, v: str | float | None) -> str | float | None:
        if isinstance(v, float) and not v > 0:
            raise ValueError("must be auto, a positive tick such as 0.01, or null")
        return v


class RiskConfig(Frozen):
    sizing: Literal["kelly", "fixed_fraction"] = "kelly"
    fraction: float = Field(default=0.5, gt=0, le=1)
    max_position: float = Field(default=0.25, gt=0, le=1)
    stop_loss: float | None = Field(default=None, gt=0, lt=1)
    take_profit: float | None = Field(default=None, gt=0, le=10)
    trailing_stop: float | None = Field(default=None, gt=0, lt=1)
    max_drawdown_halt: float | None = Field(default=None, gt=0, le=1)
    max_daily_loss: float | None = Field(default=None, gt=0, le=1)  # halt entries for the rest of the UTC day
    flatten_on_halt: bool = False  # when a halt triggers, also close open positions (exit_reason "halt")
    max_gross: float = Field(default=1.0, gt=0, le=10)  # portfolio strategies: sum of |weights|, scaled down to it


class LiveConfig(Frozen):
    """Settings of live and paper sessions (run_live.py)."""

    poll_seconds: float = Field(default=5.0, ge=0)  # how often the venue is asked for new closed bars
    state_db: str | None = None  # SQLAlchemy URL of the journal; default sqlite:///state/<name>.db
    paper_data: Literal["replay", "alpaca", "ccxt"] = "replay"  # broker.kind=paper: where bars come from
    warmup_bars: int | None = Field(
        default=None, ge=1
    )  # history before the first traded bar; default: model/strategy need
    model_path: str | None = None  # load a saved live model instead of training at start-up
    on_shutdown: Literal["keep", "cancel"] = "keep"  # open orders when the session ends
    late_bar_seconds: float = Field(default=60.0, ge=0)  # wait this long past a bar's close for lagging symbols
    dust_value: float = Field(default=1.0, ge=0)  # a holding worth less (quote currency) counts as flat: spot fee dust
    # exits the venue refuses: a stop alone (then flatten if that is refused too), flatten at once, or only alert
    on_exit_rejected: Literal["stop_only", "flatten", "alert"] = "stop_only"
    exit_alert_after: int = Field(default=3, ge=1)  # alert when a position's exits failed to arm this many polls
    cancel_wait_seconds: float = Field(default=2.0, ge=0)  # wait for exits to be cancelled before a sell


class Config(Frozen):
    name: str = Field(pattern=r"^[A-Za-z0-9][A-Za-z0-9_.-]*$", max_length=64)
    seed: int = 0
    data: DataConfig
    strategy: StrategyConfig = StrategyConfig()
    model: ModelConfig = ModelConfig()
    validation: ValidationConfig = ValidationConfig()
    broker: BrokerConfig = BrokerConfig()
    risk: RiskConfig = RiskConfig()
    tuning: TuningConfig = TuningConfig()
    backtest: BacktestConfig = BacktestConfig()
    cache: CacheConfig = CacheConfig()
    optimize: OptimizeConfig = OptimizeConfig()
    live: LiveConfig = LiveConfig()
    registry: RegistryConfig = RegistryConfig()  # model lifecycle (bot/config/lifecycle.py)
    retrain: RetrainConfig = RetrainConfig()
    drift: DriftConfig = DriftConfig()
    alerts: AlertsConfig = AlertsConfig()
    monitoring: MonitoringConfig = MonitoringConfig()


_ENV = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)(?::-([^}]*))?\}")


def expand_env(text: str) -> str:
    """Expand ``${NAME}`` and ``${NAME:-default}`` from the environment (unset and no default: empty)."""
    return _ENV.sub(lambda m: os.environ.get(m.group(1)) or (m.group(2) or ""), text)


def _as_datetime(v: dt.date | dt.datetime) -> dt.datetime:
    return v if isinstance(v, dt.datetime) else dt.datetime(v.year, v.month, v.day)


# --------------------------------------------------------------------------- loading


def read_config(path: str | Path, overrides: list[str] | tuple[str, ...] = ()) -> dict[str, Any]:
    """Read ``path`` and apply ``--set key=value`` overrides; return the raw mapping (not validated)."""
    raw = read_yaml(path)
    for item in overrides:
        raw = apply_override(raw, item)
    return raw


def read_yaml(path: str | Path) -> dict[str, Any]:
    """Read a YAML mapping; name the file (and line/column) when it is missing or malformed."""
    p = Path(path)
    if not p.is_file():
        raise ConfigError(str(p), "config file not found")
    try:
        data = yaml.safe_load(p.read_text(encoding="utf-8"))
    except yaml.YAMLError as e:
        mark = getattr(e, "problem_mark", None)
        where = f" at line {mark.line + 1}, column {mark.column + 1}" if mark else ""
        problem = getattr(e, "problem", None) or "could not parse"
        raise ConfigError(str(p), f"invalid YAML{where}: {problem}") from None
    if data is None:
        data = {}
    if not isinstance(data, dict):
        raise ConfigError(str(p), "the top level must be a mapping of keys")
    return data


def apply_override(raw: dict[str, Any], item: str) -> dict[str, Any]:
    """Return a copy of ``raw`` with ``dotted.key=value`` applied (value parsed as YAML)."""
    key, sep, text = item.partition("=")
    key = key.strip()
    if not sep or not key or any(not part for part in key.split(".")):
        raise ConfigError("--set", f"expected dotted.key=value, got {item!r}")
    try:
        value = yaml.safe_load(text) if text.strip() else None
    except yaml.YAMLError:
        raise ConfigError(key, f"value {text!r} is not valid YAML") from None
    out = copy.deepcopy(raw)
    node = out
    parts = key.split(".")
    for i, part in enumerate(parts[:-1]):
        child = node.get(part)
        if child is None:
            child = node[part] = {}
        if not isinstance(child, dict):
            raise ConfigError(".".join(parts[: i + 1]), "is not a mapping, cannot set a key inside it")
        node = child
    node[parts[-1]] = value
    return out


def validate_config(raw: dict[str, Any]) -> Config:
    """Validate a raw mapping against the schema only; the first problem becomes a ConfigError.

    Plugins are not resolved here (this layer imports no strategy or feature code): use
    ``bot.configure.parse_config`` / ``load_config`` for a config a run will execute.
    """
    raw = _migrate_horizon_combine(raw)
    try:
        return Config.model_validate(raw)
    except ValidationError as e:
        raise to_config_error(e, Config) from None


def _migrate_horizon_combine(raw: dict[str, Any]) -> dict[str, Any]:
    """Move the deprecated ``strategy.params.horizon_combine`` of ml_signal to ``model.horizon_combine``."""
    strategy = raw.get("strategy")
    if not isinstance(strategy, dict) or strategy.get("name", "ml_signal") != "ml_signal":
        return raw
    params, model = strategy.get("params"), raw.get("model", {})
    if not isinstance(params, dict) or "horizon_combine" not in params or not isinstance(model, dict):
        return raw
    out = copy.deepcopy(raw)
    value = out["strategy"]["params"].pop("horizon_combine")
    model = out.setdefault("model", {})
    if model.setdefault("horizon_combine", value) != value:
        raise ConfigError(
            "strategy.params.horizon_combine",
            f"{value!r} conflicts with model.horizon_combine {model['horizon_combine']!r} (give only the latter)",
        )
    logger.warning("strategy.params.horizon_combine is deprecated: use model.horizon_combine")
    return out


def to_config_error(e: ValidationError, model: type[BaseModel], prefix: tuple = ()) -> ConfigError:
    err = e.errors()[0]
    loc = prefix + tuple(p for p in err["loc"] if p not in ("function-after", "function-before"))
    where = _dotted(loc) if loc else "config"
    kind = err["type"]
    if kind == "extra_forbidden":
        return ConfigError(where, "unknown key" + _did_you_mean(loc[len(prefix) :], model))
    if kind == "missing":
        return ConfigError(where, "missing required key")
    msg = err["msg"]
    for lead in ("Value error, ", "Assertion failed, "):
        msg = msg.removeprefix(lead)
    value = err.get("input")
    shown = f" (got {value!r})" if kind != "model_type" and not isinstance(value, dict | list) else ""
    return ConfigError(where, f"{msg[:1].lower()}{msg[1:]}{shown}")


def _dotted(loc: tuple) -> str:
    out = ""
    for part in loc:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out


def _did_you_mean(loc: tuple, model: Any) -> str:
    """Suggest the closest valid key for an unknown one."""
    for part in loc[:-1]:
        field = getattr(model, "model_fields", {}).get(part)
        if field is None:
            return ""
        model = field.annotation
    valid = list(getattr(model, "model_fields", {}))
    if not valid:
        return ""
    close = difflib.get_close_matches(str(loc[-1]), valid, n=1)
    return f" (did you mean '{close[0]}'?)" if close else f" (valid keys: {', '.join(valid)})"


def dump_config(cfg: Config) -> str:
    """Return the resolved config as YAML text, credentials in URLs masked (``scheme://***@host``)."""
    return yaml.safe_dump(mask_secrets(cfg.model_dump(mode="json")), sort_keys=False)
