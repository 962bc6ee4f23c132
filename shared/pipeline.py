"""The report pipeline, the one shell: gather from Mixpanel, decide (pure), apply to Slack."""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any, Protocol, TypeVar
from zoneinfo import ZoneInfo

from shared.alerts.breach import Outcome
from shared.alerts.streaks import failure_once, recovered
from shared.delivery.ledger import Claim, DeliveryKey, DeliveryLedger
from shared.errors import (
    EmailError,
    LedgerError,
    MixpanelAuthError,
    MixpanelError,
    MixpanelRateLimited,
    ReporterError,
    SlackError,
)
from shared.render.slack_message import SlackMessage, render_failure, render_message
from shared.report.generator import Facts, Report, Unavailable, build_report
from shared.report.metrics import Measure, MetricsConfig, unknown_events
from shared.report.trends import trend_windows
from shared.schedule.periods import PeriodKind, ReportPeriod, Window
from shared.schedule.slots import Run, ScheduleRules, Skip, decide
from shared.sources.uniques import UniqueCounts, UniqueTally, is_automatic

log = logging.getLogger("analytics_reporter")
T = TypeVar("T")
NAMES_WINDOW_DAYS = 31  # /events/names answers for the last 31 days


class EventSource(Protocol):
    """Where the numbers come from (MixpanelClient, or a fake in tests)."""

    def event_names(self, *, limit: int = ...) -> list[str]: ...

    def daily_counts(self, events: Sequence[str], window: Window) -> dict[str, dict[date, int]]: ...

    def unique_users(
        self,
        new_tally: Callable[[], UniqueTally],
        *,
        from_date: date,
        to_date: date,
        events: Sequence[str] | None = ...,
    ) -> UniqueCounts: ...


class MessagePoster(Protocol):
    """Where the message goes (SlackWebhook, or a fake in tests)."""

    @property
    def destination(self) -> str: ...

    def post(self, message: SlackMessage) -> None: ...


class ReportPoster(Protocol):
    """A destination that renders the report its own way (SmtpEmail, or a fake in tests).

    Wrapped by the ledger exactly like the Slack poster: claimed per (report, window,
    destination), rendered (pure), posted, marked; a failure raises EmailError.
    """

    @property
    def destination(self) -> str: ...

    def render(self, report: Report) -> Any: ...

    def post(self, message: Any) -> None: ...


@dataclass(frozen=True, slots=True)
class ReportContext:
    """What every report of this deployment shares: its metrics, names and clock zone."""

    config: MetricsConfig
    company: str
    timezone: ZoneInfo
    project_url: str
    active_user_events: tuple[str, ...] | None = None
    export_in_utc: bool = True


