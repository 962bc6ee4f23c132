"""Composition root: builds settings, HTTP session and clients from the environment.

The function folders call `run_timer` and `handle_custom_report` (shared/web/http_api.py); tests
skip this module and hand fakes to shared/pipeline.py instead.
"""

from __future__ import annotations

import difflib
import functools
import logging
import os
import re
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from shared.clock import utc_now
from shared.errors import ConfigError, MetricsFileError
from shared.pipeline import (
    Delivered,
    EmailRoute,
    ReportContext,
    ScheduledReport,
    notify_failure,
    render_report_email,
    run_reports,
    run_scheduled,
)
from shared.report.metrics import MetricsConfig, load_metrics
from shared.report.reports import ReportSpec, resolve_destinations
from shared.runlog import logged_run, timer_outcome, track_mixpanel
from shared.schedule.periods import PeriodKind
from shared.schedule.slots import ScheduleRules, Skip, decide, intended_time
from shared.settings import DEFAULT_METRICS_FILE, Secret, Settings
from shared.sources.budget import Priority
from shared.sources.gathering import SourceMode, SourcePolicy

if TYPE_CHECKING:
    from email.headerregistry import Address

    import requests

    from shared.delivery.chart_fallback import ChartFallbackPoster
    from shared.delivery.ledger import DeliveryLedger
    from shared.sources.budget import CallBudget
    from shared.sources.mixpanel_client import MixpanelClient
    from shared.sources.size_store import ExportSizes

log = logging.getLogger("analytics_reporter")
USER_AGENT = "analytics-reporter/0.1 (+Azure Functions; Mixpanel to Slack)"


@dataclass(frozen=True, slots=True)
class App:
    """Everything one invocation needs, built from one environment."""

    settings: Settings
    ctx: ReportContext
    session: requests.Session
    webhooks: Mapping[str, Secret] = field(default_factory=dict)  # per [[report]] name

    @classmethod
    def from_environ(cls, environ: Mapping[str, str], config: MetricsConfig | None = None) -> App:
        """Parse settings and the metrics file; raises ConfigError listing every problem.

        Everything that can be checked without Mixpanel is checked here, before any report
        runs: the settings, the metrics file (every [[report]]'s metrics), each report's
        destination and email settings, and the metric keys settings name.
        """
        import requests  # imported here, not at module top: keeps cold starts fast

        settings, config, webhooks = validated(environ, config)
        session = requests.Session()
        session.headers["User-Agent"] = USER_AGENT
        return cls(settings, context(settings, config), session, webhooks)

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

    def slack(self, report: str | None = None) -> ChartFallbackPoster:
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


def validated(
    environ: Mapping[str, str], config: MetricsConfig | None = None
) -> tuple[Settings, MetricsConfig, dict[str, Secret]]:
    """Settings, metrics config and [[report]] webhooks; one ConfigError lists every problem of
    all three (a MetricsFileError when they are all the metrics file's)."""
    problems: list[str] = []
    settings: Settings | None = None
    try:
        settings = Settings.from_env(environ)
    except ConfigError as exc:
        problems += exc.problems
    path = (
        settings.metrics_file
        if settings is not None
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
        if settings is not None:
            problems += _unknown_metric_keys(settings, config)
    if file_problems and not problems:
        raise MetricsFileError(file_problems)
    if problems or file_problems or settings is None or config is None:
        raise ConfigError(problems + file_problems)
    return settings, config, webhooks


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


# The timer function of each cadence, for the run line when the host's context does not say.
TIMER_FUNCTIONS = {
    PeriodKind.DAILY: "DailyReport",
    PeriodKind.WEEKLY: "WeeklyReport",
    PeriodKind.BIWEEKLY: "BiWeeklyReport",
    PeriodKind.MONTHLY: "MonthlyReport",
}


def function_name(context: object, default: str) -> str:
    """The invoked function's name from the host's Context, else `default`."""
    name = getattr(context, "function_name", None)
    return name if isinstance(name, str) and name else default


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
    environ = os.environ if environ is None else environ
    now = now or utc_now()
    past_due = bool(getattr(timer, "past_due", False))
    status = getattr(timer, "schedule_status", None)
    schedule_status = status if isinstance(status, Mapping) else None
    try:
        app = App.from_environ(environ)
        if kind is PeriodKind.MONTHLY and not app.ctx.config.reports:
            # The single report of the settings has no monthly post, as before [[report]]s.
            log.info("monthly report: none configured (add a [[report]] with cadence monthly)")
            app.session.close()
            return None
        ledger = app.ledger()
    except ConfigError as exc:
        _notify_config_error(kind, exc, environ, now, past_due, schedule_status)
        raise
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


def will_retry(context: object) -> bool | None:
    """Whether the host runs this invocation again if it fails (None when it does not say)."""
    retry = getattr(context, "retry_context", None)
    count, most = getattr(retry, "retry_count", None), getattr(retry, "max_retry_count", None)
    if not isinstance(count, int) or not isinstance(most, int):
        return None
    return count < most


def _notify_config_error(
    kind: PeriodKind,
    error: ConfigError,
    environ: Mapping[str, str],
    now: datetime,
    past_due: bool,
    schedule_status: Mapping[str, object] | None,
) -> None:
    """Bad settings reach Slack at the report's own slot (not every fire), if the webhook works."""
    import requests

    from shared.delivery.slack_client import SlackWebhook
    from shared.settings import Secret, is_http_url

    try:
        zone = ZoneInfo(environ.get("TIMEZONE", "").strip() or "Europe/London")
    except (ValueError, OSError, ZoneInfoNotFoundError):
        zone = ZoneInfo("Europe/London")
    hour = environ.get("REPORT_HOUR", "").strip()
    # ASCII digits only: '²'.isdigit() is True and int('²') would raise inside the error path.
    rules = ScheduleRules(
        zone, int(hour) if re.fullmatch(r"[0-9]{1,2}", hour) and int(hour) < 24 else 9
    )
    decision = decide(
        kind, scheduled_for=intended_time(schedule_status), now=now, past_due=past_due, rules=rules
    )
    if isinstance(decision, Skip):
        log.error("%s report: %s", kind, error)
        return
    url = environ.get("SLACK_WEBHOOK_URL", "").strip()
    if not is_http_url(url):
        log.error("%s report: %s (and no usable SLACK_WEBHOOK_URL to say so)", kind, error)
        return
    with requests.Session() as session:
        notify_failure(
            SlackWebhook(Secret(url), session=session),
            report=str(kind),
            window=None,
            error=error,
            now=now,
        )
