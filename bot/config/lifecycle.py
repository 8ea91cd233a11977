"""Config sections of the model lifecycle: registry, retrain, drift, alerts, monitoring.

They are top-level keys of the run config (``bot.config.Config``); every section has defaults, so
existing configs stay valid. Frozen, unknown keys rejected, like the rest of the config.
"""

from __future__ import annotations

import ipaddress
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

HIGHER_IS_BETTER = {
    "roc_auc": True,
    "accuracy": True,
    "balanced_accuracy": True,
    "sharpe": True,
    "log_loss": False,
    "brier": False,
}


class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class RegistryConfig(_Frozen):
    """Where MLflow keeps runs and registered models (local SQLite + folder by default)."""

    tracking_uri: str = "sqlite:///mlruns/mlflow.db"
    artifact_location: str = "mlruns/artifacts"  # used when the experiment is created
    experiment: str | None = None  # default: the config's name
    model_name: str | None = None  # registered model; default: the config's name
    xgboost_format: Literal["ubj", "json"] = "ubj"
    log_backtests: bool = True  # run_backtest.py logs each run folder to MLflow (bot.models.tracking.log_backtest_run)
    log_training: bool = True  # run_live.py logs the model it trains at start-up as an MLflow training run


class RetrainConfig(_Frozen):
    """The promotion gate and the live retraining schedule."""

    metric: Literal["roc_auc", "accuracy", "balanced_accuracy", "sharpe", "log_loss", "brier"] = "roc_auc"
    margin: float = Field(default=0.0, ge=0, le=1)  # the challenger must beat the champion by this much
    eval_bars: int | None = Field(default=None, ge=5)  # shared out-of-sample window; default validation.test
    train_bars: int | None = Field(default=None, ge=20)  # challenger's train window; default validation.train
    min_predictions: int = Field(default=100, ge=1)
    max_brier: float = Field(default=0.26, gt=0, le=1)  # calibration bound for the challenger
    beat_baseline: bool = True  # challenger accuracy must reach the majority-class baseline
    schedule: str | None = None  # cron (minute hour day month weekday) for live sessions, e.g. "0 2 * * *"
    timezone: str = "UTC"
    shadow: bool = False  # run the challenger alongside in live/paper sessions, orders recorded not sent

    @field_validator("schedule")
    @classmethod
    def _cron(cls, v: str | None) -> str | None:
        if v is None:
            return v
        from apscheduler.triggers.cron import CronTrigger

        try:
            CronTrigger.from_crontab(v, timezone="UTC")
        except ValueError as e:
            raise ValueError(f"not a valid cron expression: {e}") from None
        return v

    @property
    def higher_is_better(self) -> bool:
        return HIGHER_IS_BETTER[self.metric]


class DriftConfig(_Frozen):
    """Drift thresholds and what crossing them does."""

    bins: int = Field(default=10, ge=2, le=100)  # PSI bins (quantiles of the reference)
    psi_threshold: float = Field(default=0.25, gt=0)  # a feature drifts when PSI >= this ...
    ks_alpha: float = Field(default=0.05, gt=0, lt=1)  # ... and its KS p-value < ks_alpha / n_features
    feature_share: float = Field(default=0.0, ge=0, le=1)  # data drift: max(1, ceil(share * n)) features drift
    prediction_psi: float = Field(default=0.25, gt=0)  # prediction drift: PSI of P(up) >= this (and KS)
    max_brier_increase: float = Field(default=0.03, gt=0)  # performance decay vs what validation promised
    max_accuracy_drop: float = Field(default=0.05, gt=0)
    performance_alpha: float = Field(default=0.05, gt=0, le=1)  # ... and the drop / rise is significant at this level
    min_samples: int = Field(default=50, ge=10)  # fewer rows in a period: no verdict on it
    window: int = Field(default=63, ge=10)  # live monitoring: bars in the current window
    check_every: int = Field(default=5, ge=1)  # live monitoring: check every this many bars (bar count, deterministic)
    clear_after: int = Field(default=5, ge=1)  # live: clean checks in a row before a drift decision is lifted
    action: Literal["alert", "retrain", "scale_down", "halt_entries"] = "alert"
    scale_factor: float = Field(default=0.5, gt=0, le=1)  # scale_down: multiply position sizes by this


class AlertsConfig(_Frozen):
    """Alert delivery: always the log, plus a Slack/Discord-style webhook whose URL is in the environment."""

    webhook_env: str | None = Field(default="MP_ALERT_WEBHOOK_URL", pattern=r"^[A-Za-z_][A-Za-z0-9_]*$")
    timeout: float = Field(default=5.0, gt=0, le=60)
    min_level: Literal["info", "warning", "critical"] = "warning"  # lowest level sent to the webhook


class MonitoringConfig(_Frozen):
    """The Prometheus exporter of a live session (/metrics, /health, /status), loopback only."""

    enabled: bool = True
    host: str = "127.0.0.1"
    port: int = Field(default=9108, ge=0, le=65535)  # 0: any free port
    stale_after: float | None = Field(default=None, gt=0)  # /health is 503 when no bar for this many seconds

    @field_validator("host")
    @classmethod
    def _loopback(cls, v: str) -> str:
        if v == "localhost":
            return v
        try:
            ok = ipaddress.ip_address(v).is_loopback
        except ValueError:
            ok = False
        if not ok:
            raise ValueError(
                "must be a loopback address (127.0.0.1, ::1, localhost); put a reverse proxy in front to expose it"
            )
        return v
