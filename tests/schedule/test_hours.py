"""Specs for closed local hours in the project timezone, across both clock changes."""

from datetime import UTC, date, datetime
from zoneinfo import ZoneInfo

import pytest

from shared.schedule.hours import (
    LocalHour,
    bucket_of,
    closed_hours,
    end_of,
    hours_of_day,
    last_closed,
    start_of,
)

LONDON = ZoneInfo("Europe/London")


def utc(*args: int) -> datetime:
    return datetime(*args, tzinfo=UTC)


def test_an_ordinary_day_has_24_hourly_buckets():
    """Midsummer: 24 buckets, 00:00 to 23:00."""
    assert [h.hour for h in hours_of_day(date(2026, 7, 15), LONDON)] == list(range(24))


def test_the_spring_forward_day_has_no_0100_bucket():
    """29 Mar 2026: 01:00-02:00 local never happens, so 23 buckets; 00:00 lasts one real hour."""
    day = date(2026, 3, 29)
    hours = [h.hour for h in hours_of_day(day, LONDON)]
    assert hours == [0, *range(2, 24)]
    assert start_of(LocalHour(day, 0), LONDON) == utc(2026, 3, 29, 0)
    assert end_of(LocalHour(day, 0), LONDON) == utc(2026, 3, 29, 1)  # 02:00 BST


def test_the_fall_back_day_has_a_0100_bucket_two_real_hours_long():
    """25 Oct 2026: 01:00 happens twice; its one bucket covers 00:00Z to 02:00Z."""
    day = date(2026, 10, 25)
    assert len(hours_of_day(day, LONDON)) == 24
    assert start_of(LocalHour(day, 1), LONDON) == utc(2026, 10, 25, 0)
    assert end_of(LocalHour(day, 1), LONDON) == utc(2026, 10, 25, 2)


@pytest.mark.parametrize(
    ("now", "expected"),
    [
        (utc(2026, 7, 15, 9, 15), LocalHour(date(2026, 7, 15), 9)),
        (utc(2026, 7, 15, 9, 0), LocalHour(date(2026, 7, 15), 9)),
        (utc(2026, 7, 14, 23, 30), LocalHour(date(2026, 7, 14), 23)),
        (utc(2026, 1, 15, 0, 15), LocalHour(date(2026, 1, 14), 23)),
        (utc(2026, 3, 29, 1, 15), LocalHour(date(2026, 3, 29), 0)),
        (utc(2026, 3, 29, 0, 59), LocalHour(date(2026, 3, 28), 23)),
        (utc(2026, 10, 25, 1, 15), LocalHour(date(2026, 10, 25), 0)),
        (utc(2026, 10, 25, 2, 15), LocalHour(date(2026, 10, 25), 1)),
        (utc(2026, 10, 25, 3, 15), LocalHour(date(2026, 10, 25), 2)),
    ],
    ids=[
        "bst-at-quarter-past",
        "bst-exactly-on-the-hour",
        "bst-midnight-not-yet-closed-yesterday",
        "gmt-just-after-midnight",
        "spring-0000-closes-when-0200-bst-starts",
        "spring-before-the-change",
        "fall-repeated-hour-still-open",
        "fall-repeated-hour-closed-after-both",
        "fall-after-the-change",
    ],
)
def test_the_last_closed_hour_is_the_latest_bucket_that_has_ended(now, expected):
    """Only a bucket whose real end has passed is closed; DST gaps and folds included."""
    assert last_closed(now, LONDON) == expected


def test_closed_hours_step_back_over_the_missing_spring_hour_and_midnight():
    """The last 4 closed buckets at 03:10 BST on 29 Mar: 23:00, 00:00, 02:00 (no 01:00)."""
    now = utc(2026, 3, 29, 2, 10)  # 03:10 BST
    assert [h.label() for h in closed_hours(now, LONDON, 4)] == [
        "Sat 28 Mar 22:00",
        "Sat 28 Mar 23:00",
        "Sun 29 Mar 00:00",
        "Sun 29 Mar 02:00",
    ]


def test_both_occurrences_of_the_repeated_hour_fall_in_one_bucket():
    """00:30Z and 01:30Z on 25 Oct are both 01:30 local: the same bucket."""
    assert bucket_of(utc(2026, 10, 25, 0, 30), LONDON) == bucket_of(
        utc(2026, 10, 25, 1, 30), LONDON
    )


def test_a_bucket_key_is_mixpanels_hourly_key():
    """`YYYY-MM-DD HH:00:00`, the key of an hourly /events answer."""
    assert LocalHour(date(2026, 7, 15), 9).key() == "2026-07-15 09:00:00"
    with pytest.raises(ValueError, match="0-23"):
        LocalHour(date(2026, 7, 15), 24)
