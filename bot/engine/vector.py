"""The vectorised simulator: the Backtrader engine's rules on arrays, trade for trade (``backtest.engine: vector``).

Signals are per-bar arrays (a strategy's optional ``vector_rules``); one Numba-compiled loop over the
union calendar (steps x symbols) then runs the position/pending state machine of
:class:`bot.engine.adapter.StrategyAdapter` and the order book of Backtrader's ``BackBroker`` exactly as
this project configures it: market orders fill at the symbol's next open with ``set_slippage_perc``
(slip_open, slip_limit, slip_match, not slip_out: a slipped price is capped at the bar's high / low);
the broker's cash check at submission pseudo-executes the step's orders in order with one running cash
(an order that takes it below 0 is ``rejected_margin``, as are entries that cannot be paid at the fill);
bracket children are accepted with their parent, become active the step after it fills, are tried in
acceptance order (stop before take-profit: when both could fill in a bar the stop fills) and a stop
gapped through fills at the open; trailing stops (StopTrail) move on each close they survive; a symbol
without a bar at a step keeps its last bar, against which active stops and limits are tried again.
Kill-switch halts, borrow fees on shorts, end-of-run marks and the run-folder Ledger are the adapter's.

Supported: strategies that define ``vector_rules`` (``ml_signal``, ``sma_cross``) and do not override
the ``decide`` it mirrors. Everything else (user plugins, PortfolioStrategy such as ``ml_rank``) falls back
to Backtrader with one info line saying why (:func:`unsupported_reason`). Parity with Backtrader is
checked trade for trade by tests/engine/test_vector_parity.py and bench/bench_vector_parity.py.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from decimal import Decimal

import numba
import numpy as np
import pandas as pd

from bot.config import Config
from bot.data.schema import union_calendar
from bot.instruments import is_crypto
from bot.ledger import Ledger, OrderRecord
from bot.order_ids import order_id_from_iso
from bot.venues.increments import round_equity_price, round_price
from strategies.base import PortfolioStrategy, Strategy, VectorRules  # noqa: F401 (re-exported)

# order table columns
(
    SYM,
    SIDE,
    SIZE,
    TYPE,
    PRICE,
    CBAR,
    PARENT,
    KID1,
    KID2,
    STATUS,
    LSTAT,
    ACTIVE,
    FPRICE,
    FCOMM,
    FBAR,
    SLIP,
    REASON,
    PROB,
    FSEQ,
    BORROW,
    PCLIVE,
    RAWPX,
    NF,
) = range(23)
# types
MARKET, STOP, LIMIT, TRAIL = 0, 1, 2, 3
# statuses (STATUS: the broker's; LSTAT: what the ledger last heard)
SUBMITTED, ACCEPTED, FILLED, CANCELED, MARGIN, REJECTED = 0, 1, 2, 3, 4, 5
# reasons
R_ENTRY, R_SIGNAL, R_HALT, R_STOP, R_TP, R_TRAIL = 0, 1, 2, 3, 4, 5
_REASONS = ["entry", "signal", "halt", "stop_loss", "take_profit", "trailing_stop"]
_TYPE_NAMES = ["market", "stop", "limit", "trailing_stop"]
_STATUS_NAMES = ["submitted", "accepted", "filled", "canceled", "rejected_margin", "rejected"]
_KIND = ["entry", "exit", "exit", "stop_loss", "take_profit", "trailing_stop"]


def unsupported_reason(strategy) -> str | None:
    """Return why the vector engine cannot run ``strategy`` (None: it can)."""
    if isinstance(strategy, PortfolioStrategy):
        return "portfolio strategies (target weights) run on Backtrader only"
    cls = type(strategy)
    owner = next(
        (c for c in cls.__mro__ if "vector_rules" in c.__dict__ and c is not Strategy and issubclass(c, Strategy)),
        None,
    )
    if owner is None:
        return "it has no vector_rules (the per-bar form of decide)"
    for name in owner.vector_covers:
        if getattr(cls, name) is not getattr(owner, name):
            return f"{cls.__name__}.{name} overrides the rule that {owner.__name__}.vector_rules mirrors"
    return None


def _round_tick(price: float, mode: float) -> float:
    """Round a bracket price as bot.venues.increments.backtest_price does (mode: <0 none, 0 auto, >0 tick)."""
    if mode < 0:
        return float(price)
    if mode == 0:
        return round_equity_price(price)
    return round_price(price, mode)


def _tick_mode(symbol: str, setting) -> float:
    if setting is None or (setting == "auto" and is_crypto(symbol)):
        return -1.0
    if setting == "auto":
        return 0.0
    return float(setting)


def _tick_parts(mode: float) -> tuple[float, float]:
    """A fixed tick as (m, 10**k) with tick == m / 10**k exactly in decimal (its repr), (0, 0) if none."""
    if mode <= 0:
        return 0.0, 0.0
    t = Decimal(repr(float(mode))).normalize().as_tuple()
    m = int("".join(map(str, t.digits)))
    exp = t.exponent  # "n", "N" or "F" for a NaN or an infinity
    if not isinstance(exp, int) or exp > 0 or -exp > 22 or m >= 2**53:
        return 0.0, 0.0
    return float(m), float(10**-exp)


@numba.njit(cache=True)
def _tick(price, mode, m, p10):
    """round_price to the tick: the nearest multiple, halves up, as Decimal does on the prices' reprs.

    Exact away from halves: float(n x tick) is (n x m) / 10**k, one correctly rounded division. A price
    within 1e-6 of a half tick (where float and decimal arithmetic may round differently) goes to Python.
    """
    if mode < 0:
        return price
    if mode == 0:
        m, p10 = 1.0, (100.0 if abs(price) >= 1.0 else 10000.0)
    if m > 0 and price > 0:
        x = price * p10 / m
        n = math.floor(x + 0.5)
        if abs(x - math.floor(x) - 0.5) > 1e-6 and x < 1e12 and n * m < 2.0**53:
            return (n * m) / p10
    with numba.objmode(r="float64"):
        r = _round_tick(price, mode)
    return r


@numba.njit(cache=True)
def _slip_up(pmax, price, slip):
    if slip == 0.0:
        return price
    pslip = price * (1 + slip)
    return pslip if pslip <= pmax else pmax


@numba.njit(cache=True)
def _slip_down(pmin, price, slip):
    if slip == 0.0:
        return price
    pslip = price * (1 - slip)
    return pslip if pslip >= pmin else pmin


@numba.njit(cache=True)
def _new_order(tab, n, sym, side, size, typ, price, cbar, parent, reason, prob):
    if n >= tab.shape[0]:
        bigger = np.full((tab.shape[0] * 2, tab.shape[1]), np.nan)
        bigger[: tab.shape[0]] = tab
        tab = bigger
    row = tab[n]
    row[SYM], row[SIDE], row[SIZE], row[TYPE], row[PRICE] = sym, side, size, typ, price
    row[CBAR], row[PARENT], row[KID1], row[KID2] = cbar, parent, -1, -1
    row[STATUS], row[LSTAT], row[ACTIVE] = SUBMITTED, SUBMITTED, 1.0 if parent < 0 else 0.0
    row[REASON], row[PROB], row[FSEQ], row[BORROW], row[PCLIVE] = reason, prob, -1, 0.0, 1.0
    return tab


@numba.njit(cache=True)
def _update_position(oldsize, size):
    """Backtrader's Position.update: return (newsize, opened, closed)."""
    new = oldsize + size
    if new == 0:
        return new, 0.0, size
    if oldsize == 0:
        return new, size, 0.0
    if oldsize > 0:
        if size > 0:
            return new, size, 0.0
        if new > 0:
            return new, 0.0, size
        return new, new, -oldsize
    if size < 0:
        return new, size, 0.0
    if new < 0:
        return new, 0.0, size
    return new, new, -oldsize


