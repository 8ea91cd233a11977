"""Fast tier of the randomized simulation (tests/live/sim.py): whole sessions of run_live.py against
the fake Alpaca and the fake Binance under a seeded fault schedule with a SIGKILL restart, then the
invariants: no duplicate order, every venue order and fill journaled, a clean audit, no position left
without exits, every order on the venue's increments. bench/bench_live_faults.py runs many seeds."""

from __future__ import annotations

import pytest

from tests.live.sim import draw_plan, run_plan

SEEDS = [("alpaca", 4), ("binance", 6)]  # seeds whose schedules hit every fault kind


@pytest.mark.parametrize(("venue", "seed"), SEEDS)
def test_seeded_session_under_faults_and_a_sigkill_keeps_journal_equal_to_venue(venue, seed, tmp_path) -> None:
    plan = draw_plan(venue, seed, bars=10, fault_rate=0.8, kills=1, timeouts=False)
    result = run_plan(plan, tmp_path)
    assert sum(result.faults.values()) >= 5 and result.kills == 1, (result.faults, result.kills, result.crashes)
    assert result.violations() == []


def test_a_schedule_is_the_same_for_the_same_seed() -> None:
    assert draw_plan("binance", 7) == draw_plan("binance", 7)
    assert draw_plan("binance", 7) != draw_plan("binance", 8)
