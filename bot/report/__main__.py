"""Command line: rebuild a run's tear sheet, or compare several runs.

python -m bot.report <run_dir>
python -m bot.report compare <run_dir> <run_dir>... --out FILE.html
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from pathlib import Path

from bot.cli import program
from bot.errors import UserError

USAGE = "python -m bot.report <run_dir> | python -m bot.report compare <run_dir> <run_dir>... --out FILE.html"


def _parse(argv: Sequence[str]) -> argparse.Namespace:
    if argv and argv[0] == "compare":
        parser = argparse.ArgumentParser(
            prog=f"{program('python -m bot.report')} compare",
            description="Compare runs side by side.",
        )
        parser.add_argument("run_dirs", nargs="+", type=Path, help="run folders to compare")
        parser.add_argument("--out", type=Path, required=True, help="HTML file to write")
        args = parser.parse_args(argv[1:])
        args.command = "compare"
        return args
    prog = program("python -m bot.report")
    parser = argparse.ArgumentParser(
        prog=prog,
        usage=USAGE.replace("python -m bot.report", prog),
        description="Rebuild a run folder's tearsheet.html without re-running it.",
    )
    parser.add_argument("run_dir", type=Path, help="run folder (holds metrics.json, equity.csv, ...)")
    args = parser.parse_args(argv)
    args.command = "tearsheet"
    return args


def main(argv: Sequence[str] | None = None) -> int:
    """Run the CLI; return the exit code (2 config error, 3 data error)."""
    args = _parse(list(sys.argv[1:] if argv is None else argv))
    from bot.report import write_comparison, write_tearsheet  # lazy: matplotlib

    try:
        if args.command == "compare":
            out = write_comparison(args.run_dirs, args.out)
        else:
            out = write_tearsheet(args.run_dir)
    except UserError as e:
        print(e.line(), file=sys.stderr)
        return e.exit_code
    print(out)
    return 0


if __name__ == "__main__":
    sys.exit(main())
