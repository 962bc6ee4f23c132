"""The report pipeline, the one shell: gather from Mixpanel, decide (pure), apply to Slack."""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from email.headerregistry import Address
from email.message import EmailMessage
from typing import Any
from zoneinfo import ZoneInfo

from shared.addresses import fingerprint
from shared.delivery.breach import Outcome
from shared.delivery.ledger import DeliveryKey, DeliveryLedger, DeliveryRecord, DeliveryStatus
from shared.delivery.once import Held, failure_detail, hold
from shared.delivery.port import Poster
from shared.delivery.streaks import failure_once, recovered
from shared.email_settings import EmailSettings
from shared.errors import (
    DeliveryError,
    EmailError,
    LedgerError,
    MixpanelError,
    ReportsFailed,
    SlackError,
    UnknownPropertiesError,
)
from shared.render.slack import SlackMessage, render_failure, render_message, render_recovered
from shared.report.facts import Facts, Unavailable, is_automatic
from shared.report.figures import Figures, FigureTally, unknown_properties
from shared.report.generator import Report, build_report
from shared.report.metrics import Measure, MetricsConfig, unknown_events
from shared.report.trends import trend_windows
from shared.schedule.periods import PeriodKind, ReportPeriod, Window, month_to_date
from shared.schedule.slots import Run, ScheduleRules, Skip, decide
from shared.schedule.slots import catch_up as catch_up_decision
from shared.settings import DEFAULT_CATCH_UP_HOURS
from shared.sources.gathering import FigurePlan, GatherRequest, SourcePolicy, gather_facts
from shared.sources.port import EventSource, PropertySampler

log = logging.getLogger("analytics_reporter")
MAX_LATE_REASON_CHARS = 200
__all__ = ["EventSource", "MessagePoster", "ReportContext", "gather", "produce_report"]


MessagePoster = Poster[SlackMessage]  # the Slack side (SlackWebhook, the chart fallback, a fake)


@dataclass(frozen=True, slots=True)
class EmailRoute:
    """The email side: the transport (SmtpEmail, or a fake) and how a report becomes its message.

    The transport only sends; the message is rendered here, in the shell (render_report_email).
    Delivered exactly like the Slack side: claimed per (report, window, destination), rendered
    (pure), posted, marked; a failure raises EmailError.
    """

    poster: Poster[Any]
    render: Callable[[Report], Any]

    @property
    def destination(self) -> str:
        """The transport's fingerprint of its recipient list."""
        return self.poster.destination


def render_report_email(
    report: Report, *, settings: EmailSettings, recipients: tuple[Address, ...]
) -> EmailMessage:
    """The report's email for `recipients`, with the PDF copy when EMAIL_PDF is on (pure)."""
    from shared.render.email_message import render_email

    pdf = None
    if settings.pdf:
        from shared.render.email_pdf import render_pdf

        pdf = render_pdf(report)
    return render_email(
        report,
        sender=settings.sender,
        recipients=recipients,
        destination=fingerprint(recipients),
        pdf=pdf,
    )


@dataclass(frozen=True, slots=True)
class ReportContext:
    """What every report of this deployment shares: its metrics, names and clock zone."""

    config: MetricsConfig
    company: str
    timezone: ZoneInfo
    project_url: str
    active_user_events: tuple[str, ...] | None = None
    export_in_utc: bool = True
    title: str = ""  # a named report's title; its metrics are `config`
    sources: SourcePolicy = field(default_factory=SourcePolicy)
    report: str | None = None  # a [[report]]'s name, so its errors name the file and the report

    @property
    def where(self) -> str:
        """Where this report's metrics are configured: the file and the [[report]] (a single
        report's file is the one METRICS_FILE names, so "metrics file" says enough)."""
        return f"{self.config.source}: report {self.report!r}" if self.report else "metrics file"


