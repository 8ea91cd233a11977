"""Randomized simulation testing of whole live sessions under venue faults and SIGKILL restarts.

One seeded run = run_live.py (a subprocess, sma_cross, bracket exits on) against an in-process
FakeAlpaca or FakeBinance, driven bar by bar like :mod:`tests.live.driver`. The seed draws the bars,
a fault schedule (injected with the fake's own ``inject`` API right after a bar closes: 429,
5xx, outages of several requests, answers lost after the venue acted, timeouts, partial fills,
rejected orders and rejected exits) and SIGKILL points (``os.kill``, then a restart with the
same config and journal). After the run the venue is checked against the journal:

(a) ``duplicate``: a client id twice among venue orders, or two venue orders for one decision
    (one entry id and role: entry, take-profit, stop-loss);
(b) ``lost-order`` / ``lost-fill``: a venue order or fill without its journal row (the audit);
(c) ``audit``: every other difference :func:`bot.live.audit.audit` reports;
(d) ``unprotected``: a position held without resting exits covering it at two successive bar
    ends, unless the journal's state ``unprotected`` names the symbol and the bot logged an alert
    saying "unprotected";
(e) ``off-increment``: an order request whose size or prices are off the fake's increments.

Schedules are deterministic per seed; what a kill interrupts depends on the machine's timing
(a kill fires a seeded delay after a bar closes, or right when the next order request arrives).
"""

from __future__ import annotations

import json
import os
import random
import signal
import subprocess
import sys
import time
from collections import Counter
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path

import pandas as pd
import yaml
from pydantic import SecretStr

from bot.live.audit import audit
from bot.live.journal import Journal
from bot.venues.retry import RetryPolicy
from tests.fakes import server as fake_server
from tests.fakes.alpaca import FakeAlpaca
from tests.fakes.bars import random_bars
from tests.fakes.binance import FakeBinance

ROOT = Path(__file__).resolve().parents[2]
WARMUP = 8
FAST_RETRY_AFTER = 0.2  # Retry-After of injected 429s (s): keeps runs short
CLIENT_TIMEOUT = 3.0  # the venue clients' request timeout in the simulated sessions (broker.venue.timeout)
SYMBOLS = {"alpaca": ["AAPL", "MSFT"], "binance": ["BTC/USDT", "ETH/USDT"]}
ORDER_PATHS = {"alpaca": ("/v2/orders",), "binance": ("/api/v3/order", "/api/v3/orderList/oco")}
# (path prefix, method) of the requests a fault may hit, per venue
TARGETS = {
    "alpaca": [
        ("/v2/orders", "POST"),
        ("/v2/orders:by_client_order_id", "GET"),
        ("/v2/orders", "GET"),
        ("/v2/orders/", "DELETE"),
        ("/v2/account/activities", "GET"),
        ("/v2/positions", "GET"),
        ("/v2/account", "GET"),
        ("/v2/clock", "GET"),
        ("/v2/stocks/bars", "GET"),
    ],
    "binance": [
        ("/api/v3/order", "POST"),
        ("/api/v3/orderList/oco", "POST"),
        ("/api/v3/order", "GET"),
        ("/api/v3/order", "DELETE"),
        ("/api/v3/openOrders", "GET"),
        ("/api/v3/myTrades", "GET"),
        ("/api/v3/account", "GET"),
        ("/api/v3/klines", "GET"),
        ("/api/v3/time", "GET"),
    ],
}
# fault kind -> weight in a schedule (timeouts cost CLIENT_TIMEOUT seconds each: rare by default)
WEIGHTS = {
    "http_429": 3,
    "http_500": 3,
    "outage": 2,
    "lost_answer": 3,
    "drop": 2,
    "timeout": 1,
    "partial": 2,
    "reject": 1,
    "reject_exit": 2,
}


@dataclass(frozen=True)
class FaultSpec:
    """One ``inject`` call."""

    label: str  # the kind counted in the results (lost_answer, reject_exit, outage, ...)
    path: str
    kind: str
    times: int = 1
    method: str | None = None
    when: str | None = None
    delay: float = 1.0

    def apply(self, fake: fake_server.FakeServer) -> None:
        fake.inject(
            self.path,
            self.kind,
            times=self.times,
            method=self.method,
            when=self.when,
            delay=self.delay,
            retry_after=FAST_RETRY_AFTER,
        )


