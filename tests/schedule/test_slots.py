"""When a scheduled report posts: 9:00 local all year, bi-weekly from an anchor, quiet days."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from itertools import pairwise
from zoneinfo import ZoneInfo

import pytest

from shared.schedule.periods import PeriodKind, report_period
from shared.schedule.slots import (
    SLOT_TOLERANCE,
    Run,
    ScheduleRules,
    Skip,
    decide,
    intended_time,
    is_report_day,
)

LONDON = ZoneInfo("Europe/London")
NEW_YORK = ZoneInfo("America/New_York")
RULES = ScheduleRules(timezone=LONDON)
FIRE_EVERY = timedelta(minutes=15)
DAILY, WEEKLY, BIWEEKLY = PeriodKind.DAILY, PeriodKind.WEEKLY, PeriodKind.BIWEEKLY
QUIET_NOTE = (
    "(quiet days: DAILY_REPORT_DAYS / DAILY_REPORT_SKIP_DATES); the weekly report includes them."
)


def utc(
    year: int, month: int, day: int, hour: int = 0, minute: int = 0, second: int = 0
) -> datetime:
    return datetime(year, month, day, hour, minute, second, tzinfo=UTC)


def fire(
    kind: PeriodKind,
    scheduled_for: datetime | None,
    *,
    now: datetime | None = None,
    past_due: bool = False,
    rules: ScheduleRules = RULES,
) -> Run | Skip:
    """One on-time timer fire: the run starts a few seconds after its scheduled time."""
    if now is None:
        assert scheduled_for is not None
        now = scheduled_for + timedelta(seconds=4)
    return decide(kind, scheduled_for=scheduled_for, now=now, past_due=past_due, rules=rules)


def fires_of_local_day(day: date, zone: ZoneInfo) -> list[datetime]:
    """Every 15-minute UTC fire from local midnight of `day` to the next local midnight."""
    first = datetime(day.year, day.month, day.day, tzinfo=zone).astimezone(UTC)
    after = (datetime(day.year, day.month, day.day, tzinfo=zone) + timedelta(days=1)).astimezone(
        UTC
    )
    first = first.replace(minute=first.minute - first.minute % 15, second=0)
    out = []
    while first < after:
        out.append(first)
        first += FIRE_EVERY
    return out


def runs_of(kind: PeriodKind, fires: list[datetime], rules: ScheduleRules) -> list[datetime]:
    return [f for f in fires if isinstance(fire(kind, f, rules=rules), Run)]


def ran(decision: Run | Skip) -> Run:
    assert isinstance(decision, Run), decision
    return decision


# ------------------------------------------------------------------ 9:00 local all year


@pytest.mark.parametrize(
    ("zone", "day", "fire_at"),
    [
        (LONDON, date(2026, 1, 15), utc(2026, 1, 15, 9)),
        (LONDON, date(2026, 7, 15), utc(2026, 7, 15, 8)),
        (LONDON, date(2026, 3, 29), utc(2026, 3, 29, 8)),
        (LONDON, date(2026, 10, 25), utc(2026, 10, 25, 9)),
        (NEW_YORK, date(2026, 1, 15), utc(2026, 1, 15, 14)),
        (NEW_YORK, date(2026, 7, 15), utc(2026, 7, 15, 13)),
        (NEW_YORK, date(2026, 3, 8), utc(2026, 3, 8, 13)),
        (NEW_YORK, date(2026, 11, 1), utc(2026, 11, 1, 14)),
    ],
    ids=[
        "london-winter-0900Z",
        "london-summer-0800Z",
        "london-23-hour-day",
        "london-25-hour-day",
        "new-york-winter-1400Z",
        "new-york-summer-1300Z",
        "new-york-23-hour-day",
        "new-york-25-hour-day",
    ],
)
def test_exactly_one_fire_a_day_posts_the_daily_report_at_nine_local(
    zone: ZoneInfo, day: date, fire_at: datetime
) -> None:
    """Of every 15-minute UTC fire of a local day (23, 24 or 25 hours), only 9:00 local posts."""
    rules = ScheduleRules(timezone=zone)
    fires = fires_of_local_day(day, zone)
    assert runs_of(DAILY, fires, rules) == [fire_at]
    run = ran(fire(DAILY, fire_at, rules=rules))
    assert run.slot == datetime(day.year, day.month, day.day, 9, tzinfo=zone)
    assert run.slot.tzinfo is zone
    assert (run.slot.hour, run.slot.minute) == (9, 0)
    assert run.period == report_period(DAILY, day)
    assert run.notes == ()


@pytest.mark.parametrize(
    ("fire_at", "reason"),
    [
        (utc(2026, 11, 24, 8, 45), "not a daily report slot (Tue 08:45 GMT)"),
        (utc(2026, 11, 24, 9, 15), "not a daily report slot (Tue 09:15 GMT)"),
        (utc(2026, 7, 15, 9), "not a daily report slot (Wed 10:00 BST)"),
    ],
    ids=["before-the-slot", "the-fire-after-the-slot", "0900Z-in-summer-is-10-local"],
)
def test_a_fire_that_is_not_the_slot_skips_and_says_when_it_was(
    fire_at: datetime, reason: str
) -> None:
    """A skipped fire names the local time it was meant for."""
    assert fire(DAILY, fire_at) == Skip(reason)


# ------------------------------------------------------------ which time is "this fire"


@pytest.mark.parametrize(
    ("scheduled_for", "now", "runs"),
    [
        (utc(2026, 11, 24, 9), utc(2026, 11, 24, 9, 0, 2), True),
        (utc(2026, 11, 24, 9), utc(2026, 11, 24, 9, 3), True),
        (utc(2026, 11, 24, 9), utc(2026, 11, 24, 9, 40), True),
        (utc(2026, 11, 24, 9, 15), utc(2026, 11, 24, 9, 15, 1), False),
        (utc(2026, 11, 24, 8, 45), utc(2026, 11, 24, 9, 1), False),
        (utc(2026, 11, 24, 9, 15), utc(2026, 11, 24, 9, 3), False),
    ],
    ids=[
        "on-time",
        "starts-late-at-0903",
        "starts-very-late-at-0940",
        "the-0915-fire",
        "a-late-0845-fire-running-after-nine",
        "0915-fire-even-if-clock-says-0903",
    ],
)
def test_the_timers_scheduled_time_decides_not_the_clock(
    scheduled_for: datetime, now: datetime, runs: bool
) -> None:
    """With scheduled_for (ScheduleStatus Next), the fire meant for 9:00 posts, however late."""
    decision = fire(DAILY, scheduled_for, now=now)
    assert isinstance(decision, Run) is runs
    if runs:
        assert ran(decision).slot == datetime(2026, 11, 24, 9, tzinfo=LONDON)


@pytest.mark.parametrize(
    ("now", "runs"),
    [
        (utc(2026, 11, 24, 8, 59, 59), False),
        (utc(2026, 11, 24, 9), True),
        (utc(2026, 11, 24, 9, 3), True),
        (utc(2026, 11, 24, 9, 14, 59), True),
        (utc(2026, 11, 24, 9, 15), False),
    ],
    ids=["0859-59", "0900", "0903", "0914-59", "0915"],
)
def test_without_a_scheduled_time_the_clock_decides(now: datetime, runs: bool) -> None:
    """With no scheduled_for, `now` must fall in [slot, slot + 15 minutes)."""
    assert timedelta(minutes=15) == SLOT_TOLERANCE
    assert isinstance(fire(DAILY, None, now=now), Run) is runs


# -------------------------------------------------------------------- past-due catch-up


@pytest.mark.parametrize(
    ("kind", "first_missed", "now", "slot_day"),
    [
        (DAILY, utc(2026, 11, 24, 8, 30), utc(2026, 11, 24, 11, 40), date(2026, 11, 24)),
        (DAILY, utc(2026, 11, 20, 6), utc(2026, 11, 23, 11, 40), date(2026, 11, 23)),
        (DAILY, utc(2026, 11, 23, 7), utc(2026, 11, 24, 7), date(2026, 11, 23)),
        (DAILY, None, utc(2026, 7, 15, 12, 5), date(2026, 7, 15)),
        (WEEKLY, utc(2026, 11, 23, 8), utc(2026, 11, 25, 10), date(2026, 11, 23)),
        (BIWEEKLY, utc(2026, 12, 21, 0), utc(2026, 12, 23, 16), date(2026, 12, 21)),
        (BIWEEKLY, utc(2026, 12, 30, 0), utc(2027, 1, 4, 10), date(2027, 1, 4)),
    ],
    ids=[
        "back-at-1140-posts-the-0900-slot",
        "three-days-down-posts-only-the-latest-slot",
        "back-before-todays-slot-posts-yesterdays",
        "no-scheduled-time",
        "weekly-back-on-wednesday",
        "biweekly-back-two-days-late",
        "biweekly-back-across-the-new-year",
    ],
)
def test_a_past_due_fire_posts_the_latest_slot_before_now(
    kind: PeriodKind, first_missed: datetime | None, now: datetime, slot_day: date
) -> None:
    """After downtime the host replays one fire (past_due): it posts the latest missed slot."""
    run = ran(fire(kind, first_missed, now=now, past_due=True))
    assert run.slot == datetime(slot_day.year, slot_day.month, slot_day.day, 9, tzinfo=LONDON)
    assert run.period == report_period(kind, slot_day)


def test_a_past_due_fire_before_any_slot_in_the_lookback_skips() -> None:
    """With no report day at all, even a past-due fire has nothing to post."""
    rules = ScheduleRules(timezone=LONDON, daily_days=frozenset())
    decision = fire(DAILY, None, now=utc(2026, 11, 24, 12), past_due=True, rules=rules)
    assert decision == Skip("no daily report day in the last 15 days")


# ---------------------------------------------------------------------- weekly, bi-weekly


def test_the_weekly_report_posts_on_mondays_only_covering_the_previous_week() -> None:
    """Over eight weeks of fires (07:00Z-10:45Z), weekly posts at 9:00 local each Monday only."""
    days = [date(2026, 10, 5) + timedelta(days=i) for i in range(56)]
    runs = []
    for day in days:
        for quarter in range(16):
            at = utc(day.year, day.month, day.day, 7) + quarter * FIRE_EVERY
            decision = fire(WEEKLY, at)
            if isinstance(decision, Run):
                runs.append((at, decision))
    assert [at for at, _ in runs] == [
        utc(2026, 10, 5, 8),
        utc(2026, 10, 12, 8),
        utc(2026, 10, 19, 8),
        utc(2026, 10, 26, 9),
        utc(2026, 11, 2, 9),
        utc(2026, 11, 9, 9),
        utc(2026, 11, 16, 9),
        utc(2026, 11, 23, 9),
    ]
    for at, run in runs:
        assert run.slot.weekday() == 0
        assert run.period == report_period(WEEKLY, at.date())
        assert run.notes == ()


def _biweekly_post_days(first: date, last: date, rules: ScheduleRules) -> list[date]:
    posts = []
    day = first
    while day <= last:
        for quarter in range(16):  # every fire from 07:00Z to 10:45Z covers 9:00 London
            at = utc(day.year, day.month, day.day, 7) + quarter * FIRE_EVERY
            if isinstance(fire(BIWEEKLY, at, rules=rules), Run):
                posts.append(day)
        day += timedelta(days=1)
    return posts


def test_biweekly_posts_every_fourteen_days_from_the_anchor_through_2026_and_2027() -> None:
    """Every second Monday from the anchor, 14 days apart even across 2026's 53rd ISO week."""
    posts = _biweekly_post_days(date(2026, 1, 1), date(2027, 12, 31), RULES)
    assert posts[0] == date(2026, 1, 5)
    assert len(posts) == 52
    assert {b - a for a, b in pairwise(posts)} == {timedelta(days=14)}
    assert date(2026, 12, 21) in posts
    assert date(2027, 1, 4) in posts
    assert date(2026, 12, 28) not in posts
    # Parity of ISO weeks would have broken here: week 52 of 2026, then week 1 of 2027.
    assert date(2026, 12, 21).isocalendar().week == 52
    assert date(2027, 1, 4).isocalendar().week == 1


