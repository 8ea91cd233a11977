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
    offenders = [str(p.relative_to(ROOT)) for folder in ("bot", "strategies")
                 for p in sorted((ROOT / folder).rglob("*.py"))
                 if "backtrader" in _imports(p) and p.relative_to(ROOT).parts[:2] != ("bot", "engine")]
    assert offenders == []