@dataclass(frozen=True)
class Plan:
    """What a seed draws: bars to trade, faults after each bar close, and kill points."""

    venue: str
    seed: int
    bars: int
    faults: dict[int, list[FaultSpec]]
    kills: dict[int, tuple[str, float]]  # bar -> ("delay", seconds) | ("next_order", 0)


def draw_plan(
    venue: str, seed: int, bars: int = 30, fault_rate: float = 0.6, kills: int = 2, timeouts: bool = True
) -> Plan:
    """Return the seeded schedule of one run (``fault_rate``: mean faults per bar)."""
    rng = random.Random(f"{venue}:{seed}")
    weights = {k: w for k, w in WEIGHTS.items() if timeouts or k != "timeout"}
    faults: dict[int, list[FaultSpec]] = {}
    for bar in range(bars):
        n = sum(rng.random() < fault_rate / 2 for _ in range(2)) if fault_rate < 2 else round(fault_rate)
        specs = [_fault(venue, rng, rng.choices(list(weights), list(weights.values()))[0]) for _ in range(n)]
        if specs:
            faults[bar] = specs
    points = rng.sample(range(2, bars - 1), min(kills, max(bars - 3, 0)))
    kill_at = {
        b: (("next_order", 0.0) if rng.random() < 0.5 else ("delay", round(rng.uniform(0.0, 0.6), 3))) for b in points
    }
    return Plan(venue, seed, bars, faults, kill_at)


def _fault(venue: str, rng: random.Random, label: str) -> FaultSpec:
    path, method = rng.choice(TARGETS[venue])
    order_post = (ORDER_PATHS[venue][0], "POST")
    if label in ("http_429", "http_500", "drop"):
        return FaultSpec(label, path, label, rng.randint(1, 2), method)
    if label == "outage":  # several requests in a row, on every path
        kind = "outage" if "outage" in fake_server.FAULT_KINDS else "http_500"
        return FaultSpec(label, "/", kind, rng.randint(3, 6))
    if label == "lost_answer":  # the venue acted, the answer never arrived
        path, method = order_post if rng.random() < 0.7 else (path, method)
        return FaultSpec(label, path, "drop", 1, method, when="before")
    if label == "timeout":
        return FaultSpec(
            label, path, "timeout", 1, method, when=rng.choice(["before", "after"]), delay=CLIENT_TIMEOUT + 1.0
        )
    if label == "partial":
        return FaultSpec(label, *order_post[:1], "partial", 1, "POST")
    if label == "reject":
        return FaultSpec(label, *order_post[:1], "reject", 1, "POST")
    exit_path = ORDER_PATHS[venue][-1]  # Binance: the OCO exits; Alpaca: any order (exits are market sells)
    return FaultSpec(label, exit_path, "reject", rng.randint(1, 3), "POST")


@dataclass
class SimResult:
    """Counts and violations of one run."""

    venue: str
    seed: int
    faults: Counter = field(default_factory=Counter)  # injected, by label
    unused_faults: int = 0  # injected but never hit by a request
    kills: int = 0
    crashes: list[str] = field(default_factory=list)  # sessions that exited non-zero on their own
    stalls: int = 0  # bars advanced after the bot did not finish the previous one in time
    duplicates: list[str] = field(default_factory=list)
    lost_orders: list[str] = field(default_factory=list)
    lost_fills: list[str] = field(default_factory=list)
    audit_diffs: list[str] = field(default_factory=list)
    unprotected: list[str] = field(default_factory=list)
    off_increment: list[str] = field(default_factory=list)
    orders: int = 0
    fills: int = 0
    wall: float = 0.0

    def violations(self) -> list[str]:
        """Return one line per violated invariant, naming the seed and the ids."""
        tag = f"{self.venue} seed {self.seed}"
        out = [f"{tag}: (a) duplicate {x}" for x in self.duplicates]
        out += [f"{tag}: (b) lost order {x}" for x in self.lost_orders]
        out += [f"{tag}: (b) lost fill {x}" for x in self.lost_fills]
        out += [f"{tag}: (c) audit {x}" for x in self.audit_diffs]
        out += [f"{tag}: (d) unprotected {x}" for x in self.unprotected]
        out += [f"{tag}: (e) off-increment {x}" for x in self.off_increment]
        return out