@pytest.mark.parametrize(
    ("anchor", "expected"),
    [
        (date(2026, 1, 5), [date(2026, 12, 7), date(2026, 12, 21), date(2027, 1, 4)]),
        (date(2026, 1, 12), [date(2026, 11, 30), date(2026, 12, 14), date(2026, 12, 28)]),
        (date(2027, 6, 14), [date(2026, 11, 30), date(2026, 12, 14), date(2026, 12, 28)]),
    ],
    ids=["default-anchor", "anchor-a-week-later", "anchor-in-the-future"],
)
def test_biweekly_report_days_are_counted_from_the_anchor_in_both_directions(
    anchor: date, expected: list[date]
) -> None:
    """The anchor fixes the phase: posts fall on it +/- multiples of 14 days."""
    rules = ScheduleRules(timezone=LONDON, biweekly_anchor=anchor)
    assert _biweekly_post_days(date(2026, 11, 25), date(2027, 1, 10), rules) == expected


def test_the_biweekly_run_on_4_jan_2027_covers_the_fortnight_across_the_new_year() -> None:
    """The 2027-01-04 post covers 21 Dec 2026 - 3 Jan 2027, vs 7-20 Dec 2026."""
    run = ran(fire(BIWEEKLY, utc(2027, 1, 4, 9)))
    assert run.period.current.label() == "21 Dec 2026 - 03 Jan 2027"
    assert run.period.comparisons[0].window.label() == "07 Dec - 20 Dec 2026"