@numba.njit(cache=True)
def _core(bidx, o_, h_, l_, c_, el, es, xl, xs, fl, fs, pl, ps, vorder, ticks, tick_m, tick_p, day, params):
    (
        cash0,
        comm,
        slip,
        fractional,
        stop_kind,
        stop_loss,
        trail,
        tp_long,
        tp_short,
        borrow_rate,
        mdh,
        mdl,
        flatten,
    ) = params
    T, S = bidx.shape
    tab = np.full((max(64, 4 * S), NF), np.nan)
    n = 0
    cash = cash0
    value = cash0
    pos = np.zeros(S)
    pprice = np.zeros(S)
    borrow = np.zeros(S)
    working = np.full(S, -1, np.int64)
    kids_of = np.full(S, -1, np.int64)
    pq = np.empty(64, np.int64)
    npq = 0
    sub = np.empty(64, np.int64)
    nsub = 0
    act = np.empty(64, np.int64)
    nact = 0
    deferred = np.empty(64, np.int64)  # strategy-time cancels: the ledger hears of them next step
    ndef = 0
    equity = np.zeros((T, 3))
    fseq = 0
    peak, day_open, last, cur_day, day_halted = cash0, cash0, cash0, -(2**62), False
    denom = 1 + comm + slip + 0.02
    prev = np.full(S, -1, np.int64)
    for t in range(T):
        cur = bidx[t]
        # ---------------------------------------------------------------- broker.next
        for i in range(ndef):
            tab[deferred[i], LSTAT] = tab[deferred[i], STATUS]
        ndef = 0
        for i in range(nact):
            tab[act[i], ACTIVE] = 1.0
        nact = 0
        # check_submitted: pseudo-execute at the creation price with a running cash
        ccash = cash
        tpos = pos.copy()
        for i in range(nsub):
            k = sub[i]
            par = int(tab[k, PARENT])
            if par >= 0 and tab[par, PCLIVE] == 0.0:
                tab[k, STATUS] = REJECTED
                tab[k, LSTAT] = REJECTED
                continue
            s = int(tab[k, SYM])
            size = tab[k, SIDE] * tab[k, SIZE]
            price = tab[k, PRICE]
            tpos[s], opened, closed = _update_position(tpos[s], size)
            if closed != 0:
                ccash += (-closed) * price + 0.0 * 1
                ccash -= abs(closed) * comm * price
            if opened != 0:
                ccash -= opened * price
                ccash -= abs(opened) * comm * price
            if ccash >= 0.0:
                tab[k, STATUS] = ACCEPTED
                tab[k, LSTAT] = ACCEPTED
                if npq >= pq.shape[0]:
                    pq = np.concatenate((pq, np.empty(pq.shape[0], np.int64)))
                pq[npq] = k
                npq += 1
                continue
            tab[k, STATUS] = MARGIN
            tab[k, LSTAT] = MARGIN
            pref = par if par >= 0 else k
            tab[pref, PCLIVE] = 0.0
            for m in (pref, int(tab[pref, KID1]), int(tab[pref, KID2])):
                if m >= 0 and m != k and tab[m, STATUS] == ACCEPTED:
                    tab[m, STATUS] = CANCELED
                    tab[m, LSTAT] = CANCELED
        nsub = 0
        # the pending queue, in acceptance order
        for i in range(npq):
            k = pq[i]
            if tab[k, STATUS] != ACCEPTED or tab[k, ACTIVE] == 0.0:
                continue
            s = int(tab[k, SYM])
            b = cur[s]
            po, ph, pl_, pc = o_[b], h_[b], l_[b], c_[b]
            typ = int(tab[k, TYPE])
            buy = tab[k, SIDE] > 0
            px = np.nan
            raw = po
            if typ == MARKET:
                if b <= tab[k, CBAR]:
                    continue
                px = _slip_up(ph, po, slip) if buy else _slip_down(pl_, po, slip)
            elif typ == LIMIT:
                lim = tab[k, PRICE]
                if buy:
                    raw = min(lim, po)
                    if lim >= po:
                        px = _slip_up(min(ph, lim), po, slip)
                    elif lim >= pl_:
                        px = lim
                else:
                    raw = max(lim, po)
                    if lim <= po:
                        px = _slip_down(lim, po, slip)
                    elif lim <= ph:
                        px = lim
            else:
                stp = tab[k, PRICE]
                if buy:
                    if po >= stp:
                        px = _slip_up(ph, po, slip)
                    elif ph >= stp:
                        px = _slip_up(ph, stp, slip)
                else:
                    if po <= stp:
                        px = _slip_down(pl_, po, slip)
                    elif pl_ <= stp:
                        px = _slip_down(pl_, stp, slip)
                if np.isnan(px) and typ == TRAIL:
                    pam = pc * trail
                    if buy:
                        np_ = pc + pam
                        if np_ < stp:
                            tab[k, PRICE] = np_
                    else:
                        np_ = pc - pam
                        if np_ > stp:
                            tab[k, PRICE] = np_
                if not np.isnan(px):
                    stp = tab[k, PRICE]
                    raw = min(stp, po) if not buy else max(stp, po)
            if np.isnan(px):
                continue
            # BackBroker._execute
            size = tab[k, SIDE] * tab[k, SIZE]
            newsize, opened, closed = _update_position(pos[s], size)
            ccash = cash
            closedcomm = 0.0
            if closed != 0:
                pp = pprice[s]
                pnl = (-closed) * (px - pp) * 1.0
                ccash += (-closed) * pp + pnl * 1
                closedcomm = abs(closed) * comm * px
                ccash -= closedcomm
                ccash += 0.0
                cash = ccash
            openedcomm = 0.0
            popened = opened
            if opened != 0:
                ccash -= opened * px
                openedcomm = abs(opened) * comm * px
                ccash -= openedcomm
                if ccash < 0.0:
                    opened = 0.0
                    openedcomm = 0.0
                else:
                    cash = ccash
            execsize = closed + opened
            if execsize != 0:
                if pos[s] + execsize == 0:
                    pprice[s] = 0.0
                elif pos[s] == 0 or (pos[s] > 0) != (pos[s] + execsize > 0):
                    pprice[s] = px
                pos[s] = pos[s] + execsize
                tab[k, STATUS] = FILLED
                tab[k, LSTAT] = FILLED
                tab[k, FPRICE] = (execsize * px) / execsize
                tab[k, FCOMM] = 0.0 + (closedcomm + openedcomm)
                tab[k, FBAR] = b
                tab[k, SLIP] = abs(tab[k, FPRICE] - raw) * tab[k, SIZE]
                tab[k, FSEQ] = fseq
                tab[k, BORROW] = borrow[s]
                fseq += 1
                par = int(tab[k, PARENT])
                if par < 0:  # a parent (or a lone order) filled: its children become active next step
                    for m in (int(tab[k, KID1]), int(tab[k, KID2])):
                        if m >= 0:
                            if nact >= act.shape[0]:
                                act = np.concatenate((act, np.empty(act.shape[0], np.int64)))
                            act[nact] = m
                            nact += 1
                else:  # an exit leg filled: the other leg is cancelled
                    tab[par, PCLIVE] = 0.0
                    for m in (int(tab[par, KID1]), int(tab[par, KID2])):
                        if m >= 0 and m != k and tab[m, STATUS] == ACCEPTED:
                            tab[m, STATUS] = CANCELED
                            tab[m, LSTAT] = CANCELED
                if tab[k, REASON] != R_ENTRY and kids_of[s] >= 0:
                    kids_of[s] = -1
                if closed != 0 and newsize == 0:
                    borrow[s] = 0.0
            if popened != 0 and opened == 0:
                tab[k, STATUS] = MARGIN
                tab[k, LSTAT] = MARGIN
                tab[k, PCLIVE] = 0.0
                for m in (int(tab[k, KID1]), int(tab[k, KID2])):
                    if m >= 0 and tab[m, STATUS] == ACCEPTED:
                        tab[m, STATUS] = CANCELED
                        tab[m, LSTAT] = CANCELED
        j = 0
        for i in range(npq):
            if tab[pq[i], STATUS] == ACCEPTED:
                pq[j] = pq[i]
                j += 1
        npq = j
        value = _value(cash, pos, pprice, cur, c_, vorder)
        # ---------------------------------------------------------------- strategy.next
        if borrow_rate != 0.0:
            charged = False
            for s in range(S):
                if cur[s] != prev[s] and pos[s] < 0:
                    fee = -pos[s] * c_[cur[s]] * borrow_rate
                    cash += -fee
                    borrow[s] += fee
                    charged = True
            if charged:
                value = _value(cash, pos, pprice, cur, c_, vorder)
        eq = value
        if day[t] != cur_day:
            cur_day, day_open, day_halted = day[t], last, False
        last = eq
        peak = max(peak, eq)
        dd = (not np.isnan(mdh)) and eq / peak - 1.0 <= -mdh
        if (not np.isnan(mdl)) and day_open > 0 and eq / day_open - 1.0 <= -mdl:
            day_halted = True
        halted = dd or day_halted
        for s in range(S):
            b = cur[s]
            if b == prev[s]:
                continue
            w = working[s]
            pending = w >= 0 and (tab[w, STATUS] == SUBMITTED or tab[w, STATUS] == ACCEPTED)
            p0 = pos[s]
            intent = 0
            if not pending:
                if p0 == 0:
                    if el[b]:
                        intent = 1
                    elif es[b]:
                        intent = 2
                elif p0 > 0:
                    if xl[b]:
                        intent = 3
                elif xs[b]:
                    intent = 3
            close = c_[b]
            if (intent == 1 or intent == 2) and not halted:
                short = intent == 2
                shorts = 0.0
                for s2 in range(S):
                    if cur[s2] >= 0 and pos[s2] < 0:
                        shorts += -pos[s2] * c_[cur[s2]]
                free = cash - shorts
                frac = fs[b] if short else fl[b]
                budget = min(frac * eq, free / denom)
                size = budget / close
                if not fractional:
                    size = math.floor(size)
                if size <= 0:
                    continue
                side = -1.0 if short else 1.0
                prob = (1.0 - ps[b]) if short else pl[b]
                tp = tp_short if short else tp_long
                tab = _new_order(tab, n, s, side, size, MARKET, close, b, -1, R_ENTRY, prob)
                parent = n
                if nsub + 3 >= sub.shape[0]:
                    sub = np.concatenate((sub, np.empty(sub.shape[0] + 3, np.int64)))
                sub[nsub] = n
                nsub += 1
                n += 1
                working[s] = parent
                if stop_kind == 0 and tp == 0.0:
                    continue
                if stop_kind == 1:
                    sp = (
                        _tick(close * (1 + stop_loss), ticks[s], tick_m[s], tick_p[s])
                        if short
                        else _tick(close * (1 - stop_loss), ticks[s], tick_m[s], tick_p[s])
                    )
                    tab = _new_order(tab, n, s, -side, size, STOP, sp, b, parent, R_STOP, np.nan)
                elif stop_kind == 2:
                    sp = close + close * trail if short else close - close * trail
                    tab = _new_order(tab, n, s, -side, size, TRAIL, sp, b, parent, R_TRAIL, np.nan)
                if stop_kind != 0:
                    tab[parent, KID1] = n
                    sub[nsub] = n
                    nsub += 1
                    n += 1
                if tp != 0.0:
                    lp = (
                        _tick(close * (1 - tp), ticks[s], tick_m[s], tick_p[s])
                        if short
                        else _tick(close * (1 + tp), ticks[s], tick_m[s], tick_p[s])
                    )
                    tab = _new_order(tab, n, s, -side, size, LIMIT, lp, b, parent, R_TP, np.nan)
                    tab[parent, KID2] = n
                    sub[nsub] = n
                    nsub += 1
                    n += 1
                kids_of[s] = parent
            elif intent == 3 or (intent == 0 and halted and flatten and p0 != 0 and not pending):
                par = kids_of[s]
                kids_of[s] = -1
                if par >= 0:
                    for m in (int(tab[par, KID1]), int(tab[par, KID2])):
                        if m >= 0 and tab[m, STATUS] == ACCEPTED:  # cancel() and its bracket siblings
                            tab[par, PCLIVE] = 0.0
                            for m2 in (int(tab[par, KID1]), int(tab[par, KID2])):
                                if m2 >= 0 and tab[m2, STATUS] == ACCEPTED:
                                    tab[m2, STATUS] = CANCELED
                                    if ndef >= deferred.shape[0]:
                                        deferred = np.concatenate((deferred, np.empty(deferred.shape[0], np.int64)))
                                    deferred[ndef] = m2
                                    ndef += 1
                if p0 == 0:
                    continue
                tab = _new_order(
                    tab,
                    n,
                    s,
                    -1.0 if p0 > 0 else 1.0,
                    abs(p0),
                    MARKET,
                    close,
                    b,
                    -1,
                    R_SIGNAL if intent == 3 else R_HALT,
                    np.nan,
                )
                if nsub >= sub.shape[0]:
                    sub = np.concatenate((sub, np.empty(sub.shape[0], np.int64)))
                sub[nsub] = n
                nsub += 1
                working[s] = n
                n += 1
        gross = 0.0
        for s in range(S):
            if cur[s] >= 0:
                gross += abs(pos[s]) * c_[cur[s]]
        equity[t, 0] = value
        equity[t, 1] = cash
        equity[t, 2] = gross / value if value > 0 else 0.0
        prev = cur
    return tab[:n], equity, pos, borrow


