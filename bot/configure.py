"""Load a run config and resolve it against the installed plugins (strategies, feature modules).

``bot.config`` is the schema layer and imports no strategy or feature code; this module sits above
``strategies`` and ``bot.features`` and adds what a run needs on top of schema validation: plugin
file paths made absolute, feature modules registered, the strategy's params validated, and the
venue-backed bar sources registered with ``bot.data`` (importing ``bot.venues`` does that).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from pydantic import ValidationError

import bot.venues  # noqa: F401  (registers the venue-backed bar sources: alpaca, ccxt)
from bot.config import Config, read_config, to_config_error, validate_config
from bot.errors import ConfigError
from bot.features.plugins import register_feature_modules, resolve_module_spec
from strategies import get_strategy_class
from strategies.loader import resolve_strategy_name


def load_config(path: str | Path, overrides: list[str] | tuple[str, ...] = ()) -> Config:
    """Read ``path``, apply ``--set key=value`` overrides, validate; raise ConfigError on any problem."""
    return parse_config(read_config(path, overrides), base_dir=Path(path).resolve().parent)


def parse_config(raw: dict[str, Any], base_dir: Path | None = None) -> Config:
    """Validate a raw mapping into a Config; the first problem becomes a ConfigError.

    Plugin file paths (``strategy.name``, ``model.feature_modules``) are resolved against ``base_dir``
    (the config file's folder), else the working directory, and stored absolute; feature modules are
    registered before anything resolves feature names.
    """
    cfg = resolve_plugins(validate_config(raw), base_dir)
    check_strategy_params(cfg)
    return cfg


def resolve_plugins(cfg: Config, base_dir: Path | None) -> Config:
    """Return ``cfg`` with plugin paths made absolute, after registering its feature modules."""
    name = resolve_strategy_name(cfg.strategy.name, base_dir)
    modules = [
        resolve_module_spec(m, base_dir, f"model.feature_modules[{i}]") for i, m in enumerate(cfg.model.feature_modules)
    ]
    register_feature_modules(modules)
    if name == cfg.strategy.name and modules == cfg.model.feature_modules:
        return cfg
    return cfg.model_copy(
        update={
            "strategy": cfg.strategy.model_copy(update={"name": name}),
            "model": cfg.model.model_copy(update={"feature_modules": modules}),
        }
    )


def check_strategy_params(cfg: Config) -> None:
    """Validate ``strategy.params`` against the strategy's Params; kelly sizing needs a model."""
    cls = get_strategy_class(cfg.strategy.name)
    try:
        cls.Params.model_validate(cfg.strategy.params)
    except ValidationError as e:
        raise to_config_error(e, cls.Params, prefix=("strategy", "params")) from None
    if cfg.risk.sizing == "kelly" and not cls.uses_model:
        raise ConfigError(
            "risk.sizing",
            f"kelly needs a model's win probability; strategy '{cfg.strategy.name}' has none (use fixed_fraction)",
        )
