"""AlertCheck, the hourly timer: judge the closed hours, post when an alert starts or stops.

gather: settings, alerts, ledger and the hourly source (shared/root.py); decide: each rule over
the closed hours (shared/alerts/evaluate.py, pure, inside shared/alerts/check.py); deliver: one
post per breach opened or closed (shared/alerts/check.py over the ledger), a failure notice
per failure streak and a recovery line (shared/pipeline.py, shared/delivery/streaks.py).
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime

from shared.alerts.check import run_alert_check
from shared.clock import utc_now
from shared.delivery.streaks import recovered
from shared.errors import LedgerError, MixpanelError, UnknownEventsError
from shared.jobs.host import will_retry
from shared.pipeline import notify_failure
from shared.render.slack import render_recovered
from shared.root import App, alert_context, environment, hourly_source, parse
from shared.runlog import logged_run
from shared.sources.budget import Priority

REPORT = "alert check"


def run_alert_timer(
    timer: object,
    context: object = None,
    *,
    environ: Mapping[str, str] | None = None,
    now: datetime | None = None,
) -> None:
    """One AlertCheck fire, logged as one run line (shared/runlog.py)."""
    with logged_run("AlertCheck", REPORT):
        _run_alert_timer(timer, context, environ=environ, now=now)


def _run_alert_timer(
    timer: object,
    context: object = None,
    *,
    environ: Mapping[str, str] | None = None,
    now: datetime | None = None,
) -> None:
    """One AlertCheck fire; raises when it failed (one failure notice per failure streak)."""
    # gather (a ConfigError fails the run and shows in the host's log)
    now = now or utc_now()
    app = App.from_parse(parse(environment() if environ is None else environ, alerts=True))
    ctx = alert_context(app)
    ledger = app.ledger()
    with app.session:
        slack = app.slack()
        try:
            source = hourly_source(app, Priority.SCHEDULED)
            # decide (pure evaluation) and deliver (once per breach): shared/alerts/check.py
            run_alert_check(ctx, now=now, source=source, poster=slack, ledger=ledger)
        except (MixpanelError, LedgerError, UnknownEventsError) as exc:
            # deliver: the failure, once per streak
            notify_failure(
                slack,
                report=REPORT,
                window=None,
                error=exc,
                now=now,
                will_retry=will_retry(context),
                ledger=ledger,
                post_when_streak_unknown=False,
            )
            raise
        recovered(ledger, slack, report=REPORT, now=now, line=lambda: render_recovered(REPORT, now))