@numba.njit(cache=True)
def _value(cash, pos, pprice, cur, c_, vorder):
    """BackBroker._get_value with shortcash and leverage 1 (positions summed in Backtrader's dict order)."""
    pv = 0.0
    for i in range(vorder.shape[0]):
        s = vorder[i]
        if pos[s] == 0 or cur[s] < 0:
            continue
        close = c_[cur[s]]
        dv = pos[s] * close
        du = pos[s] * (close - pprice[s])
        if dv > 0:
            dv -= du
            pv += dv / 1.0
            pv += du
        else:
            pv += dv
    return cash + pv


# ---------------------------------------------------------------------------------------------- Python side
def _rules_arrays(strategy: Strategy, signals: Mapping[str, pd.DataFrame], syms: list[str]) -> list[np.ndarray]:
    parts = [strategy.vector_rules(signals[s]) for s in syms]
    out = []
    for name, dtype in (
        ("enter_long", np.bool_),
        ("enter_short", np.bool_),
        ("exit_long", np.bool_),
        ("exit_short", np.bool_),
        ("frac_long", np.float64),
        ("frac_short", np.float64),
        ("prob_long", np.float64),
        ("prob_short", np.float64),
    ):
        out.append(np.concatenate([np.asarray(getattr(r, name), dtype=dtype) for r in parts]))
    return out


