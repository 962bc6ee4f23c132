"""AlertCheck's composition: settings, clients and ledger from the environment, then one check."""

from __future__ import annotations

import logging
import os
from collections.abc import Callable, Mapping, Sequence
from datetime import date, datetime
from typing import TYPE_CHECKING
from zoneinfo import ZoneInfo

from shared.alerts.check import AlertContext, HourlySource, run_alert_check
from shared.alerts.rules import load_alerts
from shared.app import App, will_retry
from shared.clock import utc_now
from shared.delivery.streaks import recovered
from shared.errors import LedgerError, MixpanelError, UnknownEventsError
from shared.pipeline import notify_failure
from shared.render.slack import render_recovered
from shared.runlog import logged_run
from shared.schedule.hours import LocalHour
from shared.sources.budget import Priority
from shared.sources.export_stream import LineBudget, LineDecoder, S

if TYPE_CHECKING:
    from shared.sources.mixpanel_client import MixpanelClient

log = logging.getLogger("analytics_reporter")
REPORT = "alert check"


class ExportHourly:
    """The export-source variant: hourly counts from one raw export (Raw Export API budget)."""

    def __init__(self, client: MixpanelClient, timezone: ZoneInfo, export_in_utc: bool) -> None:
        self._client = client
        self._timezone = timezone
        self._export_in_utc = export_in_utc

    def event_names(self, *, limit: int = 10_000) -> list[str]:
        """The project's event names (Query API, cached for an hour per instance)."""
        return self._client.event_names(limit=limit)

    def export_records(
        self,
        new_sink: Callable[[], S],
        *,
        from_date: date,
        to_date: date,
        decoder: LineDecoder,
        events: Sequence[str] | None = None,
        budget: LineBudget | None = None,
    ) -> S:
        """The raw export streamed into a sink (rules on export-derived metrics)."""
        return self._client.export_records(
            new_sink,
            from_date=from_date,
            to_date=to_date,
            decoder=decoder,
            events=events,
            budget=budget,
        )

    def hourly_counts(
        self, events: Sequence[str], *, from_date: date, to_date: date
    ) -> dict[str, dict[LocalHour, int]]:
        """Hourly counts of `events`, bucketed by local hour from the raw export."""
        return self._client.hourly_counts_from_export(
            events,
            from_date=from_date,
            to_date=to_date,
            timezone=self._timezone,
            export_in_utc=self._export_in_utc,
        )


def hourly_source(app: App, priority: Priority = Priority.ON_DEMAND) -> HourlySource:
    """The Query API's hourly /events, or the raw export when ALERT_SOURCE=export (the timer
    spends the scheduled runs' reserve of the call budget; a backtest does not)."""
    client = app.mixpanel(priority)
    if app.settings.alert_source == "export":
        return ExportHourly(client, app.settings.timezone, app.settings.export_in_utc)
    return client


def alert_context(app: App) -> AlertContext:
    """The alerts of a deployment: its alerts file over its metrics file."""
    settings = app.settings
    alerts = load_alerts(settings.alerts_file, app.ctx.config, watch_events=settings.tracking_watch)
    return AlertContext(
        alerts,
        app.ctx.config,
        settings.timezone,
        settings.company_name,
        export_in_utc=settings.export_in_utc,
        export_max_events=settings.export_max_events,
    )


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
    environ = os.environ if environ is None else environ
    now = now or utc_now()
    app = App.from_environ(environ)  # a ConfigError fails the run and shows in the host's log
    ctx = alert_context(app)
    ledger = app.ledger()
    with app.session:
        slack = app.slack()
        try:
            source = hourly_source(app, Priority.SCHEDULED)
            run_alert_check(ctx, now=now, source=source, poster=slack, ledger=ledger)
        except (MixpanelError, LedgerError, UnknownEventsError) as exc:
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
