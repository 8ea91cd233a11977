"""Per-check validation policies (the ``data.validation`` config key).

Each check takes a policy: ``fail`` stops the run with a data error, ``warn`` keeps the data
and reports it, ``repair`` fixes the data (drop, clamp, sort or forward-fill within a limit)
and reports what changed. A check may also be written as just its policy: ``gaps: repair``.
Checks whose ``warn`` would leave frames outside the bar schema accept only fail/repair.
"""

from __future__ import annotations

import datetime as dt
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

Policy = Literal["fail", "warn", "repair"]
StrictPolicy = Literal["fail", "repair"]
ReportPolicy = Literal["fail", "warn"]


class _Check(BaseModel):
    """A check's settings; a bare string is read as ``{policy: <string>}``."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    @model_validator(mode="before")
    @classmethod
    def _policy_shorthand(cls, data: Any) -> Any:
        return {"policy": data} if isinstance(data, str) else data


class UnsortedCheck(_Check):
    """Timestamps going backwards; repair sorts (stable)."""

    policy: StrictPolicy = "fail"


class DuplicateCheck(_Check):
    """Repeated timestamps; repair keeps one row (``keep``)."""

    policy: StrictPolicy = "fail"
    keep: Literal["first", "last"] = "last"


class MissingValuesCheck(_Check):
    """NaN prices or volume; repair forward-fills the close up to ``max_fill`` bars, drops the rest."""

    policy: StrictPolicy = "fail"
    max_fill: int = Field(default=3, ge=0)


class NonPositiveCheck(_Check):
    """Prices <= 0 or negative volume; repair drops the rows."""

    policy: StrictPolicy = "fail"


class OhlcCheck(_Check):
    """high < max(open, close) or low > min(open, close); repair widens high/low to cover."""

    policy: Policy = "fail"


class PartialCandleCheck(_Check):
    """Still-forming last candle of an exchange export; repair drops it.

    Detected when the bar closes after ``now`` (live), when ``assume_partial`` is set, or, for
    24/7 data, when its volume is below ``volume_ratio`` x the median of the previous ``lookback``.
    """

    policy: Policy = "repair"
    volume_ratio: float = Field(default=0.30, gt=0, le=1)
    lookback: int = Field(default=30, ge=1)
    assume_partial: bool = False


class GapCheck(_Check):
    """Missing bars beyond the calendar (24/7 grid, or weekdays for exchange data).

    Exchange data: a gap is more than ``max_missing_weekdays`` missing weekdays in a row, not
    counting known special closures. Repair fills gaps of up to ``max_fill`` bars with flat
    bars at the previous close and zero volume; longer gaps stay and are reported as warn.
    """

    policy: Policy = "warn"
    max_missing_weekdays: int = Field(default=2, ge=0)
    max_fill: int = Field(default=3, ge=0)


class MoveCheck(_Check):
    """Close-to-close moves above ``max_move``; repair drops isolated spikes that revert."""

    policy: Policy = "warn"
    max_move: float = Field(default=0.50, gt=0)


class ZeroVolumeCheck(_Check):
    """Runs of at least ``min_run`` zero-volume bars; repair drops them. All-zero = no volume data."""

    policy: Policy = "warn"
    min_run: int = Field(default=1, ge=1)


class FlatBarCheck(_Check):
    """Runs of at least ``min_run`` bars with open == high == low == close; repair drops them."""

    policy: Policy = "warn"
    min_run: int = Field(default=1, ge=1)


class StaleCheck(_Check):
    """Last bar older than ``max_age_bars`` bars at the live clock (skipped without a clock)."""

    policy: ReportPolicy = "fail"
    max_age_bars: int = Field(default=2, ge=0)


class HistoryCheck(_Check):
    """Fewer than ``min_bars`` bars (set it from the training windows)."""

    policy: ReportPolicy = "fail"
    min_bars: int = Field(default=0, ge=0)


class DataValidationConfig(BaseModel):
    """Validation policies for every check, in the order they run."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    unsorted_timestamps: UnsortedCheck = UnsortedCheck()
    duplicate_timestamps: DuplicateCheck = DuplicateCheck()
    missing_values: MissingValuesCheck = MissingValuesCheck()
    non_positive_prices: NonPositiveCheck = NonPositiveCheck()
    ohlc_consistency: OhlcCheck = OhlcCheck()
    partial_last_candle: PartialCandleCheck = PartialCandleCheck()
    gaps: GapCheck = GapCheck()
    single_bar_move: MoveCheck = MoveCheck()
    zero_volume: ZeroVolumeCheck = ZeroVolumeCheck()
    flat_bars: FlatBarCheck = FlatBarCheck()
    stale_data: StaleCheck = StaleCheck()
    history: HistoryCheck = HistoryCheck()


# US exchange closures that are not regular holidays (weekdays), so they are not gaps.
SPECIAL_CLOSURES: tuple[dt.date, ...] = (
    dt.date(1994, 4, 27),
    dt.date(2001, 9, 11),
    dt.date(2001, 9, 12),
    dt.date(2001, 9, 13),
    dt.date(2001, 9, 14),
    dt.date(2004, 6, 11),
    dt.date(2007, 1, 2),
    dt.date(2012, 10, 29),
    dt.date(2012, 10, 30),
    dt.date(2018, 12, 5),
    dt.date(2025, 1, 9),
)