def _bar_index(bars: Mapping[str, pd.DataFrame], calendar: pd.DatetimeIndex) -> tuple[np.ndarray, np.ndarray]:
    """Return (steps x symbols global bar index, -1 before a symbol starts; per-symbol offsets)."""
    offsets = np.cumsum([0] + [len(df) for df in bars.values()])
    bidx = np.empty((len(calendar), len(bars)), np.int64)
    for j, df in enumerate(bars.values()):
        pos = np.searchsorted(_utc(df.index), _utc(calendar), side="right") - 1
        bidx[:, j] = np.where(pos >= 0, pos + offsets[j], -1)
    return bidx, offsets


def _utc(index: pd.DatetimeIndex) -> np.ndarray:
    """The index as naive UTC datetime64 values."""
    return (index.tz_convert(None) if index.tz is not None else index).to_numpy()


def _calendar(bars: Mapping[str, pd.DataFrame]) -> pd.DatetimeIndex:
    """``union_calendar`` in NumPy when every index has the same dtype (the same values and tz)."""
    dtypes = {df.index.dtype for df in bars.values()}
    if len(dtypes) != 1 or not all(isinstance(df.index, pd.DatetimeIndex) for df in bars.values()):
        return union_calendar(bars)
    cal = pd.DatetimeIndex(np.unique(np.concatenate([_utc(df.index) for df in bars.values()])))
    tz = next(iter(bars.values())).index.tz
    return cal.tz_localize("UTC").tz_convert(tz) if tz is not None else cal