# ------------------------------------------------------------------------- quiet days


MON_FRI = ScheduleRules(timezone=LONDON, daily_days=frozenset(range(5)))


def test_with_mon_fri_the_weekend_fires_never_post() -> None:
    """DAILY_REPORT_DAYS=mon-fri: no fire on Saturday or Sunday posts a daily report."""
    weekend = fires_of_local_day(date(2026, 11, 21), LONDON) + fires_of_local_day(
        date(2026, 11, 22), LONDON
    )
    assert runs_of(DAILY, weekend, MON_FRI) == []


def test_with_mon_fri_mondays_report_covers_sunday_and_notes_friday_and_saturday() -> None:
    """Monday's report is still 'yesterday' (Sunday); a note names the data days none covered."""
    run = ran(fire(DAILY, utc(2026, 11, 23, 9), rules=MON_FRI))
    assert run.period == report_period(DAILY, date(2026, 11, 23))
    assert (run.period.current.start, run.period.current.end) == (
        date(2026, 11, 22),
        date(2026, 11, 22),
    )
    assert run.notes == (f"No daily report covered Fri 20 Nov, Sat 21 Nov {QUIET_NOTE}",)


@pytest.mark.parametrize(
    ("rules", "day", "notes"),
    [
        (MON_FRI, date(2026, 11, 24), ()),
        (MON_FRI, date(2026, 11, 20), ()),
        (
            ScheduleRules(
                timezone=LONDON, skip_dates=frozenset({date(2026, 12, 25), date(2026, 12, 26)})
            ),
            date(2026, 12, 27),
            (f"No daily report covered Thu 24 Dec, Fri 25 Dec {QUIET_NOTE}",),
        ),
        (
            ScheduleRules(
                timezone=LONDON,
                daily_days=frozenset(range(5)),
                skip_dates=frozenset({date(2026, 12, 25)}),
            ),
            date(2026, 12, 28),
            (f"No daily report covered Thu 24 Dec, Fri 25 Dec, Sat 26 Dec {QUIET_NOTE}",),
        ),
        (
            ScheduleRules(timezone=LONDON, skip_dates=frozenset({date(2027, 1, 1)})),
            date(2027, 1, 2),
            (f"No daily report covered Thu 31 Dec {QUIET_NOTE}",),
        ),
    ],
    ids=[
        "tuesday-after-a-report-monday",
        "friday",
        "after-christmas-holidays",
        "holiday-plus-weekend",
        "after-new-years-day",
    ],
)
def test_the_first_daily_report_after_quiet_days_names_the_uncovered_data_days(
    rules: ScheduleRules, day: date, notes: tuple[str, ...]
) -> None:
    """A note lists each data day a skipped post would have covered; none after a normal day."""
    run = ran(fire(DAILY, datetime(day.year, day.month, day.day, 9, tzinfo=LONDON), rules=rules))
    assert run.period == report_period(DAILY, day)
    assert run.notes == notes


