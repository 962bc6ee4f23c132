"""Composition root: builds settings, HTTP session, clients and posters from the environment.

Every job in shared/jobs/ gets what it needs from here, and settings are parsed only here
(`validated`: the env settings, email settings, [[report]] destinations and the metrics file;
`alert_context`: the alerts file over them). Tests skip this module and hand fakes to the
jobs' pure parts instead.
"""

from __future__ import annotations

import difflib
import functools
import logging
import os
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING
from zoneinfo import ZoneInfo

from shared.clock import utc_now
from shared.delivery.ledger import InMemoryLedger
from shared.errors import ConfigError, MetricsFileError
from shared.pipeline import (
    EmailRoute,
    ReportContext,
    ScheduledReport,
    notify_failure,
    produce_report,
    render_report_email,
)
from shared.report.metrics import MetricsConfig, load_metrics
from shared.report.reports import ReportSpec, resolve_destinations
from shared.runlog import track_mixpanel
from shared.schedule.periods import PeriodKind
from shared.schedule.slots import ScheduleRules, Skip, decide, intended_time
from shared.settings import DEFAULT_ALERTS_FILE, DEFAULT_METRICS_FILE, Secret, Settings
from shared.sources.budget import Priority
from shared.sources.gathering import SourceMode, SourcePolicy

if TYPE_CHECKING:
    from collections.abc import Callable, Sequence
    from datetime import date
    from email.headerregistry import Address

    import requests

    from shared.alerts.check import AlertContext, HourlySource
    from shared.alerts.rules import AlertsConfig
    from shared.delivery.chart_fallback import ChartFallbackPoster
    from shared.delivery.ledger import DeliveryLedger
    from shared.render.slack import SlackMessage
    from shared.report.generator import Report
    from shared.schedule.hours import LocalHour
    from shared.slack_command.history import Delivery
    from shared.slack_command.job import Answering, CommandJob
    from shared.slack_command.parse import ReportAsk
    from shared.sources.budget import CallBudget
    from shared.sources.export_stream import S
    from shared.sources.mixpanel_client import MixpanelClient
    from shared.sources.size_store import ExportSizes

log = logging.getLogger("analytics_reporter")
USER_AGENT = "analytics-reporter/0.1 (+Azure Functions; Mixpanel to Slack)"
# Without AzureWebJobsStorage (only ever local: the Azure host requires it), on-demand posts
# are claimed in this process's memory, so the re-post interval holds within one process.
LOCAL_LEDGER = InMemoryLedger()