def produce_report(
    period: ReportPeriod,
    ctx: ReportContext,
    *,
    mixpanel: EventSource,
    now: datetime,
    notes: tuple[str, ...] = (),
    events_field: str | None = None,
) -> Report:
    """Gather the facts for `period` (a few Mixpanel requests) and build the report.

    Unknown events and properties are named with `events_field` (default: the metrics file
    and the [[report]], `ctx.where`).
    """
    events_field = events_field or ctx.where
    facts = gather(period, ctx, mixpanel=mixpanel, now=now)  # gather
    if isinstance(facts.event_names, Unavailable):  # decide
        notes += (
            f"The event names in the {events_field} could not be checked against the project "
            f"({facts.event_names.reason}): a misspelt event would show as 0.",
        )
    else:
        problem = unknown_events(ctx.config.named_events, facts.event_names, where=events_field)
        if problem and ctx.title:  # a named report: say which of its metrics use the names
            users = [m.key for m in ctx.config.computed if set(m.events) & set(problem.suggestions)]
            where = f"{events_field}, metric {', '.join(repr(k) for k in users)}"
            problem = unknown_events(ctx.config.named_events, facts.event_names, where=where)
        if problem and facts.source == "export":  # the export only knows this span's events
            notes += (f"No events in this window for {str(problem).split(': ', 1)[1]}.",)
        elif problem:
            raise problem
    if isinstance(facts.figures, Figures):
        problems, unchecked = unknown_properties(
            ctx.config.computed, facts.figures, where=events_field
        )
        if problems:
            raise UnknownPropertiesError(
                _with_suggestions(problems, ctx, facts.figures, period, mixpanel, events_field)
            )
        notes += tuple(unchecked)
    return build_report(
        ctx.config,
        period,
        facts,
        company=ctx.company,
        timezone=ctx.timezone.key,
        project_url=ctx.project_url,
        notes=notes,
        title=ctx.title,
    )


def _with_suggestions(
    problems: list[str],
    ctx: ReportContext,
    figures: Figures,
    period: ReportPeriod,
    mixpanel: EventSource,
    where: str,
) -> list[str]:
    """The property problems again, with did-you-mean from a small sample of whole events.

    The export's decoder keeps only the properties metrics read, so the names a typo should be
    compared with come from one small export of the metrics' events (this error path only).
    """
    if not isinstance(mixpanel, PropertySampler):
        return problems
    events = sorted({e for m in ctx.config.computed if m.property_names for e in m.events})
    try:
        sampled = mixpanel.property_names(
            [e for e in events if e != "*"] or events,
            from_date=period.span.start,
            to_date=period.span.end,
        )
    except MixpanelError as exc:
        log.warning("could not sample property names for suggestions: %s", exc)
        return problems
    keys = {
        e: figures.property_keys.get(e, frozenset()) | sampled.get(e, frozenset())
        for e in set(figures.property_keys) | set(sampled)
    }
    again, _ = unknown_properties(
        ctx.config.computed, replace(figures, property_keys=keys), where=where
    )
    return again or problems