@pytest.mark.parametrize(
    "holiday", [date(2026, 12, 25), date(2026, 12, 26)], ids=["christmas", "boxing-day"]
)
def test_no_fire_on_a_skip_date_posts_a_daily_report(holiday: date) -> None:
    """DAILY_REPORT_SKIP_DATES days are quiet all day long."""
    rules = ScheduleRules(
        timezone=LONDON, skip_dates=frozenset({date(2026, 12, 25), date(2026, 12, 26)})
    )
    assert runs_of(DAILY, fires_of_local_day(holiday, LONDON), rules) == []


@pytest.mark.parametrize(
    ("kind", "day", "expected"),
    [
        (DAILY, date(2026, 11, 21), False),
        (DAILY, date(2026, 11, 23), True),
        (WEEKLY, date(2026, 11, 23), True),
        (WEEKLY, date(2026, 11, 24), False),
        (BIWEEKLY, date(2026, 11, 23), True),
        (BIWEEKLY, date(2026, 11, 30), False),
    ],
    ids=["daily-sat", "daily-mon", "weekly-mon", "weekly-tue", "biweekly-on", "biweekly-off"],
)
def test_is_report_day(kind: PeriodKind, day: date, expected: bool) -> None:
    """is_report_day applies the quiet days (daily), Mondays (weekly) and the anchor (bi-weekly)."""
    assert is_report_day(kind, day, MON_FRI) is expected


