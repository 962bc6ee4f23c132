"""Timer: the weekly report, posted at REPORT_HOUR local time (see shared/schedule.py)."""

import azure.functions as func

from shared.app import run_timer
from shared.periods import PeriodKind


def main(timer: func.TimerRequest) -> None:
    """Post the weekly report if this fire is its slot and it was not posted yet."""
    # The abstract TimerRequest lacks schedule_status; the worker's concrete one has it.
    status = getattr(timer, "schedule_status", None)
    run_timer(PeriodKind.WEEKLY, past_due=timer.past_due, schedule_status=status)
