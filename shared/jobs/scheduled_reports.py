"""The report timers (DailyReport, WeeklyReport, BiWeeklyReport, MonthlyReport): one fire.

gather: the trigger, settings and clients (shared/root.py); decide: whether this fire is the
report's slot (shared/schedule/slots.py, pure, inside shared/pipeline.py); deliver: build,
render and post each due report once (shared/pipeline.py over shared/delivery/once.py).
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from datetime import datetime, timedelta

from shared.clock import utc_now
from shared.errors import ConfigError
from shared.jobs.host import function_name, will_retry
from shared.pipeline import Delivered, run_reports, run_scheduled
from shared.root import App, environment, notify_config_error, parse, schedule_rules
from shared.runlog import logged_run, timer_outcome
from shared.schedule.periods import PeriodKind
from shared.schedule.slots import Skip, intended_time
from shared.sources.budget import Priority

log = logging.getLogger("analytics_reporter")

# The timer function of each cadence, for the run line when the host's context does not say.
TIMER_FUNCTIONS = {
    PeriodKind.DAILY: "DailyReport",
    PeriodKind.WEEKLY: "WeeklyReport",
    PeriodKind.BIWEEKLY: "BiWeeklyReport",
    PeriodKind.MONTHLY: "MonthlyReport",
}


def run_timer(
    kind: PeriodKind,
    timer: object,
    context: object = None,
    *,
    environ: Mapping[str, str] | None = None,
    now: datetime | None = None,
) -> None:
    """One timer fire of the `kind` report, logged as one run line (shared/runlog.py)."""
    with logged_run(function_name(context, TIMER_FUNCTIONS.get(kind, str(kind))), str(kind)) as run:
        run.set(*timer_outcome(_run_timer(kind, timer, context, environ=environ, now=now)))


def _run_timer(
    kind: PeriodKind,
    timer: object,
    context: object = None,
    *,
    environ: Mapping[str, str] | None = None,
    now: datetime | None = None,
) -> Delivered | Skip | list[Delivered | Skip] | None:
    """One timer fire of the `kind` report; raises when the run failed (the host records it).

    `timer` is the trigger's TimerRequest and `context` the invocation Context (both read by
    attribute, so shared/ needs no azure.functions): `past_due`, `schedule_status` (absent on
    the abstract TimerRequest) and `retry_context` (whether the host will try again).
    """
    # gather: the trigger, then settings and clients from the composition root
    environ = environment() if environ is None else environ
    now = now or utc_now()
    past_due = bool(getattr(timer, "past_due", False))
    status = getattr(timer, "schedule_status", None)
    schedule_status = status if isinstance(status, Mapping) else None
    parsed = parse(environ)
    try:
        app = App.from_parse(parsed)
        if kind is PeriodKind.MONTHLY and not app.ctx.config.reports:
            # The single report of the settings has no monthly post, as before [[report]]s.
            log.info("monthly report: none configured (add a [[report]] with cadence monthly)")
            app.session.close()
            return None
        ledger = app.ledger()
    except ConfigError as exc:
        notify_config_error(kind, exc, parsed.settings, now, past_due, schedule_status)
        raise
    # decide (pure, shared/schedule/slots.py) and deliver (once each, shared/delivery/once.py):
    # both inside shared/pipeline.py, per report of this cadence
    with app.session:
        if app.ctx.config.reports:  # several reports: each of this cadence, each once
            return run_reports(
                kind,
                app.scheduled_reports(kind),
                scheduled_for=intended_time(schedule_status),
                past_due=past_due,
                now=now,
                ledger=ledger,
                will_retry=will_retry(context),
                catch_up=timedelta(hours=app.settings.catch_up_hours),
            )
        return run_scheduled(
            kind,
            app.ctx,
            schedule_rules(app.settings),
            scheduled_for=intended_time(schedule_status),
            past_due=past_due,
            now=now,
            mixpanel=app.mixpanel(Priority.SCHEDULED),
            slack=app.slack(),
            ledger=ledger,
            will_retry=will_retry(context),
            email=app.email(),
            catch_up=timedelta(hours=app.settings.catch_up_hours),
        )