def _day_ids(calendar: pd.DatetimeIndex) -> np.ndarray:
    cal = calendar.tz_convert("UTC") if calendar.tz is not None else calendar
    return cal.normalize().asi8.astype(np.int64)


def run_core(
    cfg: Config,
    bars: Mapping[str, pd.DataFrame],
    signals: Mapping[str, pd.DataFrame],
    strategy: Strategy,
    fractional: bool,
):
    """Run the compiled loop; return (calendar, syms, offsets, bar index, order table, equity, positions,
    borrow, closes)."""
    calendar, syms, offsets, bidx, args = prepare(cfg, bars, signals, strategy, fractional)
    tab, equity, pos, borrow = _core(*args)
    return calendar, syms, offsets, bidx, tab, equity, pos, borrow, args[4]


def prepare(
    cfg: Config,
    bars: Mapping[str, pd.DataFrame],
    signals: Mapping[str, pd.DataFrame],
    strategy: Strategy,
    fractional: bool,
):
    """Return (calendar, syms, offsets, bar index, the arguments of the compiled loop ``_core``)."""
    calendar = _calendar(bars)
    syms = list(bars)
    bidx, offsets = _bar_index(bars, calendar)
    cols = [np.concatenate([bars[s][c].to_numpy(np.float64) for s in syms]) for c in ("open", "high", "low", "close")]
    rules = _rules_arrays(strategy, signals, syms)
    first = np.array([np.argmax(bidx[:, j] >= 0) for j in range(len(syms))])
    vorder = np.lexsort((np.arange(len(syms)), first)).astype(np.int64)
    ticks = np.array([_tick_mode(s, cfg.broker.price_increment) for s in syms])
    parts = np.array([_tick_parts(t) for t in ticks]).reshape(len(syms), 2)
    b, r = cfg.broker, cfg.risk
    stop_kind = 2 if r.trailing_stop else (1 if r.stop_loss else 0)
    tp_long = r.take_profit or 0.0
    tp_short = 0.0 if (r.take_profit and r.take_profit >= 1) else tp_long
    nan = float("nan")
    params = (
        float(b.cash),
        float(b.commission),
        float(b.slippage),
        bool(fractional),
        stop_kind,
        float(r.stop_loss or 0.0),
        float(r.trailing_stop or 0.0),
        float(tp_long),
        float(tp_short),
        float(_borrow_rate(cfg, calendar)),
        nan if r.max_drawdown_halt is None else float(r.max_drawdown_halt),
        nan if r.max_daily_loss is None else float(r.max_daily_loss),
        bool(r.flatten_on_halt),
    )
    args = (
        bidx,
        *cols,
        *rules,
        vorder,
        ticks,
        parts[:, 0].copy(),
        parts[:, 1].copy(),
        _day_ids(calendar),
        params,
    )
    return calendar, syms, offsets, bidx, args