def test_custom_reports_are_not_scheduled() -> None:
    """Custom reports have no timer: deciding one is an error."""
    with pytest.raises(ValueError, match=r"^custom reports are not scheduled$"):
        fire(PeriodKind.CUSTOM, utc(2026, 11, 2, 9))


@pytest.mark.parametrize(
    ("day", "expected"),
    [(date(2026, 12, 1), True), (date(2026, 12, 2), False), (date(2027, 1, 1), True)],
    ids=["1-dec", "2-dec", "1-jan"],
)
def test_a_monthly_report_day_is_the_first_of_the_month(day: date, expected: bool) -> None:
    """Monthly reports post on the 1st, whatever the weekday."""
    assert is_report_day(PeriodKind.MONTHLY, day, RULES) is expected


def test_a_monthly_report_posts_on_the_first_at_the_report_hour_for_the_previous_month() -> None:
    """09:00 London on Tue 1 Dec 2026 posts November; 09:15 and 2 Dec do not post."""
    decision = fire(PeriodKind.MONTHLY, utc(2026, 12, 1, 9))
    assert isinstance(decision, Run)
    assert decision.period == report_period(PeriodKind.MONTHLY, date(2026, 12, 1))
    assert (decision.period.current.start, decision.period.current.end) == (
        date(2026, 11, 1),
        date(2026, 11, 30),
    )
    assert isinstance(fire(PeriodKind.MONTHLY, utc(2026, 12, 1, 9, 15)), Skip)
    assert isinstance(fire(PeriodKind.MONTHLY, utc(2026, 12, 2, 9)), Skip)


def test_a_past_due_monthly_fire_weeks_later_still_finds_the_first() -> None:
    """A replay on 20 Dec (past due) posts the slot of 1 Dec: the lookback spans a month."""
    decision = decide(
        PeriodKind.MONTHLY,
        scheduled_for=None,
        now=utc(2026, 12, 20, 15),
        past_due=True,
        rules=RULES,
    )
    assert isinstance(decision, Run)
    assert decision.period.current.start == date(2026, 11, 1)


# ---------------------------------------------------------------------------- DST hours


def test_an_hour_repeated_in_autumn_posts_once() -> None:
    """REPORT_HOUR=1 on London's 25-hour day: 01:00 BST posts, the second 01:00 (GMT) does not."""
    rules = ScheduleRules(timezone=LONDON, hour=1)
    assert runs_of(DAILY, fires_of_local_day(date(2026, 10, 25), LONDON), rules) == [
        utc(2026, 10, 25, 0)
    ]
    assert isinstance(fire(DAILY, utc(2026, 10, 25, 1), rules=rules), Skip)


