"""The report pipeline, the one shell: gather from Mixpanel, decide (pure), apply to Slack."""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import datetime
from typing import Protocol
from zoneinfo import ZoneInfo

from shared.delivery.ledger import DeliveryKey, DeliveryLedger
from shared.errors import (
    LedgerError,
    ReporterError,
    SlackError,
)
from shared.render.slack_message import SlackMessage, render_failure, render_message
from shared.report.generator import Facts, Report, Unavailable, build_report
from shared.report.metrics import Measure, MetricsConfig, unknown_events
from shared.schedule.periods import PeriodKind, ReportPeriod, Window
from shared.schedule.slots import Run, ScheduleRules, Skip, decide
from shared.sources.gathering import GatherRequest, SourcePolicy, gather_facts
from shared.sources.port import EventSource

log = logging.getLogger("analytics_reporter")
__all__ = ["EventSource", "MessagePoster", "ReportContext", "gather", "produce_report"]


class MessagePoster(Protocol):
    """Where the message goes (SlackWebhook, or a fake in tests)."""

    @property
    def destination(self) -> str: ...

    def post(self, message: SlackMessage) -> None: ...


@dataclass(frozen=True, slots=True)
class ReportContext:
    """What every report of this deployment shares: its metrics, names and clock zone."""

    config: MetricsConfig
    company: str
    timezone: ZoneInfo
    project_url: str
    active_user_events: tuple[str, ...] | None = None
    export_in_utc: bool = True
    sources: SourcePolicy = field(default_factory=SourcePolicy)


def produce_report(
    period: ReportPeriod,
    ctx: ReportContext,
    *,
    mixpanel: EventSource,
    now: datetime,
    notes: tuple[str, ...] = (),
    events_field: str = "metrics file",
) -> Report:
    """Gather the facts for `period` (a few Mixpanel requests) and build the report."""
    facts = gather(period, ctx, mixpanel=mixpanel, now=now)  # gather
    if isinstance(facts.event_names, Unavailable):  # decide
        notes += (
            f"The event names in the {events_field} could not be checked against the project "
            f"({facts.event_names.reason}): a misspelt event would show as 0.",
        )
    else:
        problem = unknown_events(ctx.config.named_events, facts.event_names, where=events_field)
        if problem and facts.source == "export":  # the export only knows this span's events
            notes += (f"No events in this window for {str(problem).split(': ', 1)[1]}.",)
        elif problem:
            raise problem
    return build_report(
        ctx.config,
        period,
        facts,
        company=ctx.company,
        timezone=ctx.timezone.key,
        project_url=ctx.project_url,
        notes=notes,
    )


def gather(
    period: ReportPeriod, ctx: ReportContext, *, mixpanel: EventSource, now: datetime
) -> Facts:
    """The facts for `period` from the source MIXPANEL_SOURCE picks (shared/sources/gathering).

    A part that fails becomes Unavailable (shown as such, never as 0); when nothing at all
    could be read, or the credentials are wrong, the error is raised instead.
    """
    groups = {
        m.key: (None if m.any_event else frozenset(m.events))
        for m in ctx.config.metrics
        if m.measure is Measure.UNIQUE
    }
    request = GatherRequest(
        period=period,
        timezone=ctx.timezone,
        groups=groups,
        named_events=tuple(ctx.config.named_events),
        now=now,
        active_user_events=ctx.active_user_events,
        export_in_utc=ctx.export_in_utc,
    )
    return gather_facts(request, mixpanel, ctx.sources)


@dataclass(frozen=True, slots=True)
class Delivered:
    """The scheduled report was posted (or was already posted by another run)."""

    key: DeliveryKey
    report: Report | None
    posted: bool


def run_scheduled(
    kind: PeriodKind,
    ctx: ReportContext,
    rules: ScheduleRules,
    *,
    scheduled_for: datetime | None,
    past_due: bool,
    now: datetime,
    mixpanel: EventSource,
    slack: MessagePoster,
    ledger: DeliveryLedger,
    will_retry: bool | None = None,
) -> Delivered | Skip:
    """One timer fire: decide if it is due, claim the delivery, gather, build, post, record.

    Each (report, window, destination) is posted at most once; a failure is recorded, reported
    to Slack as a short notice, and raised so the host records the failed run (and retries it).
    """
    decision: Run | Skip = decide(
        kind, scheduled_for=scheduled_for, now=now, past_due=past_due, rules=rules
    )
    if isinstance(decision, Skip):
        log.info("%s report: %s", kind, decision.reason)
        return decision
    window = decision.period.current
    key = DeliveryKey(str(kind), window.start, window.end, slack.destination)
    try:
        claim = ledger.claim(key, now=now)
    except LedgerError as exc:  # cannot promise "once": post nothing but say so
        notify_failure(
            slack, report=str(kind), window=window, error=exc, now=now, will_retry=will_retry
        )
        raise
    if claim is None:
        log.info("%s report for %s: already delivered or being delivered", kind, window.label())
        return Delivered(key, None, posted=False)
    try:
        report = produce_report(
            decision.period, ctx, mixpanel=mixpanel, now=now, notes=decision.notes
        )
        message = render_message(report)
    except Exception as exc:
        ledger.mark_failed(claim, now=now, detail=_one_line(exc))
        notify_failure(
            slack, report=str(kind), window=window, error=exc, now=now, will_retry=will_retry
        )
        raise
    try:
        slack.post(message)
    except SlackError as exc:
        if exc.maybe_posted:  # never risk a second copy: record it, and say so loudly
            ledger.mark_sent(claim, now=now, detail=f"uncertain: {_one_line(exc)}")
        else:
            ledger.mark_failed(claim, now=now, detail=_one_line(exc))
        raise
    ledger.mark_sent(claim, now=now, detail=_summary(report))
    log.info("%s report for %s posted", kind, window.label())
    return Delivered(key, report, posted=True)


def notify_failure(
    slack: MessagePoster,
    *,
    report: str,
    window: Window | None,
    error: BaseException,
    now: datetime,
    will_retry: bool | None = None,
) -> bool:
    """Post a short failure notice; if even that fails, log it. True when it was posted."""
    notice = render_failure(
        report=report, window=window, error=_one_line(error), when=now, will_retry=will_retry
    )
    try:
        slack.post(notice)
    except SlackError as exc:
        log.error("could not post the failure notice for the %s report: %s", report, exc)
        return False
    return True


def _one_line(error: BaseException) -> str:
    if isinstance(error, ReporterError):
        text = str(error)
    else:  # a bug: name it without dumping internals into Slack
        text = f"internal error ({type(error).__name__}); see the function logs"
    return " ".join(text.split())[:500]


def _summary(report: Report) -> str:
    figures = ", ".join(
        f"{m.spec.label}={'n/a' if m.value is None else m.value}" for m in report.metrics
    )
    return f"{report.period.kind} {report.period.current.label()}: {figures}"