# ---- the run --------------------------------------------------------------------------------
def build_fake(venue: str, seed: int, n_bars: int) -> FakeAlpaca | FakeBinance:
    """Return the seeded fake venue (not started)."""
    bars = {
        s: random_bars(n_bars, start="2024-05-01", freq="1h", vol=0.02, seed=seed * 10 + i)
        for i, s in enumerate(SYMBOLS[venue])
    }
    if venue == "alpaca":
        return FakeAlpaca(bars, timeframe="1Hour", warmup=WARMUP, cash=100_000)
    return FakeBinance(bars, interval="1h", warmup=WARMUP, balances={"USDT": 10_000.0}, step=0.0001)


def write_config(tmp: Path, venue: str, url: str) -> Path:
    """Write the run's config: sma_cross, fixed-fraction sizing, stop-loss and take-profit."""
    broker = (
        dict(kind="alpaca", alpaca=dict(paper=True, trading_url=url, data_url=url))
        if venue == "alpaca"
        else dict(kind="ccxt", ccxt=dict(exchange="binance", sandbox=False, api_url=url))
    )
    cfg = dict(
        name=f"sim-{venue}",
        seed=1,
        data=dict(source="sample", symbols=SYMBOLS[venue], timeframe="1h"),
        strategy=dict(name="sma_cross", params=dict(fast=2, slow=5)),
        broker=dict(
            cash=100_000 if venue == "alpaca" else 10_000,
            commission=0.0,
            slippage=0.0,
            **broker,
            venue=dict(timeout=CLIENT_TIMEOUT, base_delay=0.05, max_delay=1.0, lookup_interval=0.05),
        ),
        risk=dict(sizing="fixed_fraction", fraction=0.3, max_position=0.4, stop_loss=0.02, take_profit=0.03),
        live=dict(state_db=f"sqlite:///{tmp / 'journal.db'}", poll_seconds=0.05, warmup_bars=WARMUP),
    )
    path = tmp / f"sim-{venue}.yaml"
    path.write_text(yaml.safe_dump(cfg))
    return path


