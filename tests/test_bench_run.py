"""`make bench` (bench/run.py): how long it will take, how far it is, and a quick mode."""

from __future__ import annotations

import re
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

from bench.run import Case, run_cases

REPO = Path(__file__).resolve().parents[1]
HANG_GUARD_SECONDS = 1200  # a hang guard: the quick run takes well under a minute when idle


class FakeClock:
    """Each case "takes" the seconds it is told to, without waiting."""

    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now

    def case(self, seconds: float) -> Callable[[], None]:
        def run() -> None:
            self.now += seconds

        return run


def test_progress_states_the_total_up_front_and_each_case_as_it_starts_and_ends():
    """The estimate left scales with this machine's pace so far (twice as slow: twice as long)."""
    clock, lines = FakeClock(), []
    cases = [
        Case("first", 10, clock.case(20)),  # took twice as long as expected
        Case("second", 30, clock.case(30)),
        Case("third", 50, clock.case(45)),
    ]
    run_cases(cases, clock=clock, say=lines.append)
    assert lines == [
        "# 3 cases, expected to take about 1 min 30 s on an idle 2-core machine (longer on a "
        "busy one); for a quick run: make bench ARGS=--quick",
        "\n[case 1/3] first: starting (about 10 s)",
        "[case 1/3] first: done in 20 s; about 2 min 40 s left",
        "\n[case 2/3] second: starting (about 30 s)",
        "[case 2/3] second: done in 30 s; about 1 min 02 s left",
        "\n[case 3/3] third: starting (about 50 s)",
        "[case 3/3] third: done in 45 s; all done",
    ]


def test_the_quick_mode_runs_every_case_end_to_end_and_reports_the_ratios():
    """`make bench ARGS=--quick`: every case starts and ends, and each ratio is printed."""
    done = subprocess.run(
        [sys.executable, "-m", "bench.run", "--quick"],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=HANG_GUARD_SECONDS,
        check=False,
    )
    out = done.stdout
    assert done.returncode == 0, (out + done.stderr)[-3000:]
    total = re.search(r"# (\d+) cases, expected to take about ", out)
    assert total is not None, out[:500]
    count = int(total.group(1))
    assert count >= 8
    for index in range(1, count + 1):
        assert f"[case {index}/{count}] " in out
        assert re.search(rf"\[case {index}/{count}\] .*: done in ", out), index
    assert "all done" in out
    assert "(quick mode)" in out
    for ratio in ("req x", "time x", "(ratio x", "of the worker's own import", "streamed uses x"):
        assert ratio in out, ratio