@dataclass(frozen=True, slots=True)
class App:
    """Everything one invocation needs, built from one environment."""

    settings: Settings
    ctx: ReportContext
    session: requests.Session
    webhooks: Mapping[str, Secret] = field(default_factory=dict)  # per [[report]] name
    alerts: AlertsConfig | None = None  # the alerts file, when the job parsed it (parse alerts=)

    @classmethod
    def from_environ(cls, environ: Mapping[str, str], config: MetricsConfig | None = None) -> App:
        """Parse settings and the metrics file; raises ConfigError listing every problem.

        Everything that can be checked without Mixpanel is checked here, before any report
        runs: the settings, the metrics file (every [[report]]'s metrics), each report's
        destination and email settings, and the metric keys settings name.
        """
        return cls.from_parse(parse(environ, config))

    @classmethod
    def from_parse(cls, parsed: Parse) -> App:
        """The App of a configuration parsed by `parse`; raises its ConfigError if invalid."""
        import requests  # imported here, not at module top: keeps cold starts fast

        settings, config, webhooks = parsed.valid()
        session = requests.Session()
        session.headers["User-Agent"] = USER_AGENT
        return cls(settings, context(settings, config), session, webhooks, parsed.alerts)

    def mixpanel(self, priority: Priority = Priority.ON_DEMAND) -> MixpanelClient:
        """A Mixpanel client for this invocation (its own time budget), spending the project's
        call budget shared by every instance; timers pass Priority.SCHEDULED (the reserve)."""
        from shared.sources.mixpanel_client import MixpanelClient

        client = MixpanelClient.from_settings(
            self.settings, self.session, call_budget=self.call_budget(), priority=priority
        )
        track_mixpanel(client)  # its requests count in this run's log line (shared/runlog.py)
        return client

    def call_budget(self) -> CallBudget:
        """The project's Mixpanel calls: in the app's storage (AzureWebJobsStorage) when it
        has one, so every instance counts together; else in this process."""
        from shared.delivery.tables import storage_of
        from shared.sources.budget import (
            PROCESS_BUDGET_STORE,
            BudgetRules,
            BudgetStore,
            CallBudget,
            TableBudgetStore,
            scheduled_reserve,
        )
        from shared.sources.state_table import shared_state_table

        settings = self.settings
        store: BudgetStore = PROCESS_BUDGET_STORE
        storage = storage_of(settings)
        if storage is not None:
            store = TableBudgetStore(shared_state_table(storage))
        reserve = scheduled_reserve(
            self.ctx.config,
            today=utc_now().astimezone(settings.timezone).date(),
            alert_source=settings.alert_source,
        )
        rules = BudgetRules(
            reserve=reserve, report_hour=settings.report_hour, timezone=settings.timezone
        )
        return CallBudget(store, rules)

    def slack(self, report: str | None = None) -> ChartFallbackPoster[SlackMessage]:
        """The Slack destination, charts dropped if refused: the [[report]]'s own webhook when
        `report` is given, else the bot token and channel if set, else SLACK_WEBHOOK_URL."""
        from shared.delivery.chart_fallback import charted_poster

        if report and report not in self.webhooks:
            raise ConfigError([f"report {report!r} has no Slack destination (it is emailed only)"])
        webhook = self.webhooks[report] if report else None
        return charted_poster(self.settings, self.session, webhook=webhook)

    def email(self, recipients: tuple[Address, ...] | None = None) -> EmailRoute | None:
        """The email transport for `recipients` (default EMAIL_TO) and the renderer of its
        message; None when no email is set up."""
        from shared.delivery.email_client import SmtpEmail

        settings = self.settings.email
        chosen = settings.recipients if settings and recipients is None else recipients
        if settings is None or not chosen:
            return None
        return EmailRoute(
            SmtpEmail(settings, recipients=chosen),
            functools.partial(render_report_email, settings=settings, recipients=chosen),
        )

    def report_context(self, spec: ReportSpec) -> ReportContext:
        """The context of one [[report]]: its metrics (and their inputs) and its title."""
        config = self.ctx.config.report(spec.name)
        return replace(self.ctx, config=config, title=spec.title or spec.name, report=spec.name)

    def scheduled_reports(self, kind: PeriodKind) -> list[ScheduledReport]:
        """Every [[report]] of cadence `kind`, each with its own quiet days and destinations
        (its Slack webhook, its email_to through the SMTP settings, or both)."""
        if self.settings.email is not None and self.settings.email.recipients:
            log.warning("EMAIL_TO is not used with [[report]]s: give each report its email_to")
        base = schedule_rules(self.settings)
        return [
            ScheduledReport(
                name=spec.name,
                ctx=self.report_context(spec),
                rules=replace(
                    base,
                    daily_days=frozenset(range(7)) - spec.quiet_days,
                    skip_dates=spec.holidays,
                ),
                mixpanel=partial(self.mixpanel, Priority.SCHEDULED),
                slack=self.slack(spec.name) if spec.destination else None,
                email=self.email(spec.email_to) if spec.email_to else None,
            )
            for spec in self.ctx.config.reports
            if spec.cadence is kind
        ]

    def ledger(self) -> DeliveryLedger:
        """The delivery ledger in the app's own storage account: AzureWebJobsStorage's
        connection string, else AzureWebJobsStorage__accountName with the app's identity."""
        from shared.delivery.ledger import TableDeliveryLedger
        from shared.delivery.tables import storage_of

        storage = storage_of(self.settings)
        if storage is None:
            raise ConfigError(
                [
                    "AzureWebJobsStorage (or AzureWebJobsStorage__accountName in Azure) is "
                    "required for scheduled reports (UseDevelopmentStorage=true with Azurite "
                    "locally)"
                ]
            )
        return TableDeliveryLedger(storage, table_name=self.settings.delivery_table)

    def deliveries(self, ledger: DeliveryLedger, *, now: datetime, days: int) -> list[Delivery]:
        """The last `days` days of the ledger, destinations named by their settings."""
        from shared.slack_command.history import destination_names, recent_deliveries

        names = destination_names(self.settings, self.ctx.config.reports, self.webhooks)
        return recent_deliveries(ledger.history(), names=names, now=now, days=days)


def on_demand_ledger(app: App) -> DeliveryLedger:
    """The slash command's ledger: the app's, else (without storage, only ever local)
    CustomReport's in-process one."""
    return app.ledger() if app.settings.storage_connection else LOCAL_LEDGER


