"""Timer: the hourly alert check (tracking watch and alert rules, once per breach)."""

import azure.functions as func

from shared.jobs.alert_check import run_alert_timer


def main(timer: func.TimerRequest, context: func.Context) -> None:
    """Judge the closed hours; post only when an alert starts or stops firing."""
    run_alert_timer(timer, context)
