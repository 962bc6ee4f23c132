"""Spec of a query-source report's plan (which requests, over which days, feeding what) and of
the facts its answers make; pure, tested with literals (the shell is in test_gathering.py)."""

from __future__ import annotations

from datetime import UTC, date, datetime
from zoneinfo import ZoneInfo

import pytest

from shared.errors import MixpanelAuthError, MixpanelError
from shared.report.facts import Unavailable, UniqueCounts
from shared.report.figures import FigureTally
from shared.schedule.periods import PeriodKind, Window, report_period
from shared.sources.gathering import (
    ExportAnswer,
    FigurePlan,
    GatherRequest,
    QueryPlan,
    plan_query,
    query_facts,
)

LONDON = ZoneInfo("Europe/London")
NOW = datetime(2026, 11, 23, 9, tzinfo=LONDON)
WEEKLY = report_period(PeriodKind.WEEKLY, date(2026, 11, 23))  # span 9-22 Nov
MONTHLY = report_period(PeriodKind.MONTHLY, date(2026, 11, 23))  # span 1 Sep - 31 Oct
WEEK_SPAN = Window(date(2026, 11, 9), date(2026, 11, 22))
MONTH_SPAN = Window(date(2026, 9, 1), date(2026, 10, 31))


def figures(events: frozenset[str] | None) -> FigurePlan:
    return FigurePlan(make=lambda: FigureTally((), (WEEK_SPAN,), qualifying=bool), events=events)


def request(
    *,
    kind: PeriodKind = PeriodKind.WEEKLY,
    groups: dict[str, frozenset[str] | None] | None = None,
    active: tuple[str, ...] | None = None,
    plan: FigurePlan | None = None,
) -> GatherRequest:
    return GatherRequest(
        period=WEEKLY if kind is PeriodKind.WEEKLY else MONTHLY,
        timezone=LONDON,
        groups={} if groups is None else groups,
        named_events=("Sign Up", "Purchase"),
        now=NOW,
        active_user_events=active,
        figures=plan,
    )


def plan(**fields: object) -> QueryPlan:
    """The weekly plan with no unique or figure metrics, with `fields` changed."""
    base: dict[str, object] = {
        "span": WEEK_SPAN,
        "named": frozenset({"Sign Up", "Purchase"}),
        "names_cover_span": True,
        "need_export": False,
        "export_filter": (),
        "groups": False,
        "figures": False,
    }
    return QueryPlan(**{**base, **fields})  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("given", "expected"),
    [
        (request(), plan()),
        (
            request(groups={"buyers": frozenset({"Purchase"})}),
            plan(need_export=True, export_filter=("Purchase",), groups=True),
        ),
        (
            request(groups={"active": None}),
            plan(need_export=True, export_filter=None, groups=True),
        ),
        (
            request(groups={"active": None}, active=("App Opened", "Purchase")),
            plan(need_export=True, export_filter=("App Opened", "Purchase"), groups=True),
        ),
        (
            request(plan=figures(frozenset({"Checkout", "Purchase"}))),
            plan(need_export=True, export_filter=("Checkout", "Purchase"), figures=True),
        ),
        (
            request(groups={"buyers": frozenset({"Purchase"})}, plan=figures(None)),
            plan(need_export=True, export_filter=None, groups=True, figures=True),
        ),
        (
            request(kind=PeriodKind.MONTHLY, groups={"buyers": frozenset({"Purchase"})}),
            plan(
                span=MONTH_SPAN,
                names_cover_span=False,
                need_export=True,
                export_filter=None,
                groups=True,
            ),
        ),
        (
            request(kind=PeriodKind.MONTHLY),
            plan(span=MONTH_SPAN, names_cover_span=False, need_export=True, export_filter=None),
        ),
    ],
    ids=[
        "totals only: names and one /events call, no export",
        "unique metric of named events: the export narrowed to them",
        "active users over any event: the whole export",
        "active users over chosen events: the export narrowed to them",
        "filtered figures of named events: the export narrowed to them",
        "a figure over every event: the whole export",
        "a span older than the names list: the whole export, probed",
        "a span older than the names list needs the export even for totals",
    ],
)
def test_the_plan_names_the_requests_and_what_each_reads(
    given: GatherRequest, expected: QueryPlan
) -> None:
    """plan_query decides from the request alone: the span, the export's need and filter."""
    assert plan_query(given) == expected


