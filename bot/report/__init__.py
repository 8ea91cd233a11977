"""Self-contained HTML tear sheets built from a backtest run folder alone.

    write_tearsheet(run_dir) -> run_dir/tearsheet.html
    write_comparison([run_dir, ...], out) -> out (several runs side by side)

Command line: ``python -m bot.report <run_dir>`` and
``python -m bot.report compare <run_dir> <run_dir>... --out FILE.html``.
"""

from bot.report.compare import write_comparison
from bot.report.tearsheet import build_tearsheet, write_tearsheet

__all__ = ["build_tearsheet", "write_comparison", "write_tearsheet"]
