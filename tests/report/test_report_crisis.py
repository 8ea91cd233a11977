"""The crisis-periods table: fixed stress windows, returns from the close before each window."""

from __future__ import annotations

import numpy as np
import pandas as pd

from bot.report.crisis import crisis_html, crisis_rows


def _series(start: str, end: str, freq: str = "B") -> pd.Series:
    """100 until 2020-02-18, down in a straight line to 80 on 2020-03-23, back to 100 by June."""
    idx = pd.date_range(start, end, freq=freq, tz="UTC")
    anchors = pd.Series(
        [100.0, 100.0, 80.0, 100.0],
        index=pd.DatetimeIndex(["2017-01-01", "2020-02-18", "2020-03-23", "2020-06-30"], tz="UTC"),
    )
    full = anchors.reindex(anchors.index.union(idx)).interpolate(method="time")
    return full.reindex(idx)


def test_covid_row_is_computed_from_the_close_before_the_window():
    eq = _series("2019-06-03", "2020-06-30")
    bench = pd.Series(np.linspace(100, 110, len(eq)), index=eq.index)
    (row,) = crisis_rows(eq, bench)  # 2019-06 .. 2020-06 covers only COVID among equity crises
    name, start, end, days, strat, b, dd = row
    assert (name, start, end) == ("COVID-19 crash", "2020-02-19", "2020-03-23")
    assert days == len(eq[(eq.index >= "2020-02-19") & (eq.index <= "2020-03-23 23:59")])
    assert strat == "-20.00%" and dd == "-20.00%"
    i0, i1 = (
        eq.index.get_loc(pd.Timestamp("2020-02-18", tz="UTC")),
        eq.index.get_loc(pd.Timestamp("2020-03-23", tz="UTC")),
    )
    assert b == f"{(bench.iloc[i1] / bench.iloc[i0] - 1) * 100:,.2f}%"


def test_partly_covered_windows_are_marked_and_others_left_out():
    eq = _series("2020-03-02", "2020-06-30")
    (row,) = crisis_rows(eq)
    assert row[0] == "COVID-19 crash (partial)"
    assert row[4] == f"{(80.0 / eq.iloc[0] - 1) * 100:,.2f}%"  # from the first value the run has
    assert crisis_rows(_series("2019-03-01", "2019-06-28")) == []
    assert "covers none of the listed crisis periods" in crisis_html(_series("2019-03-01", "2019-06-28"))


def test_crypto_runs_get_the_crypto_windows():
    eq = _series("2019-06-01", "2020-06-30", freq="D")
    names = [r[0] for r in crisis_rows(eq, market="crypto")]
    assert names == ["COVID-19 crash"]
    html = crisis_html(_series("2017-09-01", "2020-06-30", freq="D"), market="crypto")
    assert "Crypto winter" in html and "Q4 2018 sell-off" not in html and '<th scope="col">Strategy return</th>' in html