def gather(
    period: ReportPeriod, ctx: ReportContext, *, mixpanel: EventSource, now: datetime
) -> Facts:
    """The facts for `period` from the source MIXPANEL_SOURCE picks (shared/sources/gathering).

    A part that fails becomes Unavailable (shown as such, never as 0); when nothing at all
    could be read, or the credentials are wrong, the error is raised instead.
    """
    groups = {
        m.key: (None if m.any_event else frozenset(m.events))
        for m in ctx.config.computed
        if m.measure is Measure.UNIQUE and not m.from_export
    }
    # Filters, sums, averages, breakdowns and month to date come from the same export stream.
    exported = tuple(m for m in ctx.config.computed if m.from_export)
    # The trend's day and span windows too: distinct users per day cannot be summed.
    windows = period.windows + trend_windows(period)
    if period.kind is PeriodKind.DAILY and any(m.month_to_date for m in exported):
        windows += tuple(c.window for c in month_to_date(period.current.end))
    chosen = frozenset(ctx.active_user_events or ())
    qualifying: Callable[[str], bool] = (
        chosen.__contains__ if chosen else (lambda e: not is_automatic(e))
    )
    figures: FigurePlan | None = None
    if exported:
        figure_events = (
            None
            if any(m.any_event for m in exported)
            else frozenset(e for m in exported for e in m.events)
        )
        figures = FigurePlan(
            lambda: FigureTally(exported, windows, qualifying=qualifying), events=figure_events
        )
    request = GatherRequest(
        period=period,
        timezone=ctx.timezone,
        groups=groups,
        named_events=tuple(ctx.config.named_events),
        now=now,
        active_user_events=ctx.active_user_events,
        export_in_utc=ctx.export_in_utc,
        windows=tuple(dict.fromkeys(windows)),
        figures=figures,
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
    slack: MessagePoster | None,
    ledger: DeliveryLedger,
    will_retry: bool | None = None,
    email: EmailRoute | None = None,
    name: str | None = None,
    catch_up: timedelta = timedelta(hours=DEFAULT_CATCH_UP_HOURS),
) -> Delivered | Skip:
    """One timer fire: decide if it is due, claim the delivery, gather, build, post, record.

    Each (report, window, destination) is posted at most once: Slack and, when given, the email
    to its recipient list are claimed separately, so one failing never resends the other. A
    failure is recorded, reported to Slack as a short notice (logged when there is no Slack),
    and raised so the host records the failed run (and retries it). `name` is a [[report]]'s
    name (None: the single report of the settings, keyed by `kind`).
    """
    decision: Run | Skip = decide(
        kind, scheduled_for=scheduled_for, now=now, past_due=past_due, rules=rules
    )
    shown = f"{ctx.title or name} {kind}" if name else str(kind)
    report_key = f"report:{name}" if name else str(kind)
    destinations = {p.destination for p in (slack, email) if p is not None}
    if isinstance(decision, Skip):  # not a slot: is an earlier slot's delivery unfinished?
        late = _unfinished(kind, rules, ledger, report_key, destinations, now, catch_up)
        if late is None:
            log.info("%s report: %s", shown, decision.reason)
            return decision
        decision, record = late
        decision = replace(decision, notes=(*decision.notes, late_note(record, decision, now)))
        log.warning("%s report for %s: catching up (%s)", shown, record.key.start, record.failure)
    if slack is None and email is None:
        raise ValueError("a scheduled report needs a Slack or an email destination")
    window = decision.period.current
    keys = [
        DeliveryKey(report_key, window.start, window.end, poster.destination)
        for poster in (slack, email)
        if poster is not None
    ]
    claims: list[Held] = []
    try:
        for key in keys:
            held = hold(ledger, key, now=now)
            if held is not None:
                claims.append(held)
    except LedgerError as exc:  # cannot promise "once": post nothing but say so
        for held in claims:
            held.release(now=now, detail=one_line(exc))
        notify_failure(
            slack, report=shown, window=window, error=exc, now=now, will_retry=will_retry
        )
        raise
    if not claims:
        log.info("%s report for %s: already delivered or being delivered", shown, window.label())
        return Delivered(keys[0], None, posted=False)
    try:
        report = produce_report(
            decision.period,
            ctx,
            mixpanel=mixpanel,
            now=now,
            notes=decision.notes,
            events_field=f"{ctx.config.source}: report {name!r}" if name else None,
        )
        sends = [(held, _prepare(held.key, report, slack, email)) for held in claims]
    except Exception as exc:
        for held in claims:
            held.release(now=now, detail=one_line(exc))
        notify_failure(
            slack,
            report=shown,
            window=window,
            error=exc,
            now=now,
            will_retry=will_retry,
            ledger=ledger,
        )
        raise
    failure: DeliveryError | None = None
    try:
        for held, (poster, message) in sends:
            try:
                held.post(poster, message, now=now, detail=_summary(report))
            except DeliveryError as exc:
                if isinstance(exc, EmailError):  # Slack hears of a failed email (or it is logged)
                    notify_failure(
                        slack,
                        report=f"{shown} email",
                        window=window,
                        error=exc,
                        now=now,
                        will_retry=will_retry,
                        ledger=ledger,
                    )
                failure = failure or exc
                continue
            log.info("%s report for %s posted to %s", shown, window.label(), held.key.destination)
    finally:  # a bug in one post never leaves the other claims hanging
        for held, _ in sends:
            held.release(now=now, detail="not posted: an earlier post of this run failed")
    if failure is not None:
        raise failure
    if slack is not None:  # ends a failure streak, if any
        recovered(ledger, slack, report=shown, now=now, line=lambda: render_recovered(shown, now))
    return Delivered(claims[0].key, report, posted=True)


def _unfinished(
    kind: PeriodKind,
    rules: ScheduleRules,
    ledger: DeliveryLedger,
    report_key: str,
    destinations: set[str],
    now: datetime,
    horizon: timedelta,
) -> tuple[Run, DeliveryRecord] | None:
    """The slot to complete and its earliest failed delivery, when this fire should catch up.

    Pure first (shared/schedule/slots.py catch_up), then one ledger read: only a delivery of
    that slot's window whose attempt failed is completed; a sent or never-tried one is not.
    """
    caught = catch_up_decision(kind, now=now, rules=rules, horizon=horizon)
    if isinstance(caught, Skip):
        return None
    window = caught.period.current
    try:
        rows = ledger.history(report=report_key)
    except LedgerError as exc:  # the next fire reads it again
        log.warning("%s report: catch-up not checked: %s", kind, exc)
        return None
    failed = [
        r
        for r in rows
        if (r.key.start, r.key.end) == (window.start, window.end)
        and r.key.destination in destinations
        and r.status is DeliveryStatus.FAILED
    ]
    if not failed:
        return None
    return caught, min(failed, key=lambda r: r.first_attempt_at or r.claimed_at)