def test_the_export_is_probed_only_when_the_names_cannot_size_it() -> None:
    """A span the names list covers is sized by the /events totals; an older one is probed."""
    assert plan().probe is False
    assert plan(names_cover_span=False).probe is True


def test_the_export_estimate_sums_the_totals_of_the_events_it_reads() -> None:
    """Narrowed: only the filter's events count towards the size; whole: every event."""
    counts = {
        "Purchase": {date(2026, 11, 9): 3, date(2026, 11, 10): 4},
        "App Opened": {date(2026, 11, 9): 100},
    }
    assert plan(export_filter=("Purchase", "Checkout")).estimate(counts) == 7
    assert plan(export_filter=None).estimate(counts) == 107


COUNTS = {"Sign Up": {date(2026, 11, 9): 2}}
UNIQUES = UniqueCounts({WEEK_SPAN: {"buyers": 5}}, frozenset({"Purchase"}), 40)
FETCHED = datetime(2026, 11, 23, 9, tzinfo=UTC)


def failure(status: int = 500) -> MixpanelError:
    return MixpanelError("boom", endpoint="/events", status=status)


def test_answers_that_all_came_make_mixed_facts_with_every_event_known() -> None:
    """Names, totals and a narrowed export: every part present, names joined with the export's."""
    facts = query_facts(
        plan(need_export=True, export_filter=("Purchase",), groups=True),
        frozenset({"Sign Up"}),
        COUNTS,
        ExportAnswer(UNIQUES),
        fetched_at=FETCHED,
    )
    assert facts.counts == COUNTS
    assert facts.uniques == UNIQUES
    assert facts.event_names == frozenset({"Sign Up", "Purchase"})
    assert facts.all_events is None
    assert facts.source == "mixed"


def test_failed_names_leave_the_event_list_unknown_never_partial() -> None:
    """Without /events/names (and a narrowed export) no source lists every event."""
    facts = query_facts(
        plan(need_export=True, export_filter=("Purchase",), groups=True),
        failure(),
        COUNTS,
        ExportAnswer(UNIQUES),
        fetched_at=FETCHED,
    )
    reason = "the full list of events in this window is unknown (Mixpanel /events answered "
    assert isinstance(facts.event_names, Unavailable)
    assert facts.event_names.reason.startswith(reason)
    assert facts.all_events == facts.event_names


def test_a_whole_export_vouches_for_the_event_list_when_the_names_failed() -> None:
    """The whole export saw every event of the span: the list is known from it alone."""
    facts = query_facts(
        plan(names_cover_span=False, need_export=True, export_filter=None, groups=True),
        failure(),
        COUNTS,
        ExportAnswer(UNIQUES),
        fetched_at=FETCHED,
    )
    assert facts.all_events is None
    assert isinstance(facts.event_names, Unavailable)


def test_failed_totals_with_nothing_else_to_report_are_raised() -> None:
    """No unique or figure metric and no totals: the failure itself is reported, not a 0."""
    with pytest.raises(MixpanelError, match="boom"):
        query_facts(plan(), frozenset(), failure(), ExportAnswer(), fetched_at=FETCHED)


def test_failed_totals_beside_unique_users_read_unavailable() -> None:
    """Unique users still stand; the totals read unavailable with Mixpanel's reason."""
    facts = query_facts(
        plan(need_export=True, export_filter=("Purchase",), groups=True),
        frozenset({"Sign Up"}),
        failure(),
        ExportAnswer(UNIQUES),
        fetched_at=FETCHED,
    )
    assert isinstance(facts.counts, Unavailable)
    assert facts.uniques == UNIQUES


def test_wrong_credentials_on_any_answer_are_raised() -> None:
    """A 401 anywhere means nothing else is trustworthy either."""
    denied = MixpanelAuthError("denied", endpoint="/export", status=401)
    with pytest.raises(MixpanelAuthError):
        query_facts(
            plan(need_export=True, groups=True),
            frozenset(),
            COUNTS,
            ExportAnswer(denied),
            fetched_at=FETCHED,
        )


def test_aggregated_uniques_make_query_facts_not_mixed() -> None:
    """Too large an export: Mixpanel's aggregation answered, so the source reads "query"."""
    facts = query_facts(
        plan(need_export=True, export_filter=None, groups=True),
        frozenset({"Sign Up"}),
        COUNTS,
        ExportAnswer(UNIQUES, server_side=True),
        fetched_at=FETCHED,
    )
    assert facts.source == "query"