def test_an_hour_missing_in_spring_posts_once_right_after_the_gap() -> None:
    """REPORT_HOUR=1 on London's 23-hour day (01:00-02:00 does not exist) posts once, at 01:00Z."""
    rules = ScheduleRules(timezone=LONDON, hour=1)
    assert runs_of(DAILY, fires_of_local_day(date(2026, 3, 29), LONDON), rules) == [
        utc(2026, 3, 29, 1)
    ]


def test_local_aware_times_decide_like_their_utc_instants_on_an_ordinary_day() -> None:
    """An aware local scheduled time is the same instant as its UTC form."""
    local = datetime(2026, 7, 15, 9, tzinfo=LONDON)
    assert fire(DAILY, local) == fire(DAILY, local.astimezone(UTC))
    assert isinstance(fire(DAILY, datetime(2026, 7, 15, 9, 15, tzinfo=LONDON)), Skip)


def test_the_repeated_autumn_hour_given_in_local_time_still_posts_once() -> None:
    """Given as London times, the first 01:00 (BST, fold=0) posts and the second (GMT) does not."""
    rules = ScheduleRules(timezone=LONDON, hour=1)
    first_one_am = datetime(2026, 10, 25, 1, fold=0, tzinfo=LONDON)
    second_one_am = datetime(2026, 10, 25, 1, fold=1, tzinfo=LONDON)
    assert first_one_am.timestamp() == utc(2026, 10, 25, 0).timestamp()
    assert second_one_am.timestamp() == utc(2026, 10, 25, 1).timestamp()
    assert isinstance(fire(DAILY, first_one_am, rules=rules), Run)
    assert isinstance(fire(DAILY, second_one_am, rules=rules), Skip)


# ----------------------------------------------------------------------- input checking


@pytest.mark.parametrize(
    ("scheduled_for", "now"),
    [
        (None, datetime(2026, 11, 24, 9)),  # noqa: DTZ001 - the point of the test
        (datetime(2026, 11, 24, 9), utc(2026, 11, 24, 9)),  # noqa: DTZ001
    ],
    ids=["naive-now", "naive-scheduled-for"],
)
def test_decide_rejects_naive_datetimes(scheduled_for: datetime | None, now: datetime) -> None:
    """A time without a zone is ambiguous: decide() refuses it."""
    with pytest.raises(ValueError, match=r"^decide\(\) needs aware datetimes$"):
        decide(DAILY, scheduled_for=scheduled_for, now=now, past_due=False, rules=RULES)


@pytest.mark.parametrize(
    ("status", "expected"),
    [
        ({"Next": "2026-11-23T09:00:00+00:00"}, utc(2026, 11, 23, 9)),
        ({"Next": "2026-11-23T09:00:00Z"}, utc(2026, 11, 23, 9)),
        ({"Next": "2026-11-23T09:00:00.0000000Z"}, utc(2026, 11, 23, 9)),
        ({"next": "2026-07-15T08:00:00+00:00"}, utc(2026, 7, 15, 8)),
        (
            {"Last": "2026-11-23T08:45:00+00:00", "Next": "2026-11-23T09:00:00+00:00"},
            utc(2026, 11, 23, 9),
        ),
        ({"Next": "2026-11-23T10:00:00+01:00"}, utc(2026, 11, 23, 9)),
        ({}, None),
        (None, None),
        ({"Next": ""}, None),
        ({"Next": "garbage"}, None),
        ({"Next": 1763888400}, None),
        ({"Next": "2026-11-23T09:00:00"}, None),
        ({"Last": "2026-11-23T09:00:00+00:00"}, None),
    ],
    ids=[
        "offset",
        "z",
        "z-with-7-digit-fraction",
        "lower-case-key",
        "with-last",
        "other-offset",
        "empty",
        "none",
        "empty-string",
        "garbage",
        "not-a-string",
        "naive",
        "no-next",
    ],
)
def test_intended_time_reads_the_timers_next_occurrence(
    status: dict[str, object] | None, expected: datetime | None
) -> None:
    """intended_time() is ScheduleStatus 'Next' as an aware datetime, else None."""
    assert intended_time(status) == expected