class SimDriver:
    """Runs run_live.py against the fake and reveals a bar each time the bot finished the last one."""

    def __init__(self, fake, venue: str, config: Path, journal: Journal, log_dir: Path, stall: float = 20.0):
        self.fake, self.venue, self.config, self.journal = fake, venue, config, journal
        keys = ("ALPACA_API_KEY", "ALPACA_SECRET_KEY") if venue == "alpaca" else ("CCXT_API_KEY", "CCXT_SECRET")
        self.env = dict(os.environ, **{keys[0]: fake.key, keys[1]: fake.secret})
        self.log_dir, self.stall = log_dir, stall
        self.proc: subprocess.Popen | None = None
        self.session = 0
        self.logs: list[Path] = []

    def start(self) -> None:
        self.session = len(self.journal.sessions()) + 1
        log = self.log_dir / f"session-{len(self.logs) + 1}.log"
        self.logs.append(log)
        with open(log, "w") as err:
            self.proc = subprocess.Popen(
                [sys.executable, "run_live.py", "--config", str(self.config)],
                cwd=ROOT,
                env=self.env,
                stdout=subprocess.DEVNULL,
                stderr=err,
                text=True,
            )

    def finished(self) -> pd.Timestamp | None:
        text = self.journal.get_state("last_bar")
        return pd.Timestamp(text) if text else None

    def caught_up(self) -> bool:
        """Return True once the bot is trading and has finished the latest closed bar."""
        if self.journal.get_state("ready_session") != self.session:
            return False
        return self.finished() == self.fake.clock - pd.Timedelta("1h")

    def wait_caught_up(self, result: SimResult, first: bool = False) -> None:
        """Wait until the bot finished the latest bar; restart it if it died; note a stall."""
        deadline = time.monotonic() + self.stall
        while time.monotonic() < deadline:
            if self.proc is not None and self.proc.poll() is not None:
                result.crashes.append(f"session {self.session} exited {self.proc.returncode}: {self.tail()}")
                self.start()
                deadline = time.monotonic() + self.stall
                continue
            if self.caught_up() or (first and self.journal.get_state("ready_session") == self.session):
                return
            time.sleep(0.02)
        result.stalls += 1

    def kill(self, how: tuple[str, float], result: SimResult) -> None:
        """SIGKILL the bot (after a delay, or when its next order request arrives), then restart it."""
        mode, delay = how
        if mode == "delay":
            time.sleep(delay)
        else:
            posts = self.order_posts()
            deadline = time.monotonic() + 3.0
            while self.order_posts() == posts and time.monotonic() < deadline and self.proc.poll() is None:
                time.sleep(0.002)
        if self.proc.poll() is None:
            os.kill(self.proc.pid, signal.SIGKILL)
            self.proc.wait(10)
            result.kills += 1
        self.fake.wait_idle(CLIENT_TIMEOUT + 5)
        self.start()

    def order_posts(self) -> int:
        return sum(len(self.fake.requests("POST", p)) for p in ORDER_PATHS[self.venue])

    def stop(self) -> None:
        """End the session cleanly (SIGTERM: the bot finishes its bar, shuts down, audits)."""
        if self.proc is None or self.proc.poll() is not None:
            return
        self.proc.send_signal(signal.SIGTERM)
        try:
            self.proc.wait(60)
        except subprocess.TimeoutExpired:
            os.kill(self.proc.pid, signal.SIGKILL)
            self.proc.wait(10)

    def tail(self) -> str:
        text = self.logs[-1].read_text() if self.logs else ""
        return " | ".join(text.strip().splitlines()[-3:])[-600:]

    def log_text(self) -> str:
        return "\n".join(p.read_text() for p in self.logs if p.exists())


def run_plan(plan: Plan, tmp: Path) -> SimResult:
    """Run one seeded session (with its faults and kills) and check the invariants."""
    t0 = time.monotonic()
    result = SimResult(plan.venue, plan.seed)
    fake = build_fake(plan.venue, plan.seed, WARMUP + plan.bars + 2).start()
    journal = Journal(f"sqlite:///{tmp / 'journal.db'}")
    driver = SimDriver(fake, plan.venue, write_config(tmp, plan.venue, fake.base_url), journal, tmp)
    streak: Counter = Counter()
    try:
        driver.start()
        driver.wait_caught_up(result, first=True)
        for bar in range(plan.bars):
            if fake.engine.remaining_bars() <= 0:
                break
            for spec in plan.faults.get(bar, []):
                spec.apply(fake)
                result.faults[spec.label] += 1
            fake.advance()
            if bar in plan.kills:
                driver.kill(plan.kills[bar], result)
            driver.wait_caught_up(result)
            _check_protection(fake, plan.venue, journal, driver, streak, result)
        for kind in fake_server.FAULT_KINDS:  # what no request hit is not a fault the bot saw
            result.unused_faults += _lift(fake, kind)
        driver.wait_caught_up(result)
        driver.stop()
        fake.wait_idle(CLIENT_TIMEOUT + 5)
        check_invariants(fake, plan.venue, journal, result)
    finally:
        if driver.proc is not None and driver.proc.poll() is None:
            os.kill(driver.proc.pid, signal.SIGKILL)
            driver.proc.wait(10)
        journal.close()
        fake.stop()
    result.wall = time.monotonic() - t0
    return result


def _lift(fake, kind: str) -> int:
    """Drop pending faults of ``kind``; return how many requests they would still have hit."""
    with fake._lock:
        left = sum(min(f.times, 100) for f in fake._faults if f.kind == kind)
    if hasattr(fake, "lift"):
        fake.lift(kind)
    else:
        with fake._lock:
            fake._faults[:] = [f for f in fake._faults if f.kind != kind]
    return left


