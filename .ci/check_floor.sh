#!/usr/bin/env bash
# The oldest Python pyproject.toml claims (requires-python >= 3.10): install the package there,
# import every module and run the quickstart. Skipped, loudly, when no python3.10 is on the machine.
set -euo pipefail
cd "$(dirname "$0")/.."
PY=""
for c in python3.10 "$(pyenv root 2>/dev/null)"/versions/3.10*/bin/python; do
  if "$c" -c 'import sys; assert sys.version_info[:2] == (3, 10)' 2>/dev/null; then PY=$c; break; fi
done
if [ -z "$PY" ]; then
  echo "check_floor: python3.10 not found; the Python floor was not checked" >&2
  exit 0
fi
VENV=$(mktemp -d)/py310
"$PY" -m venv "$VENV"
"$VENV/bin/python" -m pip install --quiet --upgrade pip
"$VENV/bin/python" -m pip install --quiet -e .
"$VENV/bin/python" - <<'PY'
import importlib, pkgutil, sys
import bot, strategies
bad = []
for pkg in (bot, strategies):
    for m in pkgutil.walk_packages(pkg.__path__, pkg.__name__ + "."):
        if m.name.endswith("__main__"):
            continue
        try:
            importlib.import_module(m.name)
        except Exception as e:  # report every module that fails to import on the floor version
            bad.append(f"{m.name}: {e!r}")
print(f"check_floor: {sys.version.split()[0]}: imported bot and strategies", "FAILED:" if bad else "ok", *bad, sep="\n")
sys.exit(1 if bad else 0)
PY
OUT=$(mktemp -d)
"$VENV/bin/python" run_backtest.py --config config/backtest/quickstart.yaml --out "$OUT/quickstart" -q \
  --set registry.tracking_uri="sqlite:///$OUT/mlflow.db"
test -f "$OUT/quickstart/metrics.json"
echo "check_floor: quickstart ran on $("$VENV/bin/python" --version)"