def produce_report(
    period: ReportPeriod,
    ctx: ReportContext,
    *,
    mixpanel: EventSource,
    now: datetime,
    notes: tuple[str, ...] = (),
    events_field: str = "metrics file",
) -> Report:
    """Gather the facts for `period` (at most 3 Mixpanel requests) and build the report."""
    facts = gather(period, ctx, mixpanel=mixpanel, now=now)  # gather
    if isinstance(facts.event_names, Unavailable):  # decide
        notes += (
            f"The event names in the {events_field} could not be checked against the project "
            f"({facts.event_names.reason}): a misspelt event would show as 0.",
        )
    else:
        problem = unknown_events(ctx.config.named_events, facts.event_names, where=events_field)
        if problem:
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
    """Round 1: event names and the uniques export, concurrently. Round 2: every count at once.

    A part that fails becomes Unavailable (shown as such, never as 0); when nothing at all
    could be read, or the credentials are wrong, the error is raised instead.
    """
    span = period.span
    groups = {
        m.key: (None if m.any_event else frozenset(m.events))
        for m in ctx.config.metrics
        if m.measure is Measure.UNIQUE
    }
    chosen = frozenset(ctx.active_user_events or ())
    qualifying: Callable[[str], bool] = (
        chosen.__contains__ if chosen else (lambda e: not is_automatic(e))
    )

    # /events/names lists the last 31 days: when that covers the span, the counts call need
    # not wait for the export, so the report takes two round trips instead of three.
    today = now.astimezone(ctx.timezone).date()
    names_cover_span = span.start >= today - timedelta(days=NAMES_WINDOW_DAYS - 2)
    # The export may be narrowed to the events that define uniques only while the names list
    # already knows every event of the span; otherwise it must also reveal the older events.
    export_filter: list[str] | None = None
    if names_cover_span and (
        all(members is not None for members in groups.values()) or ctx.active_user_events
    ):
        narrowed = {e for members in groups.values() if members for e in members}
        export_filter = sorted(narrowed | chosen)

    def export() -> UniqueCounts:
        if ctx.export_in_utc:  # the export's dates are UTC: widen, then filter by local day
            first = span.start - timedelta(days=1)
            last = min(span.end + timedelta(days=1), now.astimezone(ZoneInfo("UTC")).date())
        else:
            first, last = span.start, span.end
        return mixpanel.unique_users(
            lambda: UniqueTally(
                # The trend's day and span windows too: distinct users per day cannot be summed.
                period.windows + trend_windows(period),
                groups,
                timezone=ctx.timezone,
                qualifying=qualifying,
            ),
            from_date=first,
            to_date=last,
            events=export_filter,
        )

    def counts_of(
        names: frozenset[str] | MixpanelError, seen: frozenset[str]
    ) -> dict[str, dict[date, int]] | MixpanelError:
        everything = set(ctx.config.named_events) | seen
        if not isinstance(names, MixpanelError):
            everything |= names
        return _attempt(lambda: mixpanel.daily_counts(sorted(everything), span))

    with ThreadPoolExecutor(max_workers=3) as pool:
        names_job = pool.submit(_attempt, lambda: frozenset(mixpanel.event_names()))
        uniques_job = pool.submit(_attempt, export) if groups or not names_cover_span else None
        names = names_job.result()
        early = (
            pool.submit(counts_of, names, frozenset())
            if names_cover_span and not isinstance(names, MixpanelError)
            else None
        )
        uniques: UniqueCounts | MixpanelError = (
            uniques_job.result() if uniques_job else UniqueCounts({}, frozenset(), 0)
        )
        seen = frozenset() if isinstance(uniques, MixpanelError) else uniques.seen_events
        counts = early.result() if early else counts_of(names, seen)
    for part in (names, uniques, counts):
        if isinstance(part, MixpanelAuthError):
            raise part
    if isinstance(counts, MixpanelError) and (isinstance(uniques, MixpanelError) or not groups):
        raise counts  # nothing to report: a failure notice says so instead
    # Does the counts call know every event of the span? Either source can vouch for it.
    names_known = names_cover_span and not isinstance(names, MixpanelError)
    export_known = (
        uniques_job is not None and not isinstance(uniques, MixpanelError) and export_filter is None
    )
    gap: Unavailable | None = None
    if not (names_known or export_known):
        failed = names if isinstance(names, MixpanelError) else uniques
        reason = str(failed) if isinstance(failed, MixpanelError) else "no source lists them"
        gap = Unavailable(f"the full list of events in this window is unknown ({reason})")
    known: frozenset[str] | Unavailable
    if gap is not None:
        known = gap  # do not call a metric event unknown on a partial list
    elif isinstance(names, MixpanelError):
        known = _unavailable(names)
    else:
        known = names | seen
    return Facts(
        counts=_unavailable(counts),
        uniques=_unavailable(uniques) if groups else UniqueCounts({}, frozenset(), 0),
        event_names=known,
        fetched_at=now,
        all_events=gap,
    )


def _attempt(job: Callable[[], T]) -> T | MixpanelError:
    try:
        return job()
    except MixpanelError as exc:
        log.warning("Mixpanel request failed: %s", exc)
        return exc