def _borrow_rate(cfg: Config, calendar: pd.DatetimeIndex) -> float:
    from bot.engine.simulate import _borrow_per_bar

    return _borrow_per_bar(cfg, calendar)


def simulate_vector(
    cfg: Config,
    bars: Mapping[str, pd.DataFrame],
    signals: Mapping[str, pd.DataFrame],
    strategy: Strategy,
    fractional: bool,
) -> tuple[Ledger, pd.DatetimeIndex]:
    """Run the vector engine and return the same (Ledger, calendar) as the Backtrader simulate()."""
    calendar, syms, offsets, bidx, tab, equity, pos, borrow, close = run_core(cfg, bars, signals, strategy, fractional)
    return _ledger(cfg, bars, syms, offsets, bidx, calendar, tab, equity, pos, borrow, close), calendar


def _ledger(cfg, bars, syms, offsets, bidx, calendar, tab, equity, pos, borrow, close) -> Ledger:
    """Replay the order table into a Ledger exactly as the adapter's notifications fill it."""
    ledger = Ledger()
    stamps = _concat_index([bars[s].index for s in syms])
    rows = tab.tolist()
    cbar = tab[:, CBAR].astype(np.int64)
    bars_used = np.unique(cbar)
    stamp_of = dict(zip(bars_used.tolist(), stamps[bars_used].to_list(), strict=True))
    iso = {b: t.isoformat() for b, t in stamp_of.items()}
    ids = []
    for row in rows:
        s, reason, bar = int(row[SYM]), int(row[REASON]), int(row[CBAR])
        oid = order_id_from_iso(cfg.name, syms[s], iso[bar], _KIND[reason])
        ids.append(oid)
        ledger.order_submitted(
            OrderRecord(
                order_id=oid,
                created=stamp_of[bar],
                symbol=syms[s],
                side="buy" if row[SIDE] > 0 else "sell",
                size=row[SIZE],
                type=_TYPE_NAMES[int(row[TYPE])],
                reason=_REASONS[reason],
            )
        )
    filled = np.flatnonzero(tab[:, FSEQ] >= 0)
    filled = filled[np.argsort(tab[filled, FSEQ])]
    fill_time = dict(zip(filled.tolist(), stamps[tab[filled, FBAR].astype(np.int64)].to_list(), strict=True))
    for k in filled.tolist():
        row = rows[k]
        sym = syms[int(row[SYM])]
        t = ledger.open_trades.get(sym)
        if t is not None and row[BORROW]:
            t.borrow = row[BORROW]
        prob = None if math.isnan(row[PROB]) else row[PROB]
        ledger.order_filled(ids[k], fill_time[k], row[FPRICE], row[SIZE], row[FCOMM], row[SLIP], prob=prob)
    for k, row in enumerate(rows):
        if row[LSTAT] != FILLED:
            ledger.orders[ids[k]].status = _STATUS_NAMES[int(row[LSTAT])]
    ledger.equity = [(t, *e) for t, e in zip(calendar, equity.tolist(), strict=True)]
    _mark_end(cfg, ledger, syms, stamps, bidx[-1], pos, borrow, close)
    return ledger


def _concat_index(indexes: list[pd.DatetimeIndex]) -> pd.DatetimeIndex:
    """All symbols' bar timestamps, in the order of the flat bar arrays (global bar index -> timestamp)."""
    return indexes[0].append(indexes[1:]) if len(indexes) > 1 else indexes[0]


def _mark_end(cfg, ledger: Ledger, syms, stamps, last, pos, borrow, close) -> None:
    """mark_open_positions: close open trades at their last close with the closing commission."""
    comm, total = cfg.broker.commission, 0.0
    for j, s in enumerate(syms):
        if pos[j] != 0 and s in ledger.open_trades:
            t = ledger.open_trades[s]
            if borrow[j]:
                t.borrow = float(borrow[j])
            px = float(close[last[j]])
            c = abs(float(pos[j])) * px * comm
            total += c
            ledger.mark_to_close(s, stamps[last[j]], px, c)
    if total and ledger.equity:
        t, eq, cash, expo = ledger.equity[-1]
        ledger.equity[-1] = (t, eq - total, cash, expo)


__all__ = ["VectorRules", "prepare", "run_core", "simulate_vector", "unsupported_reason"]