# ---- invariants -----------------------------------------------------------------------------
def check_invariants(fake, venue: str, journal: Journal, result: SimResult) -> None:
    """Fill ``result`` with the violations of (a), (b), (c) and (e) once the run is over."""
    orders = fake.orders()
    result.orders, result.fills = len(orders), len(fake.fills())
    result.duplicates = duplicates(orders)
    report = audit(venue_client(fake, venue), journal)
    for d in report.differences:
        if d.kind == "order-not-journaled":
            result.lost_orders.append(d.key)
        elif d.kind == "fill-not-journaled":
            result.lost_fills.append(f"{d.key} ({d.detail})")
        else:
            result.audit_diffs.append(d.line())
    result.off_increment = off_increment(fake, venue)


def duplicates(orders) -> list[str]:
    """Return client ids used twice, and decisions with more than one venue order (an Alpaca bracket's
    legs count as their parent's decision, per role)."""
    out = [
        f"client id {cid} used by {n} orders" for cid, n in Counter(o.client_order_id for o in orders).items() if n > 1
    ]
    by_seq = {o.seq: o for o in orders}
    decisions: Counter = Counter()
    for o in orders:
        if o.parent is not None:  # an Alpaca bracket leg (named by the venue): its parent's decision
            decisions[(by_seq[o.parent].client_order_id, o.leg_role or o.type)] += 1
        else:  # the bot names every other order; exits placed anew get ids of their own (-fs<n>, -tp<n>)
            decisions[(o.client_order_id, "order")] += 1
    out += [
        f"decision {cid} {role}: {n} venue orders"
        for (cid, role), n in decisions.items()
        if n > 1 and Counter(o.client_order_id for o in orders)[cid] <= 1
    ]
    return out


def venue_client(fake, venue: str):
    """Return a bot venue client for the fake (no faults are pending when it is used)."""
    policy = RetryPolicy(attempts=3, base_delay=0.1)
    if venue == "alpaca":
        from bot.venues.alpaca import AlpacaVenue
        from bot.venues.credentials import AlpacaCredentials

        creds = AlpacaCredentials(key_id=SecretStr(fake.key), secret_key=SecretStr(fake.secret))
        return AlpacaVenue(creds, trading_url=fake.base_url, data_url=fake.base_url, retry=policy)
    from bot.venues.ccxt_venue import CcxtVenue
    from bot.venues.credentials import CcxtCredentials

    creds = CcxtCredentials(api_key=SecretStr(fake.key), secret=SecretStr(fake.secret))
    return CcxtVenue(
        "binance", creds, symbols=SYMBOLS[venue], api_url=fake.base_url, retry=policy, enable_rate_limit=False
    )


def _protected(fake, symbol: str, held: float, price: float) -> bool:
    """Return True if open sell exits cover the holding but what no order could sell: a residue
    worth less than the minimum notional (5) — spot fee dust left by earlier round trips adds up."""
    covered, groups = 0.0, set()
    for o in fake.orders():
        if o.symbol != symbol or o.side != "sell" or o.status not in ("new", "partially_filled"):
            continue
        if o.oco_group is not None:
            if o.oco_group in groups:
                continue
            groups.add(o.oco_group)
        covered += o.remaining
    return (held - covered) * price < 5.0


def _check_protection(
    fake, venue: str, journal: Journal, driver: SimDriver, streak: Counter, result: SimResult
) -> None:
    """(d): count a position left without covering exits at two successive bar ends."""
    for sym in SYMBOLS[venue]:
        inst = sym.replace("/", "") if venue == "binance" else sym
        held = fake.engine.position(inst)
        price = fake.engine.last_price(inst)
        if _protected(fake, inst, held, price):  # covered, or dust (below the minimum notional)
            streak[sym] = 0
            continue
        streak[sym] += 1
        if streak[sym] == 2 and not _declared(journal, driver, sym):
            result.unprotected.append(
                f"{sym} {held:g} without exits since the bar closing {fake.clock - pd.Timedelta('1h')}"
            )


def _declared(journal: Journal, driver: SimDriver, symbol: str) -> bool:
    state = journal.get_state("unprotected") or {}
    return symbol in state and "unprotected" in driver.log_text().lower()


