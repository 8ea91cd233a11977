"""Layering rules that code review would otherwise have to catch."""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SDKS = {"alpaca", "ccxt"}


def _imports(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    names = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names |= {a.name.split(".")[0] for a in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module.split(".")[0])
    return names


def test_only_bot_venues_imports_the_venue_sdks():
    offenders = []
    for folder in ("bot", "strategies"):
        for path in sorted((ROOT / folder).rglob("*.py")):
            rel = path.relative_to(ROOT)
            if rel.parts[:2] == ("bot", "venues"):
                continue
            bad = _imports(path) & SDKS
            if bad:
                offenders.append(f"{rel}: {', '.join(sorted(bad))}")
    assert offenders == []


def test_only_bot_engine_imports_backtrader():
    offenders = [
        str(p.relative_to(ROOT))
        for folder in ("bot", "strategies")
        for p in sorted((ROOT / folder).rglob("*.py"))
        if "backtrader" in _imports(p) and p.relative_to(ROOT).parts[:2] != ("bot", "engine")
    ]
    assert offenders == []


# --------------------------------------------------------------------------- layers (docs/architecture.md)

# A unit is bot/<package>, bot/<module>.py, or strategies; a ``__main__.py`` is an entry point (CLI).
LAYERS = {
    # 0 core: no project imports beyond this layer
    "bot": 0,
    "bot.errors": 0,
    "bot.version": 0,
    "bot.orders": 0,
    "bot.plugins": 0,
    "bot.order_ids": 0,
    "bot.roundtrips": 0,
    "bot.cli": 0,
    "bot.runfolder": 0,
    "bot.rebalance": 0,
    "bot.timeframes": 0,
    "bot.instruments": 0,
    "bot.progress": 0,
    # 1 config schema
    "bot.config": 1,
    # 2 domain building blocks
    "bot.data": 2,
    "bot.features": 2,
    "bot.analytics": 2,
    "bot.risk": 2,
    "bot.ledger": 2,
    "bot.alerts": 2,
    "bot.monitoring": 2,
    # 3 models of signals, venue clients
    "bot.ml": 3,
    "bot.venues": 3,
    # 4 strategies
    "strategies": 4,
    # 5 a config resolved against the installed plugins
    "bot.configure": 5,
    # 6 simulation engine, model lifecycle
    "bot.engine": 6,
    "bot.models": 6,
    # 7 backtest orchestration, reports, drift
    "bot.backtest": 7,
    "bot.report": 7,
    "bot.drift": 7,
    # 8 applications
    "bot.live": 8,
    "bot.research": 8,
    "bot.retrain": 8,
    # 9 command-line entry points
    "cli": 9,
    "bot.main": 9,
}
HEAVY_REASON = "# lazy:"


def _unit(module: str) -> str | None:
    parts = module.split(".")
    if parts[-1] == "__main__":
        return "cli"
    if parts[0] == "strategies":
        return "strategies"
    if parts[0] != "bot":
        return None
    return "bot" if len(parts) == 1 else f"bot.{parts[1]}"


def _edges() -> list[tuple[str, str, str, bool, str]]:
    """Return (src unit, dst unit, where, function-level, source line) for every cross-unit import."""
    out = []
    for folder in ("bot", "strategies"):
        for path in sorted((ROOT / folder).rglob("*.py")):
            rel = path.relative_to(ROOT)
            src = _unit(".".join(rel.with_suffix("").parts).removesuffix(".__init__"))
            text = path.read_text(encoding="utf-8")
            lines, tree = text.splitlines(), ast.parse(text, filename=str(path))
            nested = {
                id(n)
                for f in ast.walk(tree)
                if isinstance(f, ast.FunctionDef | ast.AsyncFunctionDef)
                for n in ast.walk(f)
            }
            for node in ast.walk(tree):
                if isinstance(node, ast.Import):
                    names = [a.name for a in node.names]
                elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
                    names = [node.module]
                else:
                    continue
                for name in names:
                    dst = _unit(name)
                    if dst and dst != src:
                        out.append((src, dst, f"{rel}:{node.lineno}", id(node) in nested, lines[node.lineno - 1]))
    return out


def test_every_unit_has_a_layer():
    units = {e[0] for e in _edges()} | {e[1] for e in _edges()}
    units |= {_unit(f"bot.{p.stem}") for p in (ROOT / "bot").glob("*.py") if p.stem != "__init__"}
    units |= {f"bot.{p.name}" for p in (ROOT / "bot").iterdir() if (p / "__init__.py").is_file()}
    assert sorted(units - set(LAYERS)) == []


def test_no_unit_imports_a_higher_layer():
    upward = [
        f"{where}: {src} (layer {LAYERS[src]}) imports {dst} (layer {LAYERS[dst]})"
        for src, dst, where, _, _ in _edges()
        if LAYERS.get(src, 99) < LAYERS.get(dst, 99)
    ]
    assert upward == []


def _cycle(graph: dict[str, set[str]]) -> list[str] | None:
    """Return the units of one strongly connected component with more than one unit (Tarjan), else None."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    found: list[list[str]] = []

    def visit(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        for w in sorted(graph.get(v, ())):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            component = []
            while True:
                w = stack.pop()
                component.append(w)
                if w == v:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for v in sorted(graph):
        if v not in index:
            visit(v)
    return found[0] if found else None


def test_no_import_cycle_between_units():
    graph: dict[str, set[str]] = {}
    for src, dst, *_ in _edges():
        graph.setdefault(src, set()).add(dst)
    assert _cycle(graph) is None


def test_the_cycle_finder_finds_a_cycle():
    assert _cycle({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == ["a", "b", "c"]
    assert _cycle({"a": {"b"}, "b": {"c"}}) is None


def test_function_level_project_imports_say_why():
    """An import of another unit inside a function only defers a heavy or optional dependency,
    and says which on its first line."""
    silent = [
        f"{where}: {line.strip()}" for _, _, where, nested, line in _edges() if nested and HEAVY_REASON not in line
    ]
    assert silent == []
