"""Features updated one bar at a time, equal to the last row of ``compute_features`` to the bit.

A live session needs, at each bar, the newest feature row of every symbol. Recomputing the
features over the whole history costs a pass over every bar each time. Here each feature keeps
the running state of the pandas kernel behind it and takes one bar per update:

* rolling means replay pandas' ``roll_mean`` (Kahan-compensated add and remove sums, the count
  of negative values, the run of equal values; deletes before adds), so ``rolling(n).mean()``
  at the last row is reproduced exactly, NaNs included;
* EWMs replay pandas' ``ewm`` kernel with ``adjust=False`` (weights reset after each
  observation, ``com`` from pandas' own ``get_center_of_mass``); a gap (NaN after the first
  observation) is refused: pandas weighs gaps in a way not replayed here, and the caller falls
  back to the full computation;
* lags, differences and ratios are the same IEEE operations on the same numbers.

Only features in :data:`STREAMS` stream. Rolling variance is not replayed (pandas' ``roll_var``
is not a plain running Welford update), so ``vol_*`` and ``parkinson_*`` are computed over the
history as before. ``tests/features/test_stream.py`` checks every stream against
``compute_features`` value for value, bit for bit.
"""

from __future__ import annotations

import math
from collections import deque
from collections.abc import Callable, Mapping, Sequence
from functools import partial

import numpy as np
import pandas as pd
from loguru import logger
from pandas.core.window.ewm import get_center_of_mass

from bot.features import wide
from bot.features.api import resolve_feature_names

NAN = float("nan")


class StreamGap(Exception):
    """An input the replayed kernels do not cover (a gap inside an EWM): recompute instead."""


# ---- pandas kernels, one value at a time ----------------------------------------------------------
class RollMean:
    """``Series.rolling(n, min_periods=minp).mean()``, value by value (pandas ``roll_mean``)."""

    def __init__(self, n: int, minp: int | None = None):
        self.n, self.minp = n, n if minp is None else minp
        self.window: deque[float] = deque()
        self.count = self.nobs = self.neg = self.same = 0
        self.sum = self.comp_add = self.comp_remove = 0.0
        self.prev = NAN

    def update(self, v: float) -> float:
        if self.count == 0:
            self.prev, self.same = v, 0
        if len(self.window) == self.n:
            self._remove(self.window.popleft())
        self._add(v)
        self.window.append(v)
        self.count += 1
        return self.value()

    def _add(self, v: float) -> None:
        if v != v:
            return
        self.nobs += 1
        y = v - self.comp_add
        t = self.sum + y
        self.comp_add = t - self.sum - y
        self.sum = t
        if math.copysign(1.0, v) < 0:
            self.neg += 1
        self.same = self.same + 1 if v == self.prev else 1
        self.prev = v

    def _remove(self, v: float) -> None:
        if v != v:
            return
        self.nobs -= 1
        y = -v - self.comp_remove
        t = self.sum + y
        self.comp_remove = t - self.sum - y
        self.sum = t
        if math.copysign(1.0, v) < 0:
            self.neg -= 1

    def value(self) -> float:
        if self.nobs >= self.minp and self.nobs > 0:
            result = self.sum / self.nobs
            if self.same >= self.nobs:
                return self.prev
            if self.neg == 0 and result < 0:
                return 0.0
            if self.neg == self.nobs and result > 0:
                return 0.0
            return result
        return NAN


class RollCount:
    """``Series.rolling(n, min_periods=1).count()``: non-NaN values among the last ``n``."""

    def __init__(self, n: int):
        self.window: deque[bool] = deque(maxlen=n)
        self.valid = 0

    def update(self, v: float) -> float:
        if len(self.window) == self.window.maxlen:
            self.valid -= self.window[0]
        self.window.append(v == v)
        self.valid += v == v
        return float(self.valid)


class Ewm:
    """``Series.ewm(..., adjust=False, min_periods=minp).mean()``, value by value (pandas ``ewm``)."""

    def __init__(self, *, span: float | None = None, alpha: float | None = None, minp: int = 0):
        com = get_center_of_mass(None, span, None, alpha)
        self.alpha = 1.0 / (1.0 + com)
        self.factor = 1.0 - self.alpha
        self.minp = max(minp, 1)
        self.weighted, self.old_wt, self.nobs, self.count = NAN, 1.0, 0, 0

    def update(self, cur: float) -> float:
        obs = cur == cur
        if self.count == 0:
            self.weighted, self.nobs = cur, int(obs)
        else:
            if self.weighted == self.weighted:
                if not obs:
                    raise StreamGap("a NaN inside an EWM")
                self.old_wt *= self.factor
                if self.weighted != cur:
                    self.weighted = self.old_wt * self.weighted + self.alpha * cur
                    self.weighted /= self.old_wt + self.alpha
                self.old_wt = 1.0
            elif obs:
                self.weighted = cur
            self.nobs += obs
        self.count += 1
        return self.weighted if self.nobs >= self.minp else NAN


