"""validate_bars: every check has a failing fixture; warn keeps, repair fixes, fail raises."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from pydantic import ValidationError

from bot.config.data_validation import DataValidationConfig
from bot.data.validation import validate_bars
from bot.errors import DataError


def daily(n: int = 60, start: str = "2021-01-04") -> pd.DataFrame:
    idx = pd.bdate_range(start, periods=n, tz="UTC", name="timestamp")
    close = 100 * np.exp(np.cumsum(np.full(n, 0.001)))
    return pd.DataFrame(
        {
            "open": close * 0.999,
            "high": close * 1.01,
            "low": close * 0.99,
            "close": close,
            "volume": np.full(n, 1000.0),
        },
        index=idx,
    )


def hourly(n: int = 120, start: str = "2021-01-01") -> pd.DataFrame:
    frame = daily(n)
    frame.index = pd.date_range(start, periods=n, freq="h", tz="UTC", name="timestamp")
    return frame


def cfg(**checks) -> DataValidationConfig:
    return DataValidationConfig.model_validate(checks)


def run(frame: pd.DataFrame, config: DataValidationConfig, tf: str = "1d", now=None):
    return validate_bars({"T": frame}, config, tf, now=now)


def status(report: dict, check: str) -> str:
    return report["symbols"]["T"]["checks"][check]["status"]


def test_clean_data_is_ok_everywhere():
    bars, report = run(daily(), cfg())
    assert report["status"] == "ok"
    assert report["counts"]["ok"] == len(report["symbols"]["T"]["checks"])
    pd.testing.assert_frame_equal(bars["T"], daily(), check_freq=False)


def _set(frame, i, **vals):
    f = frame.copy()
    for col, v in vals.items():
        f.iloc[i, f.columns.get_loc(col)] = v
    return f


def _unsorted():
    f = daily()
    return f.iloc[[0, 1, 3, 2, *range(4, len(f))]]


def _dup():
    f = daily()
    return pd.concat([f.iloc[:5], f.iloc[4:5] * 1.001, f.iloc[5:]])


def _gap24():
    f = hourly()
    return f.drop(f.index[50:52])


def _weekday_gap():
    f = daily()
    return f.drop(f.index[20:24])


def _spike():
    return _set(daily(), 30, close=daily()["close"].iloc[30] * 1.8, high=daily()["close"].iloc[30] * 1.9)


def _zero_vol():
    return _set(daily(), 10, volume=0.0)


def _flat():
    c = daily()["close"].iloc[10]
    return _set(daily(), 10, open=c, high=c, low=c)


def _partial():
    f = hourly()
    return _set(f, len(f) - 1, volume=10.0)


FAILING = {
    "unsorted_timestamps": (_unsorted, "1d"),
    "duplicate_timestamps": (_dup, "1d"),
    "missing_values": (lambda: _set(daily(), 7, close=np.nan), "1d"),
    "non_positive_prices": (lambda: _set(daily(), 7, low=0.0), "1d"),
    "ohlc_consistency": (lambda: _set(daily(), 7, high=daily()["close"].iloc[7] * 0.98), "1d"),
    "partial_last_candle": (_partial, "1h"),
    "gaps": (_weekday_gap, "1d"),
    "single_bar_move": (_spike, "1d"),
    "zero_volume": (_zero_vol, "1d"),
    "flat_bars": (_flat, "1d"),
}


@pytest.mark.parametrize("check", sorted(FAILING))
def test_every_check_fails_its_fixture(check):
    make, tf = FAILING[check]
    with pytest.raises(DataError) as info:
        run(make(), cfg(**{check: "fail"}), tf)
    err = info.value
    assert f"T: {check}:" in err.what
    assert "\n" not in str(err)
    assert err.report["symbols"]["T"]["checks"][check]["status"] == "fail"
    assert err.report["symbols"]["T"]["checks"][check]["count"] >= 1


def test_stale_data_fails_with_live_clock_only():
    frame = hourly()
    late = frame.index[-1] + pd.Timedelta(hours=5)
    with pytest.raises(DataError, match="stale_data"):
        run(frame, cfg(), "1h", now=late)
    _, report = run(frame, cfg(), "1h", now=frame.index[-1] + pd.Timedelta(hours=2))
    assert status(report, "stale_data") == "ok"
    _, report = run(frame, cfg(), "1h")
    assert status(report, "stale_data") == "ok"


def test_history_names_counts():
    with pytest.raises(DataError) as info:
        run(daily(60), cfg(history={"min_bars": 100}))
    assert "60 bars, need at least 100" in info.value.what


def test_fail_error_names_source_and_timestamp():
    frame = _set(daily(), 7, low=0.0)
    frame.attrs["source"] = "data/T.csv"
    with pytest.raises(DataError) as info:
        run(frame, cfg(non_positive_prices="fail"))
    assert info.value.where == f"data/T.csv:{daily().index[7]:%Y-%m-%d}"


def test_repairs():
    bars, rep = run(_unsorted(), cfg(unsorted_timestamps="repair"))
    pd.testing.assert_frame_equal(bars["T"], daily(), check_freq=False)
    assert status(rep, "unsorted_timestamps") == "repaired"

    bars, rep = run(_dup(), cfg(duplicate_timestamps={"policy": "repair", "keep": "first"}))
    pd.testing.assert_frame_equal(bars["T"], daily(), check_freq=False)

    f = _set(daily(), 7, close=np.nan, open=np.nan, high=np.nan, low=np.nan, volume=np.nan)
    bars, rep = run(f, cfg(missing_values="repair"))
    row = bars["T"].iloc[7]
    assert row["close"] == row["open"] == daily()["close"].iloc[6] and row["volume"] == 0
    assert status(rep, "missing_values") == "repaired"

    bars, _ = run(_set(daily(), 7, low=-1.0), cfg(non_positive_prices="repair"))
    assert len(bars["T"]) == 59

    bars, _ = run(_set(daily(), 7, high=1.0), cfg(ohlc_consistency="repair"))
    assert bars["T"]["high"].iloc[7] == daily()["close"].iloc[7] and bars["T"]["low"].iloc[7] == 1.0


def test_missing_values_beyond_fill_limit_are_dropped():
    f = daily()
    f.iloc[10:15, f.columns.get_loc("close")] = np.nan
    bars, _ = run(f, cfg(missing_values={"policy": "repair", "max_fill": 3}))
    assert len(bars["T"]) == 58
    assert not bars["T"].isna().any().any()


def test_gap_repair_fills_short_gaps_only_24_7():
    f = hourly()
    f = f.drop(f.index[[50, 51, 80, 81, 82, 83, 84]])
    bars, rep = run(f, cfg(gaps={"policy": "repair", "max_fill": 3}), "1h")
    out = bars["T"]
    assert len(out) == len(f) + 2
    filled = out.loc[hourly().index[50]]
    assert filled["volume"] == 0 and filled["open"] == filled["close"] == f["close"].iloc[49]
    assert status(rep, "gaps") == "warn"
    assert "1 not repairable" in rep["symbols"]["T"]["checks"]["gaps"]["detail"]


def test_weekday_holidays_are_not_gaps_but_long_closures_are():
    f = daily(250, "2001-06-01")
    _, rep = run(f.drop(f.index[10]), cfg())
    assert status(rep, "gaps") == "ok"
    _, rep = run(f.drop(f.index[10:14]), cfg())
    assert status(rep, "gaps") == "warn"
    nine11 = f.drop(f.loc["2001-09-11":"2001-09-14"].index)
    _, rep = run(nine11, cfg())
    assert status(rep, "gaps") == "ok"


def test_move_repair_drops_reverting_spike_keeps_level_shift():
    bars, rep = run(_spike(), cfg(single_bar_move="repair"))
    assert len(bars["T"]) == 59 and status(rep, "single_bar_move") == "repaired"
    shift = daily()
    shift.iloc[30:, :4] *= 2.0
    bars, rep = run(shift, cfg(single_bar_move="repair"))
    assert len(bars["T"]) == 60 and status(rep, "single_bar_move") == "warn"


def test_move_threshold_default_warns_above_50_percent():
    _, rep = run(_spike(), cfg())
    assert status(rep, "single_bar_move") == "warn"
    assert "2021-02-15 +80." in rep["symbols"]["T"]["checks"]["single_bar_move"]["detail"]
    almost = _set(daily(), 30, close=daily()["close"].iloc[29] * 1.49, high=daily()["close"].iloc[29] * 1.5)
    _, rep = run(almost, cfg())
    assert status(rep, "single_bar_move") == "ok"


def test_all_zero_volume_is_no_volume_data():
    f = daily()
    f["volume"] = 0.0
    _, rep = run(f, cfg(zero_volume="fail"))
    assert status(rep, "zero_volume") == "ok"
    assert "no volume data" in rep["symbols"]["T"]["checks"]["zero_volume"]["detail"]


def test_zero_volume_and_flat_repair_drop_bars():
    bars, _ = run(_zero_vol(), cfg(zero_volume="repair"))
    assert len(bars["T"]) == 59
    bars, _ = run(_flat(), cfg(flat_bars="repair"))
    assert len(bars["T"]) == 59


def test_partial_candle_repair_and_clock():
    bars, rep = run(_partial(), cfg(), "1h")
    assert len(bars["T"]) == 119 and status(rep, "partial_last_candle") == "repaired"
    f = hourly()
    bars, rep = run(f, cfg(), "1h", now=f.index[-1] + pd.Timedelta(minutes=20))
    assert len(bars["T"]) == 119
    bars, _ = run(f, cfg(partial_last_candle={"assume_partial": True}), "1h")
    assert len(bars["T"]) == 119
    bars, _ = run(_set(daily(), 59, volume=1.0), cfg())
    assert len(bars["T"]) == 60  # weekday data: the volume rule does not apply


def test_config_is_frozen_and_strict():
    c = cfg(gaps="repair")
    with pytest.raises(ValidationError):
        c.gaps = None  # type: ignore[misc]
    with pytest.raises(ValidationError):
        cfg(gapz="warn")
    with pytest.raises(ValidationError):
        cfg(unsorted_timestamps="warn")
    with pytest.raises(ValidationError):
        cfg(single_bar_move={"policy": "warn", "max_move": 0})
