"""AlertCheck's composition: settings, clients and ledger from the environment, then one check."""

from __future__ import annotations

import logging
import os
from collections.abc import Mapping
from datetime import datetime

from shared.alerts.check import AlertContext, run_alert_check
from shared.alerts.rules import load_alerts
from shared.alerts.streaks import failure_once, recovered
from shared.app import App, will_retry
from shared.clock import utc_now
from shared.errors import LedgerError, MixpanelError
from shared.pipeline import _one_line
from shared.render.slack_message import render_failure

log = logging.getLogger("analytics_reporter")
REPORT = "alert check"


def alert_context(app: App) -> AlertContext:
    """The alerts of a deployment: its alerts file over its metrics file."""
    settings = app.settings
    alerts = load_alerts(settings.alerts_file, app.ctx.config, watch_events=settings.tracking_watch)
    return AlertContext(alerts, app.ctx.config, settings.timezone, settings.company_name)


def run_alert_timer(
    timer: object,
    context: object = None,
    *,
    environ: Mapping[str, str] | None = None,
    now: datetime | None = None,
) -> None:
    """One AlertCheck fire; raises when it failed (one failure notice per failure streak)."""
    environ = os.environ if environ is None else environ
    now = now or utc_now()
    app = App.from_environ(environ)  # a ConfigError fails the run and shows in the host's log
    ctx = alert_context(app)
    ledger = app.ledger()
    with app.session:
        slack = app.slack()
        try:
            run_alert_check(ctx, now=now, source=app.mixpanel(), poster=slack, ledger=ledger)
        except (MixpanelError, LedgerError) as exc:
            notice = render_failure(
                report=REPORT,
                window=None,
                error=_one_line(exc),
                when=now,
                will_retry=will_retry(context),
            )
            try:
                failure_once(ledger, slack, report=REPORT, now=now, notice=lambda: notice)
            except LedgerError as again:
                log.error("alert check failed and its failure streak is unknown: %s", again)
            raise
        recovered(ledger, slack, report=REPORT, now=now)