class Wilder:
    """``bot.features._math.wilder``: the mean of the first ``n`` valid values, then EWM(1/n)."""

    def __init__(self, n: int):
        self.n, self.ewm = n, Ewm(alpha=1.0 / n)
        self.seed_values: list[float] = []

    def update(self, v: float) -> float:
        if self.ewm.nobs:
            return self.ewm.update(v)
        if v != v and not self.seed_values:
            return NAN
        self.seed_values.append(v)
        if len(self.seed_values) < self.n:
            return NAN
        return self.ewm.update(float(pd.Series(self.seed_values).mean()))  # the same Series.mean


class Lag:
    """The value ``k`` updates ago (NaN before that)."""

    def __init__(self, k: int):
        self.window: deque[float] = deque(maxlen=k + 1)

    def update(self, v: float) -> float:
        self.window.append(v)
        return self.window[0] if len(self.window) == self.window.maxlen else NAN


def _ema(span: int) -> Ewm:
    return Ewm(span=span, minp=span)


def _clip0(v: float) -> float:
    return v if (v != v or v >= 0.0) else 0.0


# ---- features ---------------------------------------------------------------------------------------
Bar = Mapping[str, float]
Update = Callable[[Bar], float]


def _ret(n: int) -> Update:
    lag = Lag(n)
    return lambda bar: bar["close"] / lag.update(bar["close"]) - 1.0


def _ret_lag(k: int) -> Update:
    ret, lag = _ret(1), Lag(k)
    return lambda bar: lag.update(ret(bar))


def _close_sma(n: int) -> Update:
    sma = RollMean(n)
    return lambda bar: bar["close"] / sma.update(bar["close"]) - 1.0


def _close_ema(n: int) -> Update:
    ema = _ema(n)
    return lambda bar: bar["close"] / ema.update(bar["close"]) - 1.0


def _sma_cross(fast: int, slow: int) -> Update:
    f, s = RollMean(fast), RollMean(slow)
    return lambda bar: f.update(bar["close"]) / s.update(bar["close"]) - 1.0


def _oscillator(kind: str, part: str) -> Update:
    """MACD (``kind="macd"``: EMA12 - EMA26) or PPO (EMA12 / EMA26 - 1): line, signal or histogram."""
    fast, slow, sig = _ema(12), _ema(26), _ema(9)

    def update(bar: Bar) -> float:
        a, b = fast.update(bar["close"]), slow.update(bar["close"])
        line = a - b if kind == "macd" else a / b - 1.0
        signal = sig.update(line)
        return line if part == "line" else signal if part == "signal" else line - signal

    return update


def _rsi(n: int) -> Update:
    prev, gain, loss = Lag(1), Wilder(n), Wilder(n)

    def update(bar: Bar) -> float:
        d = bar["close"] - prev.update(bar["close"])
        g, lo = gain.update(_clip0(d)), loss.update(_clip0(-d))
        total = g + lo
        if total == 0:
            return 50.0
        return 100.0 * g / total if total == total else NAN

    return update


def _streams() -> dict[str, Callable[[], Update]]:
    out: dict[str, Callable[[], Update]] = {}
    for n in (1, 2, 3, 5, 10, 20, 60, 120):
        out[f"ret_{n}"] = partial(_ret, n)
    for k in (1, 2, 3, 5):
        out[f"ret_1_lag{k}"] = partial(_ret_lag, k)
    for n in (5, 10, 20, 50, 100, 200):
        out[f"close_sma_{n}"] = partial(_close_sma, n)
    for n in (12, 26, 50, 200):
        out[f"close_ema_{n}"] = partial(_close_ema, n)
    for fast, slow in ((10, 50), (50, 200)):
        out[f"sma_{fast}_{slow}"] = partial(_sma_cross, fast, slow)
    for kind in ("macd", "ppo"):
        out[kind] = partial(_oscillator, kind, "line")
        out[f"{kind}_signal"] = partial(_oscillator, kind, "signal")
        out[f"{kind}_hist"] = partial(_oscillator, kind, "hist")
    for n in (7, 14, 28):
        out[f"rsi_{n}"] = partial(_rsi, n)
    return out


STREAMS: dict[str, Callable[[], Update]] = _streams()

_FIELDS = ("open", "high", "low", "close", "volume")


class SymbolStream:
    """Streamed values of one symbol, fed bar by bar; knows which bar it saw last."""

    def __init__(self, updates: Sequence[Update]):
        self.updates = list(updates)
        self.last: pd.Timestamp | None = None
        self.seen = 0
        self.row = np.full(len(self.updates), np.nan)

    def feed(self, bars: pd.DataFrame, start: int = 0) -> None:
        """Take the rows of ``bars`` (OHLCV) from position ``start`` on, in order."""
        values = ohlcv_array(bars)
        for i in range(start, len(values)):
            bar = dict(zip(_FIELDS, values[i].tolist(), strict=True))
            self.row = np.array([u(bar) for u in self.updates], dtype=np.float64)
            self.seen += 1
        if len(values) > start:
            self.last = bars.index[-1]


