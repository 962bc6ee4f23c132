"""AlertCheck's shell: gather hourly counts (one query), decide what fires (pure), apply once.

Also the backtest: the same decide-and-apply replayed hour by hour over past data, against an
in-memory ledger and a recording poster, so a dry run answers exactly what the live check would
have posted.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Protocol
from zoneinfo import ZoneInfo

from shared.alerts.breach import NEVER, MessagePoster, Outcome, states, step
from shared.alerts.evaluate import Evaluation, Finding, HourlyCounts, evaluate, watched_events
from shared.alerts.hours import LocalHour, bucket_of, end_of, last_closed
from shared.alerts.message import render_alert, render_resolved
from shared.alerts.rules import AlertsConfig
from shared.delivery.ledger import DeliveryLedger, InMemoryLedger
from shared.errors import ReporterError
from shared.render.slack_message import SlackMessage
from shared.report.metrics import MetricsConfig

log = logging.getLogger("analytics_reporter")
PARTITION = "alerts"
BACKTEST_DAYS = 30


class HourlySource(Protocol):
    """Where hourly counts come from (MixpanelClient, or a fake in tests)."""

    def event_names(self, *, limit: int = ...) -> list[str]: ...

    def hourly_counts(
        self, events: Sequence[str], *, from_date: date, to_date: date
    ) -> dict[str, dict[LocalHour, int]]: ...


@dataclass(frozen=True, slots=True)
class AlertContext:
    """What every check of this deployment shares."""

    alerts: AlertsConfig
    metrics: MetricsConfig
    timezone: ZoneInfo
    company: str


@dataclass(frozen=True, slots=True)
class CheckResult:
    """What one check did, by rule key."""

    outcomes: Mapping[str, Outcome]
    firing: tuple[str, ...]


def needed_events(ctx: AlertContext, names: Sequence[str]) -> tuple[list[str], list[str]]:
    """(watched events, every event the check must count)."""
    watched = watched_events(ctx.alerts.watch, names)
    specs = {m.key: m for m in ctx.metrics.metrics}
    ruled = [e for r in ctx.alerts.rules for e in specs[r.metric].events]
    return watched, sorted(set(watched) | set(ruled))


def gather_counts(
    ctx: AlertContext, source: HourlySource, *, now: datetime, days_back: int = 0
) -> tuple[list[str], HourlyCounts]:
    """The watched events and hourly counts from `days_back` + history weeks ago to today.

    Counts cost one /events request; the names come from /events/names (cached per process
    for an hour) unless the watch names its events.
    """
    watch = ctx.alerts.watch
    names = source.event_names() if watch.enabled and watch.events is None else []
    watched, events = needed_events(ctx, names)
    if not events:
        return watched, {}
    today = now.astimezone(ctx.timezone).date()
    # The lookback may reach into yesterday, whose history starts a further week back.
    first = today - timedelta(days=days_back + 7 * ctx.alerts.history_weeks + 2)
    return watched, source.hourly_counts(events, from_date=first, to_date=today)


def run_alert_check(
    ctx: AlertContext,
    *,
    now: datetime,
    source: HourlySource,
    poster: MessagePoster,
    ledger: DeliveryLedger,
) -> CheckResult:
    """One AlertCheck fire: at most one post per rule that started or stopped firing."""
    watched, counts = gather_counts(ctx, source, now=now)  # gather
    return decide_and_apply(ctx, counts, watched, now=now, poster=poster, ledger=ledger)


def decide_and_apply(
    ctx: AlertContext,
    counts: HourlyCounts,
    watched: Sequence[str],
    *,
    now: datetime,
    poster: MessagePoster,
    ledger: DeliveryLedger,
) -> CheckResult:
    """Evaluate every rule on the closed hours before `now`, then step each one's breach."""
    specs = {m.key: m for m in ctx.metrics.metrics}
    verdicts: Evaluation = evaluate(  # decide
        ctx.alerts, specs, counts, watched=watched, now=now, tz=ctx.timezone
    )
    current = states(ledger.history(report=PARTITION), poster.destination)  # apply
    on = last_closed(now, ctx.timezone).day
    outcomes: dict[str, Outcome] = {}
    errors: list[ReporterError] = []
    for key in sorted(set(verdicts.firing) | verdicts.ok):
        state = current.get(key, NEVER)
        finding = verdicts.firing.get(key)

        def opening(found: Finding | None = finding) -> SlackMessage:
            if found is None:
                raise ValueError("only a firing rule opens a breach")
            return render_alert(found, company=ctx.company, now=now, tz=ctx.timezone)

        def resolving(key: str = key) -> SlackMessage:
            return render_resolved(
                _resolved_title(key), company=ctx.company, now=now, tz=ctx.timezone
            )

        try:
            outcomes[key] = step(
                ledger,
                poster,
                partition=PARTITION,
                rule=key,
                state=state,
                firing=finding is not None,
                on=on,
                now=now,
                min_interval=timedelta(hours=verdicts.intervals.get(key, 6.0)),
                opening=opening,
                resolving=resolving,
            )
        except ReporterError as exc:  # one rule's failed post must not silence the others
            log.error("alert %s: %s", key, exc)
            errors.append(exc)
    if errors:
        raise errors[0]
    return CheckResult(outcomes, tuple(sorted(verdicts.firing)))


