"""The kill switch: stop new entries after a drawdown or a daily loss (backtests and live alike).

``update(now, equity)`` is called once per bar with the equity marked at the close. It halts
while equity is ``risk.max_drawdown_halt`` or more below its running peak, and for the rest of
the UTC day once equity fell ``risk.max_daily_loss`` or more below the equity the day started
with (the last mark of the previous day). With ``risk.flatten_on_halt`` the adapter also closes open positions.
A live session seeds the peak and the day's opening equity from its journal, so a restart does
not reset them.
"""

from __future__ import annotations

import pandas as pd

from bot.config import RiskConfig


class KillSwitch:
    """Decide, bar by bar, whether new entries are allowed."""

    def __init__(
        self,
        risk: RiskConfig,
        start_equity: float,
        peak: float | None = None,
        day: pd.Timestamp | None = None,
        day_open: float | None = None,
        last: float | None = None,
    ):
        self.risk = risk
        self.peak = max(start_equity, peak or start_equity)
        self.day = None if day is None else _day(day)
        self.day_open = day_open if day_open is not None else start_equity
        self._last = last if last is not None else (start_equity if day_open is None else day_open)
        self.halted = False
        self.day_halted = False
        # (UTC day number, naive?, unit) of the last ``now`` seen, and _day() of it
        self._day_key: tuple | None = None
        self._day_of_key: pd.Timestamp | None = None

    @property
    def flatten(self) -> bool:
        return self.risk.flatten_on_halt

    def update(self, now: pd.Timestamp, equity: float) -> bool:
        """Record the bar's equity; return True if new entries must not be opened."""
        today = self._today(now)
        if today != self.day:
            self.day, self.day_open, self.day_halted = today, self._last, False
        self._last = equity
        self.peak = max(self.peak, equity)
        r = self.risk
        drawdown = r.max_drawdown_halt is not None and equity / self.peak - 1.0 <= -r.max_drawdown_halt
        if r.max_daily_loss is not None and self.day_open > 0 and equity / self.day_open - 1.0 <= -r.max_daily_loss:
            self.day_halted = True  # latched until the next UTC day
        self.halted = bool(drawdown or self.day_halted)
        return self.halted

    def _today(self, now: pd.Timestamp) -> pd.Timestamp:
        """Return ``_day(now)``, reusing the last one while ``now`` stays on the same UTC day."""
        if type(now) is not pd.Timestamp:
            return _day(now)
        key = (now.value // _NS_PER_DAY, now.tzinfo is None, now.unit)  # what _day(now) depends on
        if key != self._day_key:
            self._day_key, self._day_of_key = key, _day(now)
        return self._day_of_key


_NS_PER_DAY = 86_400 * 10**9


def _day(ts: pd.Timestamp) -> pd.Timestamp:
    t = pd.Timestamp(ts)
    t = t.tz_convert("UTC") if t.tzinfo is not None else t
    return t.normalize()
