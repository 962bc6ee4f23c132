"""Specs for the deterministic sample Mixpanel project."""

import time
from bisect import bisect_left
from collections import Counter
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from statistics import mean
from zoneinfo import ZoneInfo

import pytest

from devtools.sample_data import (
    ALL_EVENTS,
    AUTOMATIC_EVENTS,
    METRIC_EVENTS,
    SAMPLE_TIMEZONE,
    RawEvent,
    sample_project,
)

LONDON = ZoneInfo(SAMPLE_TIMEZONE)
END = date(2026, 11, 22)  # a Sunday; the 120 days before it include the 25 Oct 2026 clock change


def local_date(event: RawEvent) -> date:
    return datetime.fromtimestamp(event.time, LONDON).date()


def local_midnight(day: date) -> int:
    return int(datetime.combine(day, datetime.min.time(), LONDON).timestamp())


@dataclass(frozen=True, slots=True)
class Generated:
    """The demo-sized project, split by local date, and the CPU seconds it took to generate."""

    events: list[RawEvent]
    days: dict[date, list[RawEvent]]
    seconds: float


@pytest.fixture(scope="module")
def generated() -> Generated:
    """120 days for 4000 users, generated once for the module."""
    started = time.process_time()  # CPU time: other processes on the machine do not count
    events = sample_project(end=END)
    seconds = time.process_time() - started
    times = [event.time for event in events]
    days: dict[date, list[RawEvent]] = {}
    day, lo = local_date(events[0]), 0
    while lo < len(events):
        hi = bisect_left(times, local_midnight(day + timedelta(days=1)), lo)
        days[day] = events[lo:hi]
        day, lo = day + timedelta(days=1), hi
    return Generated(events, days, seconds)


@pytest.fixture(scope="module")
def project(generated: Generated) -> list[RawEvent]:
    return generated.events


@pytest.fixture(scope="module")
def days(generated: Generated) -> dict[date, list[RawEvent]]:
    return generated.days


def test_a_dates_events_do_not_depend_on_end_or_days() -> None:
    """The events of a local date depend only on (seed, date, users), not on end or days."""
    day = date(2026, 3, 29)
    short = sample_project(end=day, days=2)
    longer = sample_project(end=day + timedelta(days=5), days=9)
    assert [e for e in short if local_date(e) == day] == [e for e in longer if local_date(e) == day]
    assert [e for e in short if local_date(e) == day]


def test_the_seed_changes_the_data_and_the_same_seed_repeats_it() -> None:
    """Same arguments give identical events; another seed gives different ones."""
    day = date(2026, 6, 1)
    assert sample_project(end=day, days=1) == sample_project(end=day, days=1)
    assert sample_project(end=day, days=1) != sample_project(end=day, days=1, seed=8)


def test_events_are_sorted_by_time_with_unique_insert_ids(project: list[RawEvent]) -> None:
    """The project is sorted by time and every $insert_id is unique."""
    times = [event.time for event in project]
    assert times == sorted(times)
    assert len({event.insert_id for event in project}) == len(project)


def test_events_cover_exactly_the_requested_local_days(
    days: dict[date, list[RawEvent]],
) -> None:
    """Every local day end-days+1 .. end has events, and no other day has any."""
    assert sorted(days) == [END - timedelta(days=n) for n in range(119, -1, -1)]


def test_the_project_uses_exactly_the_documented_event_names(project: list[RawEvent]) -> None:
    """Metric, other and automatic events all appear, and nothing else does."""
    assert {event.name for event in project} == set(ALL_EVENTS)
    assert set(METRIC_EVENTS) <= set(ALL_EVENTS)
    assert all(name.startswith("$") for name in AUTOMATIC_EVENTS)


def test_generating_120_days_for_4000_users_takes_seconds(generated: Generated) -> None:
    """The demo-sized project takes under ~3 s of CPU (1.5-2.5 s measured on the dev VM)."""
    assert generated.seconds < 4.0  # margin over ~3 s for slower CI machines


