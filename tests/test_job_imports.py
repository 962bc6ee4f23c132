"""Each function folder loads only what its job uses: a cold start pays for nothing else."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
HANG_GUARD_SECONDS = 120  # a hang guard only: an import takes well under a second when idle

ALERTS = ("shared.alerts",)
CHARTS = ("shared.render.charts",)
# Function folder, and module prefixes its import must not load.
NOT_LOADED = [
    ("CustomReport", ALERTS + CHARTS + ("shared.jobs.alert_check", "shared.jobs.backtest")),
    ("DailyReport", ALERTS + CHARTS + ("shared.jobs.custom_report",)),
    ("WeeklyReport", ALERTS + CHARTS),
    ("BiWeeklyReport", ALERTS + CHARTS),
    ("MonthlyReport", ALERTS + CHARTS),
    ("DeliveryHistory", ALERTS + CHARTS + ("shared.jobs.custom_report",)),
    ("SlackCommand", ALERTS + CHARTS),
    ("SlackCommandWorker", ALERTS + CHARTS),
    ("AlertCheck", (*CHARTS, "shared.jobs.custom_report")),
    ("AlertBacktest", (*CHARTS, "shared.jobs.custom_report")),
]


def loaded_by(folder: str) -> list[str]:
    """The shared.* modules a fresh interpreter holds after importing `folder`."""
    probe = (
        f"import json, sys, {folder}; "
        "print(json.dumps(sorted(n for n in sys.modules if n.startswith('shared'))))"
    )
    out = subprocess.run(  # noqa: S603 - our own interpreter and a folder name from the table
        [sys.executable, "-c", probe],
        cwd=REPO,
        check=True,
        capture_output=True,
        text=True,
        timeout=HANG_GUARD_SECONDS,
    ).stdout
    names: list[str] = json.loads(out)
    return names


def test_the_table_names_every_function_folder():
    """A new function folder gets a row here, so its imports are looked at too."""
    folders = {p.parent.name for p in REPO.glob("*/function.json")}
    assert {folder for folder, _ in NOT_LOADED} == folders


@pytest.mark.parametrize(("folder", "forbidden"), NOT_LOADED)
def test_a_function_folder_does_not_load_other_jobs_modules(folder, forbidden):
    """Importing the folder loads its own job, and none of the listed packages."""
    loaded = loaded_by(folder)
    assert any(name.startswith("shared.jobs.") for name in loaded)
    assert [n for n in loaded if n.startswith(forbidden)] == []