def off_increment(fake, venue: str) -> list[str]:
    """(e): return order requests whose size or prices are off the fake's increments."""
    out = []
    for path in ORDER_PATHS[venue]:
        for req in fake.requests("POST", path):
            fields = _alpaca_fields(req) if venue == "alpaca" else _binance_fields(req)
            for name, value, step in fields(fake) if callable(fields) else fields:
                if value is not None and step and not _on(value, step):
                    cid = (
                        req.json().get("client_order_id")
                        if venue == "alpaca"
                        else req.params.get("newClientOrderId") or req.params.get("listClientOrderId")
                    )
                    out.append(f"{cid}: {name} {value} is not a multiple of {step}")
    return out


def _alpaca_fields(req) -> list[tuple[str, float | None, float]]:
    body = req.json()
    prices = [
        ("limit_price", body.get("limit_price")),
        ("stop_price", body.get("stop_price")),
        ("take_profit", (body.get("take_profit") or {}).get("limit_price")),
        ("stop_loss", (body.get("stop_loss") or {}).get("stop_price")),
    ]
    out = [(n, float(v), 0.01 if float(v) >= 1.0 else 0.0001) for n, v in prices if v is not None]
    qty = float(body.get("qty") or 0)
    if body.get("order_class") in ("bracket", "oto"):  # Alpaca: bracket orders are whole shares
        out.append(("qty", qty, 1.0))
    return out


def _binance_fields(req):
    p = req.params

    def fields(fake) -> list[tuple[str, float | None, float]]:
        sym = p.get("symbol", "")
        rules = getattr(fake, "rules", {}).get(sym)
        tick = rules.tick if rules is not None else 0.01
        step = fake.engine.instruments[sym].step if sym in fake.engine.instruments else 0.0
        names = ("price", "stopPrice", "abovePrice", "aboveStopPrice", "belowPrice", "belowStopPrice")
        out = [(n, float(p[n]), tick) for n in names if p.get(n)]
        return out + [("quantity", float(p["quantity"]), step)] if p.get("quantity") else out

    return fields


def _on(value: float, step: float) -> bool:
    ratio = Decimal(repr(value)) / Decimal(repr(step))
    return ratio == ratio.to_integral_value()


def summarize(results: list[SimResult]) -> str:
    """Return the per-venue counts the bench prints."""
    lines = []
    for venue in sorted({r.venue for r in results}):
        rs = [r for r in results if r.venue == venue]
        faults = sum((r.faults for r in rs), Counter())
        lines += [
            f"{venue}: {len(rs)} runs, {sum(r.orders for r in rs)} venue orders, {sum(r.fills for r in rs)} fills, "
            f"wall {sum(r.wall for r in rs):.0f} s",
            f"  faults injected {sum(faults.values())} ("
            + ", ".join(f"{k} {v}" for k, v in sorted(faults.items()))
            + f"), never hit {sum(r.unused_faults for r in rs)}",
            f"  SIGKILL restarts {sum(r.kills for r in rs)}, sessions that died on their own "
            f"{sum(len(r.crashes) for r in rs)}, stalls {sum(r.stalls for r in rs)}",
            f"  duplicates {sum(len(r.duplicates) for r in rs)}, lost orders {sum(len(r.lost_orders) for r in rs)}, "
            f"lost fills {sum(len(r.lost_fills) for r in rs)}, audit differences "
            f"{sum(len(r.audit_diffs) for r in rs)}, unprotected positions {sum(len(r.unprotected) for r in rs)}, "
            f"off-increment {sum(len(r.off_increment) for r in rs)}",
            f"  seeds with violations: {sorted(r.seed for r in rs if r.violations()) or 'none'}",
        ]
    return "\n".join(lines)


def result_json(r: SimResult) -> str:
    """Return one run as a JSON line (for the bench's --json)."""
    return json.dumps(
        dict(
            venue=r.venue,
            seed=r.seed,
            faults=dict(r.faults),
            unused=r.unused_faults,
            kills=r.kills,
            crashes=r.crashes,
            stalls=r.stalls,
            violations=r.violations(),
            wall=round(r.wall, 1),
        )
    )