class Streams:
    """Per-symbol streams that follow a growing history: :meth:`latest` feeds each symbol the
    rows appended since the last call and returns its newest streamed values.

    ``make()`` returns one symbol's updates. A history that did not just grow (shorter, or its
    last seen bar moved) is streamed again from its first row; a symbol whose stream meets a
    :class:`StreamGap` is left out from then on (``broken``: the caller computes it the old way).
    """

    def __init__(self, make: Callable[[], Sequence[Update]]):
        self._make = make
        self._streams: dict[str, SymbolStream] = {}
        self.broken: set[str] = set()

    def latest(self, frames: Mapping[str, pd.DataFrame]) -> dict[str, np.ndarray]:
        """Return symbol -> its newest streamed values (symbols that cannot stream are left out)."""
        out = {}
        for sym, df in frames.items():
            if sym in self.broken or not len(df):
                continue
            try:
                out[sym] = self._advance(sym, df).row
            except StreamGap:
                self.broken.add(sym)
                self._streams.pop(sym, None)
        return out

    def _advance(self, sym: str, df: pd.DataFrame) -> SymbolStream:
        s = self._streams.get(sym)
        if s is None or not _extends(s, df):
            s = self._streams[sym] = SymbolStream(self._make())
            s.feed(df)
            return s
        if s.seen < len(df):
            s.feed(df, s.seen)
        return s


class FeatureStreams(Streams):
    """:class:`Streams` of the streamable features among ``names`` (``self.names``, in order)."""

    def __init__(self, names: Sequence[str]):
        self.names = [n for n in names if n in STREAMS]
        super().__init__(lambda: [STREAMS[n]() for n in self.names])


def same_bits(a: np.ndarray, b: np.ndarray) -> bool:
    """Return True when two float64 arrays hold the same bits (NaNs included)."""
    a, b = np.asarray(a, np.float64), np.asarray(b, np.float64)
    return a.shape == b.shape and np.array_equal(a.view(np.int64), b.view(np.int64))


def ohlcv_array(bars: pd.DataFrame) -> np.ndarray:
    """Return the OHLCV columns as a float64 array (a view when the frame is just that)."""
    frame = bars if tuple(bars.columns) == _FIELDS else bars.loc[:, list(_FIELDS)]
    return frame.to_numpy(np.float64)


def _extends(s: SymbolStream, df: pd.DataFrame) -> bool:
    """Return True when ``df`` is the history ``s`` has seen, plus rows after it."""
    return 0 < s.seen <= len(df) and df.index[s.seen - 1] == s.last


class LatestRows:
    """:func:`bot.features.wide.latest_rows` for a session: streamable features come from
    :class:`FeatureStreams` (one bar of work per symbol and bar), the others from the history
    as before; symbols that cannot stream get the full computation. Same values, bit for bit.
    """

    def __init__(self, names: Sequence[str]):
        self.names = resolve_feature_names(list(names))
        self.streams = FeatureStreams(self.names)
        self._cols = [self.names.index(n) for n in self.streams.names]
        self._rest = [n for n in self.names if n not in STREAMS]
        self._rest_cols = [self.names.index(n) for n in self._rest]

    def prime(self, frames: Mapping[str, pd.DataFrame]) -> None:
        """Stream ``frames`` now (at start-up), so that the first traded bar costs one bar, and
        check the streams against the full computation on every symbol's newest row: if they
        differ in any bit (a pandas whose kernels changed), streaming is switched off."""
        if not self.streams.names:
            return
        got = self.streams.latest(frames)
        for sym, row in got.items():
            want = wide.latest_rows({sym: frames[sym]}, self.streams.names)[0]
            if not same_bits(row, want):
                logger.warning(
                    "streamed features differ from the full computation on {} (pandas {}): "
                    "computing them over the history instead",
                    sym,
                    pd.__version__,
                )
                self.streams, self._cols = FeatureStreams([]), []
                self._rest, self._rest_cols = list(self.names), list(range(len(self.names)))
                return

    def __call__(
        self, frames: Mapping[str, pd.DataFrame], context: Mapping[str, pd.DataFrame] | None = None
    ) -> np.ndarray:
        """Return the newest feature row of each frame (rows in ``frames`` order, columns in ``names`` order)."""
        if not wide.ENABLED:
            return wide.latest_rows(frames, self.names, context)
        got = self.streams.latest(frames) if self._cols else {}
        syms = list(frames)
        out = np.empty((len(syms), len(self.names)), dtype=np.float64)
        if self._rest:
            out[:, self._rest_cols] = wide.latest_rows(frames, self._rest, context)
        for i, sym in enumerate(syms):
            if sym in got:
                out[i, self._cols] = got[sym]
            elif self._cols:  # this symbol cannot stream: the whole row the old way
                out[i] = wide.latest_rows({sym: frames[sym]}, self.names, context)[0]
        return out
