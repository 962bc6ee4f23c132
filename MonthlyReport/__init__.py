"""Timer: the monthly [[report]]s, posted on the 1st at REPORT_HOUR (shared/schedule/slots.py)."""

import azure.functions as func

from shared.jobs.scheduled_reports import run_timer
from shared.schedule.periods import PeriodKind


def main(timer: func.TimerRequest, context: func.Context) -> None:
    """Post each monthly report due at this fire that was not posted yet."""
    run_timer(PeriodKind.MONTHLY, timer, context)
