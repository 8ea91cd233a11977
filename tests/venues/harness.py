"""Fakes + venue clients wired together for the venue tests (one harness per venue)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from pydantic import SecretStr

from bot.venues.alpaca import AlpacaVenue
from bot.venues.ccxt_venue import CcxtVenue
from bot.venues.credentials import AlpacaCredentials, CcxtCredentials
from bot.venues.retry import RetryPolicy
from tests.fakes.alpaca import FakeAlpaca
from tests.fakes.bars import scripted_bars
from tests.fakes.binance import FakeBinance
from tests.fakes.venue import FakeVenue

# Client timeouts (s). Ordinary requests get a generous one so a loaded CI machine never
# turns a slow answer into a retry (which would change request counts); only tests that
# inject a "timeout" fault build a client with FAULT_TIMEOUT, and the fault's server-side
# delay is well beyond it.
TIMEOUT = 10.0
FAULT_TIMEOUT = 1.0
FAULT_DELAY = 1.8
POLICY = RetryPolicy(attempts=4, base_delay=0.1, factor=2.0, max_delay=5.0, lookup_tries=3, lookup_interval=0.05)
LOOKUP_WAITS = [POLICY.lookup_interval] * (POLICY.lookup_tries - 1)  # an unknown outcome, order not found
WARMUP = 5
FEE = 0.001

# Hourly bars: 5 warm-up bars at 100; the entry fills at bar 5's open (100); bar 7 reaches
# 112 (a 110 take-profit fills at 110); bar 8 drops to 89 (a 95 stop fills at 95).
ROWS = (
    [(100.0, 101.0, 99.0, 100.0)] * 6
    + [
        (100.0, 102.0, 98.0, 101.0),
        (101.0, 112.0, 100.0, 111.0),
        (111.0, 112.0, 89.0, 90.0),
    ]
    + [(90.0, 91.0, 89.0, 90.0)] * 10
)
BARS = scripted_bars(ROWS, start="2024-01-02", freq="1h")


class SleepRecorder:
    """Injectable sleep: records the requested delays, returns at once."""

    def __init__(self) -> None:
        self.delays: list[float] = []

    def __call__(self, seconds: float) -> None:
        self.delays.append(round(seconds, 6))


@dataclass
class Harness:
    """One venue under test: its fake, a client, and what the tests need to know about it."""

    kind: str
    fake: FakeVenue
    venue: AlpacaVenue | CcxtVenue
    symbol: str
    qty: float
    received: float  # base amount credited after a buy of ``qty`` (after fees)
    order_path: str  # path of the order-creating endpoint
    read_path: str  # a read-only endpoint that needs auth
    make: Callable[..., AlpacaVenue | CcxtVenue]
    sleeps: SleepRecorder = field(default_factory=SleepRecorder)

    def orders_with(self, cid: str) -> list:
        """Return the fake's orders carrying this client id."""
        return [o for o in self.fake.orders() if o.client_order_id == cid]

    def posts(self) -> int:
        """Return how many order-creating requests reached the fake."""
        return len(self.fake.requests("POST", self.order_path))


def alpaca_harness(fake: FakeAlpaca) -> Harness:
    sleeps = SleepRecorder()

    def make(secret: str | None = None, sleep=sleeps, timeout: float = TIMEOUT) -> AlpacaVenue:
        creds = AlpacaCredentials(key_id=SecretStr(fake.key), secret_key=SecretStr(secret or fake.secret))
        return AlpacaVenue(
            creds,
            paper=True,
            trading_url=fake.base_url,
            data_url=fake.base_url,
            timeout=timeout,
            retry=POLICY,
            sleep=sleep,
        )

    return Harness("alpaca-fake", fake, make(), "AAPL", 10.0, 10.0, "/v2/orders", "/v2/account", make, sleeps)


def ccxt_harness(fake: FakeBinance) -> Harness:
    sleeps = SleepRecorder()

    def make(secret: str | None = None, sleep=sleeps, timeout: float = TIMEOUT) -> CcxtVenue:
        creds = CcxtCredentials(api_key=SecretStr(fake.key), secret=SecretStr(secret or fake.secret))
        return CcxtVenue(
            "binance",
            creds,
            symbols=["BTC/USDT"],
            api_url=fake.base_url,
            timeout=timeout,
            retry=POLICY,
            sleep=sleep,
            enable_rate_limit=False,
        )

    return Harness(
        "ccxt-fake",
        fake,
        make(),
        "BTC/USDT",
        10.0,
        10.0 * (1 - FEE),
        "/api/v3/order",
        "/api/v3/account",
        make,
        sleeps,
    )


def start_harness(kind: str) -> Harness:
    """Start the fake for ``kind`` (alpaca-fake | ccxt-fake) and build a client for it."""
    if kind == "alpaca-fake":
        return alpaca_harness(FakeAlpaca({"AAPL": BARS}, timeframe="1Hour", warmup=WARMUP).start())
    fake = FakeBinance({"BTC/USDT": BARS}, interval="1h", warmup=WARMUP, balances={"USDT": 10_000.0}, fee=FEE).start()
    return ccxt_harness(fake)