def _resolved_title(key: str) -> str:
    kind, _, name = key.partition(":")
    if kind == "watch":
        return f"{name}: events are back to their usual volume"
    return f"alert {name!r} no longer fires"


# --------------------------------------------------------------------------- backtest


@dataclass(frozen=True, slots=True)
class WouldPost:
    """One post the live check would have made."""

    at: datetime
    rule: str
    outcome: Outcome
    text: str


@dataclass(slots=True)
class _Recorder:
    destination: str = "backtest"
    posts: list[str] = field(default_factory=list)

    def post(self, message: SlackMessage) -> None:
        self.posts.append(message.text)


def replay(
    ctx: AlertContext,
    counts: HourlyCounts,
    watched: Sequence[str],
    *,
    first: datetime,
    last: datetime,
    rules: frozenset[str] | None = None,
) -> list[WouldPost]:
    """Run the hourly check at every hour end from `first` to `last` over `counts`.

    Only the keys in `rules` (all when None) are replayed; the flapping interval, quiet hours
    and once-per-breach all apply, as live.
    """
    ledger = InMemoryLedger()
    recorder = _Recorder()
    config = ctx.alerts
    if rules is not None:
        watched = [e for e in watched if f"watch:{e}" in rules]
        config = AlertsConfig(config.watch, tuple(r for r in config.rules if r.key in rules))
    scoped = AlertContext(config, ctx.metrics, ctx.timezone, ctx.company)
    found: list[WouldPost] = []
    moment = end_of(bucket_of(first, ctx.timezone), ctx.timezone)
    while moment <= last:
        before = len(recorder.posts)
        result = decide_and_apply(
            scoped, counts, watched, now=moment, poster=recorder, ledger=ledger
        )
        posted = iter(recorder.posts[before:])
        for key, outcome in sorted(result.outcomes.items()):
            if outcome in (Outcome.OPENED, Outcome.RESOLVED):
                found.append(WouldPost(moment, key, outcome, next(posted)))
        moment = end_of(bucket_of(moment, ctx.timezone), ctx.timezone)
    return found


def backtest(
    ctx: AlertContext,
    source: HourlySource,
    *,
    now: datetime,
    days: int = BACKTEST_DAYS,
    rules: frozenset[str] | None = None,
) -> list[WouldPost]:
    """dry_run: what the hourly check would have posted over the last `days` days."""
    watched, counts = gather_counts(ctx, source, now=now, days_back=days)
    return replay(
        ctx,
        counts,
        watched,
        first=now - timedelta(days=days),
        last=now.astimezone(UTC),
        rules=rules,
    )