def answering(app: App, job: CommandJob, *, ledger: DeliveryLedger) -> Answering:
    """The slash command worker's ports: its report builder, history and response_url poster."""
    from shared.delivery.chart_fallback import PROCESS_CHART_MEMORY, ChartFallbackPoster
    from shared.slack_command.history import DEFAULT_DAYS
    from shared.slack_command.job import Answering, ResponseUrlPoster

    settings = app.settings

    def build(ask: ReportAsk) -> Report:
        ctx = app.ctx
        if ask.report is not None:
            spec = next(r for r in ctx.config.reports if r.name == ask.report)
            ctx = app.report_context(spec)
        where = f"{ctx.config.source}: report {ask.report!r}" if ask.report else "metrics file"
        return produce_report(
            ask.period, ctx, mixpanel=app.mixpanel(), now=utc_now(), events_field=where
        )

    def history() -> list[Delivery]:
        return app.deliveries(ledger, now=utc_now(), days=DEFAULT_DAYS)

    def poster(response_type: str) -> ChartFallbackPoster[SlackMessage]:
        return ChartFallbackPoster(
            ResponseUrlPoster(job.form.response_url, response_type, session=app.session),
            memory=PROCESS_CHART_MEMORY,
            mode=settings.slack_charts,
            retry_after=timedelta(days=settings.slack_charts_retry_days),
            clock=utc_now,
        )

    return Answering(
        ledger=ledger, config=app.ctx.config, build=build, history=history, poster=poster
    )


@dataclass(frozen=True, slots=True)
class Parse:
    """The one parse of a deployment's configuration: what parsed, and every problem."""

    settings: Settings  # each bad value left at its default: valid only without problems
    settings_ok: bool
    config: MetricsConfig | None
    webhooks: dict[str, Secret]
    problems: list[str]  # the settings', the destinations' and the metric keys'
    file_problems: list[str]  # the metrics file's (and the alerts file's)
    alerts: AlertsConfig | None = None  # when asked for and it parsed

    def valid(self) -> tuple[Settings, MetricsConfig, dict[str, Secret]]:
        """Settings, metrics config and webhooks; one ConfigError lists every problem (a
        MetricsFileError when they are all the metrics file's)."""
        if self.file_problems and not self.problems:
            raise MetricsFileError(self.file_problems)
        if self.problems or self.file_problems or not self.settings_ok or self.config is None:
            raise ConfigError(self.problems + self.file_problems)
        return self.settings, self.config, self.webhooks


def parse(
    environ: Mapping[str, str], config: MetricsConfig | None = None, *, alerts: bool = False
) -> Parse:
    """Env settings (with the email settings), the metrics file (unless `config` is given), the
    [[report]] destinations and, for the alert jobs (`alerts`), the alerts file, each parsed
    once; every problem collected, none raised."""
    settings, problems = Settings.parsed(environ)
    settings_ok = not problems
    path = (
        settings.metrics_file
        if settings_ok
        else Path(environ.get("METRICS_FILE", "").strip() or DEFAULT_METRICS_FILE)
    )
    file_problems: list[str] = []
    if config is None:
        try:
            config = load_metrics(path)
        except MetricsFileError as exc:
            file_problems = exc.problems
    webhooks: dict[str, Secret] = {}
    if config is not None:
        try:
            webhooks = resolve_destinations(config.reports, environ, source=config.source)
        except ConfigError as exc:
            problems += exc.problems
        if settings_ok:
            problems += _unknown_metric_keys(settings, config)
    alerts_config = None
    if alerts and config is not None:  # alert rules name metrics: no rules without them
        from shared.alerts.rules import load_alerts

        alerts_path = (
            settings.alerts_file
            if settings_ok
            else Path(environ.get("ALERTS_FILE", "").strip() or DEFAULT_ALERTS_FILE)
        )
        try:
            alerts_config = load_alerts(alerts_path, config, watch_events=settings.tracking_watch)
        except MetricsFileError as exc:
            file_problems += exc.problems
    return Parse(settings, settings_ok, config, webhooks, problems, file_problems, alerts_config)


def validated(
    environ: Mapping[str, str], config: MetricsConfig | None = None
) -> tuple[Settings, MetricsConfig, dict[str, Secret]]:
    """Settings, metrics config and [[report]] webhooks; one ConfigError lists every problem of
    all three (a MetricsFileError when they are all the metrics file's)."""
    return parse(environ, config).valid()


def _unknown_metric_keys(settings: Settings, config: MetricsConfig) -> list[str]:
    """MIXPANEL_INSIGHTS_REPORTS keys that name no metric (they would be silently unused)."""
    keys = [m.key for m in config.computed]
    problems = []
    for key, _ in settings.insights_reports:
        if key not in keys:
            close = difflib.get_close_matches(key, keys, n=3, cutoff=0.6)
            hint = f" (did you mean {', '.join(repr(c) for c in close)}?)" if close else ""
            problems.append(
                f"MIXPANEL_INSIGHTS_REPORTS names metric {key!r}, which {config.source} "
                f"does not define{hint}"
            )
    return problems