def _unavailable(part: T | MixpanelError) -> T | Unavailable:
    if isinstance(part, MixpanelRateLimited):
        return Unavailable("Mixpanel's query limit was reached (60 per hour); try again later")
    if isinstance(part, MixpanelError):
        return Unavailable(str(part))
    return part


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
    email: ReportPoster | None = None,
) -> Delivered | Skip:
    """One timer fire: decide if it is due, claim the delivery, gather, build, post, record.

    Each (report, window, destination) is posted at most once: Slack and, when given, the email
    to its recipient list are claimed separately, so one failing never resends the other. A
    failure is recorded, reported to Slack as a short notice (logged when there is no Slack),
    and raised so the host records the failed run (and retries it).
    """
    decision: Run | Skip = decide(
        kind, scheduled_for=scheduled_for, now=now, past_due=past_due, rules=rules
    )
    if isinstance(decision, Skip):
        log.info("%s report: %s", kind, decision.reason)
        return decision
    if slack is None and email is None:
        raise ValueError("a scheduled report needs a Slack or an email destination")
    window = decision.period.current
    keys = [
        DeliveryKey(str(kind), window.start, window.end, poster.destination)
        for poster in (slack, email)
        if poster is not None
    ]
    claims: list[Claim] = []
    try:
        for key in keys:
            claim = ledger.claim(key, now=now)
            if claim is not None:
                claims.append(claim)
    except LedgerError as exc:  # cannot promise "once": post nothing but say so
        for claim in claims:
            ledger.mark_failed(claim, now=now, detail=_one_line(exc))
        notify_failure(
            slack, report=str(kind), window=window, error=exc, now=now, will_retry=will_retry
        )
        raise
    if not claims:
        log.info("%s report for %s: already delivered or being delivered", kind, window.label())
        return Delivered(keys[0], None, posted=False)
    try:
        report = produce_report(
            decision.period, ctx, mixpanel=mixpanel, now=now, notes=decision.notes
        )
        sends = [(claim, _prepare(claim.key, report, slack, email)) for claim in claims]
    except Exception as exc:
        for claim in claims:
            ledger.mark_failed(claim, now=now, detail=_one_line(exc))
        notify_failure(
            slack,
            report=str(kind),
            window=window,
            error=exc,
            now=now,
            will_retry=will_retry,
            ledger=ledger,
        )
        raise
    failure: SlackError | EmailError | None = None
    for claim, send in sends:
        try:
            send()
        except (SlackError, EmailError) as exc:
            if exc.maybe_posted:  # never risk a second copy: record it, and say so loudly
                ledger.mark_sent(claim, now=now, detail=f"uncertain: {_one_line(exc)}")
            else:
                ledger.mark_failed(claim, now=now, detail=_one_line(exc))
            if isinstance(exc, EmailError):  # Slack hears of a failed email (or it is logged)
                notify_failure(
                    slack,
                    report=f"{kind} email",
                    window=window,
                    error=exc,
                    now=now,
                    will_retry=will_retry,
                    ledger=ledger,
                )
            failure = failure or exc
            continue
        ledger.mark_sent(claim, now=now, detail=_summary(report))
        log.info("%s report for %s posted to %s", kind, window.label(), claim.key.destination)
    if failure is not None:
        raise failure
    if slack is not None:  # ends a failure streak, if any
        recovered(ledger, slack, report=str(kind), now=now)
    return Delivered(claims[0].key, report, posted=True)


def _prepare(
    key: DeliveryKey, report: Report, slack: MessagePoster | None, email: ReportPoster | None
) -> Callable[[], None]:
    """Render the report for the claimed destination now (pure) and return the send step."""
    if slack is not None and key.destination == slack.destination:
        to_slack, message = slack, render_message(report)
        return lambda: to_slack.post(message)
    if email is None or key.destination != email.destination:
        raise ValueError(f"no poster for the claimed destination {key.destination}")
    to_email, rendered = email, email.render(report)
    return lambda: to_email.post(rendered)


def notify_failure(
    slack: MessagePoster | None,
    *,
    report: str,
    window: Window | None,
    error: BaseException,
    now: datetime,
    will_retry: bool | None = None,
    ledger: DeliveryLedger | None = None,
) -> bool:
    """Post a short failure notice; if even that fails, log it. True when it was posted.

    With a ledger, only the first failure of a streak posts (shared/alerts/streaks.py).
    """
    notice = render_failure(
        report=report, window=window, error=_one_line(error), when=now, will_retry=will_retry
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
                log.warning("failure streak unknown (%s); posting the notice", exc)
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
