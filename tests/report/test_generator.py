"""Spec of the report: exact figures, honest gaps, changes that mean something."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest

from shared.report.facts import Facts, Unavailable, UniqueCounts
from shared.report.generator import (
    Verdict,
    build_report,
    judge,
    window_total,
)
from shared.report.metrics import Measure, MetricsConfig, MetricSpec, Thresholds
from shared.schedule.periods import PeriodKind, Window, custom_period, report_period

TH = Thresholds()
WEEKLY = report_period(PeriodKind.WEEKLY, date(2026, 11, 25))  # 16-22 Nov vs 9-15 Nov
THIS, LAST = WEEKLY.current, WEEKLY.comparisons[0].window
FETCHED = datetime(2026, 11, 25, 9, 0, tzinfo=UTC)
ACTIVE = MetricSpec("active_users", "Active users", ":busts:", ("*",), Measure.UNIQUE)
SIGNUPS = MetricSpec("new_signups", "New signups", ":new:", ("Sign Up",))
FAILED = MetricSpec(
    "receipt_failed", "Receipts failed", ":x:", ("Receipt Failed",), higher_is_better=False
)
CONFIG = MetricsConfig((ACTIVE, SIGNUPS, FAILED), TH)


def per_day(window: Window, n: int) -> dict[date, int]:
    return dict.fromkeys(window.dates(), n)


def counts(**events: tuple[int, int]) -> dict[str, dict[date, int]]:
    """{event: (per day this week, per day last week)} as daily buckets."""
    return {
        name.replace("_", " "): {**per_day(LAST, before), **per_day(THIS, now)}
        for name, (now, before) in events.items()
    }


def facts(c: object, active: tuple[int, int] | None = (700, 600)) -> Facts:
    uniques = (
        Unavailable("Mixpanel /export answered HTTP 503: server error")
        if active is None
        else UniqueCounts(
            {THIS: {"active_users": active[0]}, LAST: {"active_users": active[1]}}, frozenset(), 0
        )
    )
    return Facts(counts=c, uniques=uniques, event_names=frozenset(), fetched_at=FETCHED)  # type: ignore[arg-type]


def report(c: object, active: tuple[int, int] | None = (700, 600), config: MetricsConfig = CONFIG):
    return build_report(
        config,
        WEEKLY,
        facts(c, active),
        company="Acme",
        timezone="Europe/London",
        project_url="https://eu.mixpanel.com/project/1",
    )


@pytest.mark.parametrize(
    ("value", "baseline", "better", "expected"),
    [
        (11000, 10000, True, (Verdict.IN_LINE, 0.1, None)),
        (11100, 10000, True, (Verdict.UP, 0.11, True)),
        (8900, 10000, True, (Verdict.DOWN, -0.11, False)),
        (8900, 10000, False, (Verdict.DOWN, -0.11, True)),
        (7, 3, True, (Verdict.IN_LINE, 4 / 3, None)),
        (5, 0, True, (Verdict.NEW, None, True)),
        (0, 0, True, (Verdict.IN_LINE, None, None)),
        (0, 50, True, (Verdict.DROPPED_TO_ZERO, -1.0, False)),
        (0, 4, True, (Verdict.IN_LINE, -1.0, None)),
    ],
    ids=[
        "10pct-is-in-line",
        "11pct-up",
        "down-bad",
        "down-good-when-lower-is-better",
        "small-absolute-change-in-line",
        "from-zero-is-new",
        "zero-to-zero",
        "drop-to-zero-flagged",
        "tiny-baseline-to-zero-in-line",
    ],
)
def test_judge_reads_a_change_as_news_only_when_it_is(value, baseline, better, expected):
    """Within +/-10% or under 5 in absolute terms is in line; from 0 is new, never +inf%.

    (Large counts here: small ones also read in line within chance, see test_noise.py.)
    """
    verdict, ratio, good = judge(value, baseline, TH, higher_is_better=better)
    assert (verdict, None if ratio is None else round(ratio, 4), good) == (
        expected[0],
        None if expected[1] is None else round(expected[1], 4),
        expected[2],
    )


def test_window_total_sums_the_local_day_buckets_of_the_window_only():
    """Days outside the window do not count."""
    c = counts(Sign_Up=(3, 100))
    assert window_total(c, "Sign Up", THIS) == 21
    assert window_total(c, "Sign Up", LAST) == 700
    assert window_total(c, "Nope", THIS) == 0


def test_metrics_carry_value_and_baseline_from_counts_and_uniques():
    """Totals come from the daily counts; active users from the exact uniques."""
    r = report(counts(Sign_Up=(10, 5), Receipt_Failed=(2, 2)))
    by_key = {m.spec.key: m for m in r.metrics}
    assert by_key["active_users"].value == 700
    assert by_key["active_users"].changes[0].baseline == 600
    assert by_key["active_users"].changes[0].verdict is Verdict.UP
    assert by_key["new_signups"].value == 70
    assert by_key["new_signups"].changes[0].baseline == 35
    assert by_key["receipt_failed"].changes[0].verdict is Verdict.IN_LINE


def test_a_figure_that_could_not_be_fetched_is_unavailable_never_zero():
    """A failed export marks unique metrics unavailable with its reason; totals still show."""
    r = report(counts(Sign_Up=(10, 5)), active=None)
    active = r.metrics[0]
    assert active.value is None
    assert active.unavailable == "Mixpanel /export answered HTTP 503: server error"
    assert active.changes[0].verdict is Verdict.UNAVAILABLE
    assert r.metrics[1].value == 70
    assert r.unavailable == ("Active users: Mixpanel /export answered HTTP 503: server error",)


def test_failed_counts_make_totals_top_events_and_movers_unavailable():
    """Without counts: no invented top events or movers, and a note says why."""
    r = report(Unavailable("Mixpanel /events answered HTTP 502: server error"))
    assert r.metrics[1].value is None
    assert r.top_events is None
    assert r.movers == ()
    assert r.notes == (
        "Top events and notable changes: Mixpanel /events answered HTTP 502: server error",
    )
    assert r.metrics[0].value == 700


def test_top_events_rank_by_total_then_name_and_skip_automatic_events():
    """Highest totals first, ties by name, $-events left out, zeros left out."""
    c = counts(Email_Sent=(100, 90), B_Event=(5, 1), A_Event=(5, 2), **{"$identify": (1000, 1000)})
    c["Quiet"] = {**per_day(LAST, 0), **per_day(THIS, 0)}
    r = report(c)
    assert [(e.name, e.count, e.baseline) for e in r.top_events or ()] == [
        ("Email Sent", 700, 630),
        ("A Event", 35, 14),
        ("B Event", 35, 7),
    ]


def test_notable_changes_list_events_with_volume_that_moved_most():
    """Movers need volume; up and down are ranked by relative change."""
    r = report(
        counts(
            Email_Sent=(200, 100),
            Push_Sent=(150, 100),
            Tiny=(2, 1),
            Item_Tracked=(10, 100),
            Brand_New=(10, 0),
            Steady=(100, 100),
        )
    )
    assert [(m.name, m.verdict) for m in r.movers] == [
        ("Brand New", Verdict.NEW),
        ("Email Sent", Verdict.UP),
        ("Push Sent", Verdict.UP),
        ("Item Tracked", Verdict.DOWN),
    ]


def test_a_steady_event_that_goes_silent_is_a_data_quality_warning():
    """Steady volume then none, or a fall past the threshold, warns that tracking may be broken."""
    r = report(counts(Receipt_Uploaded=(0, 40), Email_Sent=(10, 100), Rare=(0, 1)))
    assert r.warnings == (
        "Email Sent: down 90% (700 to 70) vs previous week - tracking may be broken",
        "Receipt Uploaded: no events this period after 280 vs previous week - tracking may be "
        "broken",
    )


def test_insights_are_sentences_built_only_from_the_figures():
    """Each insight restates a figure of the report."""
    r = report(counts(Sign_Up=(20, 10), Email_Sent=(100, 100)))
    assert r.insights == (
        "New signups rose 100% vs previous week (70 to 140).",
        "Active users rose 17% vs previous week (600 to 700).",
        "Most frequent event: Email Sent (700 times).",
        "Busiest day: Monday 16 Nov (120 events).",
    )


def test_custom_period_compares_with_the_days_just_before():
    """A custom window's baseline is the same number of days immediately before it."""
    period = custom_period(date(2026, 11, 1), date(2026, 11, 10))
    assert period.comparisons[0].window == Window(date(2026, 10, 22), date(2026, 10, 31))
    assert period.comparisons[0].label == "vs previous 10 days"


def test_monthly_warnings_scale_the_baseline_to_the_window_length():
    """A 31-day month against a 30-day month is not a drop."""
    monthly = report_period(PeriodKind.MONTHLY, date(2026, 11, 5))  # Oct vs Sep
    c = {
        "Email Sent": {
            **per_day(monthly.comparisons[0].window, 10),
            **per_day(monthly.current, 10),
        }
    }
    r = build_report(
        MetricsConfig((SIGNUPS,), TH),
        monthly,
        Facts(c, UniqueCounts({}, frozenset(), 0), frozenset(), FETCHED),
        company="Acme",
        timezone="Europe/London",
        project_url="u",
    )
    assert r.warnings == ()
    assert monthly.current.start - timedelta(days=1) == monthly.comparisons[0].window.end
