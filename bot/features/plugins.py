"""Users' own features: ``model.feature_modules`` lists modules (or ``.py`` files) that define them.

A module defines features with the ``@feature`` decorator, a ``FEATURES`` table shaped like the
built-in modules' (name -> :class:`Feature`), or both::

    from bot.features import feature

    @feature("range_20", warmup=19, formula="(max(h, 20) - min(l, 20)) / c")
    def range_20(bars):
        return (bars["high"].rolling(20).max() - bars["low"].rolling(20).min()) / bars["close"]

Registration adds them to ``USER_FEATURES`` (the built-in ``REGISTRY`` stays as it is) in the
order listed (the table first, then decorated functions in definition order); a name clashing with
a built-in feature or preset, or with another module's feature, is a config error naming the
module and the feature.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from types import ModuleType

from bot.errors import ConfigError
from bot.features.api import FEATURE_PRESETS, REGISTRY, USER_FEATURES
from bot.features.registry import Feature
from bot.plugins import is_path, load_module, resolve_path

_OWNERS: dict[str, str] = {}  # user feature name -> the module spec that registered it


def feature(
    name: str | None = None, *, warmup: int = 0, formula: str = "", needs: Sequence[str] = ()
) -> Callable[[Callable], Callable]:
    """Mark a function ``fn(bars) -> Series`` (``fn(bars, context)`` with ``needs``) as a feature."""

    def mark(fn: Callable) -> Callable:
        doc = (fn.__doc__ or "").strip().splitlines()
        summary = formula or (doc[0] if doc else fn.__name__)
        found = Feature(name or fn.__name__, fn, summary, int(warmup), tuple(needs))
        vars(fn)["__feature__"] = found  # a plain attribute of the function, read back with getattr
        return fn

    return mark


def resolve_module_spec(spec: str, base_dir: Path | None, where: str) -> str:
    """Return a module name unchanged, a ``.py`` path absolute (relative to ``base_dir``, else the cwd)."""
    return str(resolve_path(spec, base_dir, where)) if is_path(spec) else spec


def module_features(module: ModuleType, spec: str, where: str) -> list[Feature]:
    """Return the features ``module`` defines: its FEATURES table, then its @feature functions."""
    table = getattr(module, "FEATURES", {})
    if not isinstance(table, Mapping) or not all(isinstance(f, Feature) for f in table.values()):
        raise ConfigError(where, f"{spec}: FEATURES must map names to bot.features.Feature objects")
    out: dict[str, Feature] = {}
    for key, f in table.items():
        if key != f.name:
            raise ConfigError(where, f"{spec}: FEATURES key '{key}' differs from its feature's name '{f.name}'")
        out[key] = f
    for value in vars(module).values():
        f = getattr(value, "__feature__", None)
        if not isinstance(f, Feature) or getattr(value, "__module__", None) != module.__name__:
            continue
        if out.get(f.name, f) is not f:
            raise ConfigError(where, f"{spec}: feature '{f.name}' is defined twice")
        out[f.name] = f
    if not out:
        raise ConfigError(where, f"{spec}: defines no features (a FEATURES table or @feature functions)")
    return list(out.values())


def load_features(spec: str, where: str, base_dir: Path | None = None) -> list[Feature]:
    """Import ``spec`` (module name or .py path) and return its features, without registering them."""
    return module_features(load_module(spec, where, base_dir), spec, where)


def register_feature_modules(specs: Sequence[str]) -> list[str]:
    """Register every feature of the listed modules; return the names, in order."""
    names: list[str] = []
    for i, spec in enumerate(specs):
        where = f"model.feature_modules[{i}]"
        for f in load_features(spec, where):
            _register(f, spec, where)
            names.append(f.name)
    return names


def _register(f: Feature, spec: str, where: str) -> None:
    if f.name in REGISTRY or f.name in FEATURE_PRESETS:
        raise ConfigError(where, f"{spec}: feature '{f.name}' clashes with a built-in feature or preset")
    current = USER_FEATURES.get(f.name)
    if current is f:
        return
    if current is not None:
        raise ConfigError(where, f"{spec}: feature '{f.name}' is already registered by {_OWNERS.get(f.name, '?')}")
    USER_FEATURES[f.name] = f
    _OWNERS[f.name] = spec