def context(settings: Settings, config: MetricsConfig) -> ReportContext:
    """The report context of a deployment."""
    return ReportContext(
        config=config,
        company=settings.company_name,
        timezone=settings.timezone,
        project_url=settings.project_url,
        active_user_events=settings.active_user_events,
        export_in_utc=settings.export_in_utc,
        sources=SourcePolicy(
            sizes=export_sizes(settings),
            mode=SourceMode(settings.mixpanel_source),
            export_max_events=settings.export_max_events,
            week_start=settings.week_start,
            insights_reports=settings.insights_reports,
        ),
    )


def export_sizes(settings: Settings) -> ExportSizes | None:
    """Export sizes in the app's storage behind this process's memory (None: memory only)."""
    from shared.delivery.tables import storage_of

    storage = storage_of(settings)
    if storage is None:
        return None
    from shared.sources.size_store import CachedSizes, TableSizes
    from shared.sources.state_table import shared_state_table

    return CachedSizes(TableSizes(shared_state_table(storage)))


def schedule_rules(settings: Settings) -> ScheduleRules:
    """The schedule settings as the pure scheduler's rules."""
    return ScheduleRules(
        timezone=settings.timezone,
        hour=settings.report_hour,
        daily_days=settings.daily_report_days,
        skip_dates=settings.daily_skip_dates,
        biweekly_anchor=settings.biweekly_anchor,
    )


class ExportHourly:
    """The export-source variant: hourly counts from one raw export (Raw Export API budget)."""

    def __init__(self, client: MixpanelClient, timezone: ZoneInfo, export_in_utc: bool) -> None:
        self._client = client
        self._timezone = timezone
        self._export_in_utc = export_in_utc

    def event_names(self, *, limit: int = 10_000) -> list[str]:
        """The project's event names (Query API, cached for an hour per instance)."""
        return self._client.event_names(limit=limit)

    def export_tally(
        self,
        new_sink: Callable[[], S],
        *,
        from_date: date,
        to_date: date,
        properties: Sequence[str],
        events: Sequence[str],
        max_events: int,
    ) -> S:
        """The raw export tallied into a sink (rules on export-derived metrics)."""
        return self._client.export_tally(
            new_sink,
            from_date=from_date,
            to_date=to_date,
            properties=properties,
            events=events,
            max_events=max_events,
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


def alert_context(app: App) -> AlertContext[SlackMessage]:
    """The alerts of a deployment: its alerts file (as parsed with the settings, else read now)
    over its metrics file."""
    from shared.alerts.check import AlertContext
    from shared.alerts.rules import load_alerts
    from shared.render.alert_message import render_alert, render_resolved

    settings = app.settings
    alerts = app.alerts
    if alerts is None:
        alerts = load_alerts(
            settings.alerts_file, app.ctx.config, watch_events=settings.tracking_watch
        )
    return AlertContext(
        alerts,
        app.ctx.config,
        settings.timezone,
        settings.company_name,
        render_alert,
        render_resolved,
        export_in_utc=settings.export_in_utc,
        export_max_events=settings.export_max_events,
    )


def environment() -> Mapping[str, str]:
    """The process environment: the one place a job's settings come from."""
    return os.environ


def notify_config_error(
    kind: PeriodKind,
    error: ConfigError,
    settings: Settings,
    now: datetime,
    past_due: bool,
    schedule_status: Mapping[str, object] | None,
) -> None:
    """Bad settings reach Slack at the report's own slot (not every fire), if the webhook works.

    `settings` is what the one parse made of them (Parse.settings): the slot and the webhook
    are read from there, a bad TIMEZONE or REPORT_HOUR left at its default."""
    import requests

    from shared.delivery.slack_client import SlackWebhook
    from shared.settings import is_http_url

    rules = ScheduleRules(settings.timezone, settings.report_hour)
    decision = decide(
        kind, scheduled_for=intended_time(schedule_status), now=now, past_due=past_due, rules=rules
    )
    if isinstance(decision, Skip):
        log.error("%s report: %s", kind, error)
        return
    if not is_http_url(settings.slack_webhook_url.reveal()):
        log.error("%s report: %s (and no usable SLACK_WEBHOOK_URL to say so)", kind, error)
        return
    with requests.Session() as session:
        notify_failure(
            SlackWebhook(settings.slack_webhook_url, session=session),
            report=str(kind),
            window=None,
            error=error,
            now=now,
        )
