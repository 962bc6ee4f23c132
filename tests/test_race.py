"""Specs for tests/race.py, the shared thread-race harness: results in order, errors back."""

from __future__ import annotations

import threading

import pytest

from tests.race import RaceError, race, run_together


def test_racers_start_together_and_their_results_come_back_in_order():
    """Every racer is released by one barrier (all are waiting before any returns)."""
    waiting = threading.Barrier(3)
    results = race([lambda i=i: (waiting.wait(timeout=60), i)[1] for i in range(3)])
    assert results == [0, 1, 2]


def test_an_error_in_any_racer_fails_the_race_naming_it():
    """One racer raising is a RaceError (an AssertionError) carrying that error."""

    def broken() -> int:
        raise ValueError("racer 2 broke")

    with pytest.raises(RaceError, match="racer 2 broke") as caught:
        race([lambda: 1, broken, lambda: 3])
    assert isinstance(caught.value.__cause__, ValueError)


def test_run_together_runs_one_callable_n_times():
    """run_together(n, f): f on n threads at once."""
    seen: list[int] = []
    lock = threading.Lock()

    def once() -> int:
        with lock:
            seen.append(1)
            return len(seen)

    assert sorted(run_together(5, once)) == [1, 2, 3, 4, 5]
