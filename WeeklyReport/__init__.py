"""Timer: the weekly report, posted at REPORT_HOUR local time (see shared/schedule/slots.py)."""

import azure.functions as func

from shared.jobs.scheduled_reports import run_timer
from shared.schedule.periods import PeriodKind


def main(timer: func.TimerRequest, context: func.Context) -> None:
    """Post the weekly report if this fire is its slot and it was not posted yet."""
    run_timer(PeriodKind.WEEKLY, timer, context)