def late_note(record: DeliveryRecord, run: Run, now: datetime) -> str:
    """The line a late post carries: when it was due, when it posted, since when and why."""
    zone = run.slot.tzinfo
    first = (record.first_attempt_at or record.claimed_at).astimezone(zone)
    reason = " ".join(record.failure.split()).rstrip(".")[:MAX_LATE_REASON_CHARS]
    return (
        f"Posted late, at {now.astimezone(zone):%H:%M} instead of {run.slot:%H:%M %Z}; "
        f"delayed since {first:%H:%M}: {reason or 'the first attempt failed'}."
    )


def _prepare(
    key: DeliveryKey, report: Report, slack: MessagePoster | None, email: EmailRoute | None
) -> tuple[Poster[Any], Any]:
    """The poster of the claimed destination and its message, rendered now (pure)."""
    if slack is not None and key.destination == slack.destination:
        return slack, render_message(report)
    if email is None or key.destination != email.destination:
        raise ValueError(f"no poster for the claimed destination {key.destination}")
    return email.poster, email.render(report)


@dataclass(frozen=True, slots=True)
class ScheduledReport:
    """One [[report]] of a timer's cadence: its name, context, schedule, client and destination."""

    name: str
    ctx: ReportContext
    rules: ScheduleRules
    mixpanel: Callable[[], EventSource]  # a fresh client per report: its own time budget
    slack: MessagePoster | None
    email: EmailRoute | None = None


def run_reports(
    kind: PeriodKind,
    reports: Sequence[ScheduledReport],
    *,
    scheduled_for: datetime | None,
    past_due: bool,
    now: datetime,
    ledger: DeliveryLedger,
    will_retry: bool | None = None,
    catch_up: timedelta = timedelta(hours=DEFAULT_CATCH_UP_HOURS),
) -> list[Delivered | Skip]:
    """One timer fire over every report of its cadence: each due one posted once.

    A report that fails has posted its own failure notice; the others still run, and then
    ReportsFailed names every failed one so the host records (and retries) the run.
    """
    results: list[Delivered | Skip] = []
    failed: list[tuple[str, BaseException]] = []
    for job in reports:
        try:
            results.append(
                run_scheduled(
                    kind,
                    job.ctx,
                    job.rules,
                    scheduled_for=scheduled_for,
                    past_due=past_due,
                    now=now,
                    mixpanel=job.mixpanel(),
                    slack=job.slack,
                    ledger=ledger,
                    will_retry=will_retry,
                    email=job.email,
                    name=job.name,
                    catch_up=catch_up,
                )
            )
        except Exception as exc:  # noqa: BLE001 - one broken report never stops the others
            log.error("report %r failed: %s", job.name, one_line(exc))
            failed.append((job.name, exc))
    if failed:
        raise ReportsFailed([f"{name}: {one_line(exc)}" for name, exc in failed])
    return results


def notify_failure(
    slack: MessagePoster | None,
    *,
    report: str,
    window: Window | None,
    error: BaseException,
    now: datetime,
    will_retry: bool | None = None,
    ledger: DeliveryLedger | None = None,
    post_when_streak_unknown: bool = True,
) -> bool:
    """Post a short failure notice; if even that fails, log it. True when it was posted.

    The one failure notice of every job (reports, emails, alerts, bad settings). With a ledger,
    only the first failure of a streak posts (shared/delivery/streaks.py); when the ledger
    cannot say, the notice is posted anyway, or only logged with `post_when_streak_unknown`
    False (the hourly alert check, which would otherwise post it every hour).
    """
    notice = render_failure(
        report=report, window=window, error=one_line(error), when=now, will_retry=will_retry
    )
    if slack is None:
        log.error("%s failed (no Slack destination for the notice): %s", report, notice.text)
        return False
    try:
        if ledger is not None:
            try:
                return (
                    failure_once(ledger, slack, report=report, now=now, notice=lambda: notice)
                    is Outcome.OPENED
                )
            except LedgerError as exc:  # cannot tell the streak: say it rather than stay silent
                if not post_when_streak_unknown:
                    log.error("%s failed and its failure streak is unknown: %s", report, exc)
                    return False
                log.warning("failure streak unknown (%s); posting the notice", exc)
        slack.post(notice)
    except SlackError as exc:
        log.error("could not post the failure notice for the %s report: %s", report, exc)
        return False
    return True


def one_line(error: BaseException) -> str:
    """One line naming a failure, for notices and ledger rows (shared/delivery/once.py)."""
    return failure_detail(error)


def _summary(report: Report) -> str:
    figures = ", ".join(
        f"{m.spec.label}={'n/a' if m.value is None else m.value}" for m in report.metrics
    )
    return f"{report.period.kind} {report.period.current.label()}: {figures}"