def test_daily_volumes_look_like_a_small_real_app(days: dict[date, list[RawEvent]]) -> None:
    """Email Sent leads at ~1000/day; receipts ~100, sign-ups ~20, vouchers ~5, referrals ~1-2."""
    per_day = {day: Counter(event.name for event in events) for day, events in days.items()}

    def average(name: str) -> float:
        return mean(counts[name] for counts in per_day.values())

    totals = sum(per_day.values(), Counter[str]())
    assert totals.most_common(1)[0][0] == "Email Sent"
    assert 800 <= average("Email Sent") <= 1300
    assert 60 <= average("Receipt Uploaded") <= 140
    assert 15 <= average("Sign Up") <= 25
    assert 3 <= average("Voucher Redeemed") <= 8
    assert 0.8 <= average("Referral Completed") <= 2.5
    assert any(counts["Referral Completed"] == 0 for counts in per_day.values())


def test_a_few_hundred_users_are_active_a_day_more_on_weekdays(
    days: dict[date, list[RawEvent]],
) -> None:
    """Daily active users (app events) number a few hundred, fewer at weekends."""

    def active(events: list[RawEvent]) -> int:
        return len({e.distinct_id for e in events if e.name == "App Opened"})

    weekday = mean(active(events) for day, events in days.items() if day.weekday() < 5)
    weekend = mean(active(events) for day, events in days.items() if day.weekday() >= 5)
    assert 200 <= weekend < weekday <= 600


def test_later_weeks_are_busier_than_earlier_ones(days: dict[date, list[RawEvent]]) -> None:
    """A slow growth trend: the last four weeks see more app opens than the first four."""
    ordered = sorted(days)

    def opens(span: list[date]) -> int:
        return sum(1 for day in span for e in days[day] if e.name == "App Opened")

    assert opens(ordered[-28:]) > opens(ordered[:28])


def test_weekly_uniques_are_fewer_than_summed_daily_uniques(
    days: dict[date, list[RawEvent]],
) -> None:
    """Users come back on several days, so a week's uniques are below the daily sum."""
    week = [END - timedelta(days=n) for n in range(7)]
    daily = [{e.distinct_id for e in days[day] if e.name == "App Opened"} for day in week]
    weekly: set[str] = set().union(*daily)
    assert len(weekly) < 0.9 * sum(len(users) for users in daily)


def test_a_user_signs_up_once_on_their_first_day(days: dict[date, list[RawEvent]]) -> None:
    """Each Sign Up is its user's only one, on the first local day that user appears."""
    first_seen: dict[str, date] = {}
    sign_ups: Counter[str] = Counter()
    sign_up_day: dict[str, date] = {}
    for day, events in days.items():
        for event in events:
            first_seen.setdefault(event.distinct_id, day)
            if event.name == "Sign Up":
                sign_ups[event.distinct_id] += 1
                sign_up_day[event.distinct_id] = day
    assert sign_ups
    assert max(sign_ups.values()) == 1
    assert all(first_seen[user] == day for user, day in sign_up_day.items())


def test_some_events_fall_just_before_and_just_after_local_midnight(
    days: dict[date, list[RawEvent]],
) -> None:
    """Most days have events at 00:00:xx and at 23:59:xx local, where UTC dates differ."""
    after = before = 0
    for day, events in days.items():
        start, end = local_midnight(day), local_midnight(day + timedelta(days=1))
        after += any(e.time - start < 60 for e in events)
        before += any(end - e.time <= 60 for e in events)
    assert after >= 0.9 * len(days)
    assert before >= 0.9 * len(days)


def test_the_spring_forward_day_skips_the_missing_hour() -> None:
    """On 29 Mar 2026 (a 23-hour day) no event has a nonexistent 01:xx local time."""
    events = sample_project(end=date(2026, 3, 29), days=1)
    locals_ = [datetime.fromtimestamp(e.time, LONDON) for e in events]
    assert {local.date() for local in locals_} == {date(2026, 3, 29)}
    assert all(local.hour != 1 for local in locals_)
    assert any(local.hour == 0 for local in locals_)
    assert any(local.hour == 2 for local in locals_)


def test_the_fall_back_day_uses_both_occurrences_of_the_repeated_hour() -> None:
    """On 25 Oct 2026 (a 25-hour day) events fall in both the BST and the GMT 01:xx."""
    events = sample_project(end=date(2026, 10, 25), days=1)
    repeated = [
        datetime.fromtimestamp(e.time, LONDON)
        for e in events
        if datetime.fromtimestamp(e.time, LONDON).hour == 1
    ]
    assert {local.utcoffset() for local in repeated} == {timedelta(hours=1), timedelta(0)}
    assert {local_date(e) for e in events} == {date(2026, 10, 25)}
