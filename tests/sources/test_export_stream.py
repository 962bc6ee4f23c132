"""Spec of the export stream: only the needed fields, Mixpanel's dedup rule, pluggable figures."""

from __future__ import annotations

import json
import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from shared.report.events import Deduplicator
from shared.schedule.periods import Window
from shared.sources.export_stream import (
    BadExportLine,
    ExportReducer,
    LineBudget,
    LineDecoder,
)

LONDON = ZoneInfo("Europe/London")
DAY = date(2026, 11, 16)
NOON = datetime(2026, 11, 16, 12, tzinfo=LONDON).timestamp()


def line(
    event: str, user: object, when: object, insert_id: str | None = None, **props: Any
) -> bytes:
    properties: dict[str, Any] = {"time": when, "distinct_id": user, **props}
    if insert_id is not None:
        properties["$insert_id"] = insert_id
    return json.dumps({"event": event, "properties": properties}).encode() + b"\n"


def test_the_decoder_keeps_event_user_time_and_insert_id_and_skips_everything_else() -> None:
    """Unasked properties are not returned; a numeric distinct_id becomes its text."""
    records = LineDecoder().decode(
        line("Sign Up", "u1", 1_700_000_000, "i1", **{"$os": "iOS"})
        + line("Sign Up", 42, 1_700_000_001.5)
    )
    assert records == [
        ("Sign Up", "u1", 1_700_000_000.0, "i1", {}),
        ("Sign Up", "42", 1_700_000_001.5, "", {}),
    ]


def test_the_decoder_keeps_the_properties_it_is_told_to_keep_even_odd_names() -> None:
    """Asked-for properties come back by name (absent when the event lacks them, so a misspelt
    name is never taken for a property that exists); names need not be identifiers."""
    decoder = LineDecoder(["$os", "plan type", "amount"])
    records = decoder.decode(line("Paid", "u1", 1, "i", **{"$os": "iOS", "amount": 9.5}))
    assert records == [("Paid", "u1", 1.0, "i", {"$os": "iOS", "amount": 9.5})]


def test_a_line_strict_json_refuses_is_read_not_dropped() -> None:
    """NaN in a property (Python trackers send it): decoded by the lenient path, kept whole."""
    decoder = LineDecoder(["amount"])
    nan_line = b'{"event": "Paid", "properties": {"time": 2, "distinct_id": "u2", "amount": NaN}}\n'
    records = decoder.decode(line("Paid", "u1", 1, "i", amount=1) + nan_line)
    assert records[0] == ("Paid", "u1", 1.0, "i", {"amount": 1})
    assert records[1][:4] == ("Paid", "u2", 2.0, "")
    assert math.isnan(records[1][4]["amount"])


@pytest.mark.parametrize(
    ("raw", "why"),
    [
        pytest.param(b'{"event": "A", "properties": {"time": 1', "not a complete event", id="cut"),
        pytest.param(b'{"event": "A", "properties": {"time": true}}', "malformed field", id="bool"),
        pytest.param(b'{"event": 3, "properties": {"time": 1}}', "malformed field", id="name"),
        pytest.param(b'{"event": "A", "properties": {}}', "malformed field", id="no-time"),
    ],
)
def test_a_broken_line_is_named_never_skipped(raw: bytes, why: str) -> None:
    """The batch fails over to line by line, and the bad line travels with the error."""
    good = line("A", "u", 1, "i")
    with pytest.raises(BadExportLine) as caught:
        LineDecoder().decode(good + raw + b"\n" + good)
    assert why in caught.value.why
    assert caught.value.line == raw


@pytest.mark.parametrize(
    ("first", "second", "events"),
    [
        (("A", "u", 1.0, "x"), ("A", "u", 1.0, "x"), 1),
        (("A", "u", 1.0, "x"), ("B", "u", 1.0, "x"), 2),
        (("A", "u", 1.0, "x"), ("A", "v", 1.0, "x"), 2),
        (("A", "u", 1.0, "x"), ("A", "u", 2.0, "x"), 2),
        (("A", "u", 1.0, "x"), ("A", "u", 1.0, "y"), 2),
        (("A", "u", 1.0, ""), ("A", "u", 1.0, ""), 2),
    ],
    ids=[
        "same-everything-is-one",
        "other-event",
        "other-user",
        "other-time",
        "other-insert-id",
        "no-insert-id-is-never-merged",
    ],
)
def test_mixpanels_dedup_rule(
    first: tuple[str, str, float, str], second: tuple[str, str, float, str], events: int
) -> None:
    """Same event, distinct_id, time and $insert_id = one event; no $insert_id = its own."""
    dedup = Deduplicator()
    assert sum(dedup.first(*key) for key in (first, second)) == events
    assert dedup.duplicates == 2 - events


@dataclass
class Recorder:
    """An accumulator that records what it is handed (as issue #13's metric kinds will)."""

    wanted_properties: frozenset[str] = frozenset({"amount"})
    seen: list[tuple[int, str, str, Mapping[str, Any]]] = field(default_factory=list)

    def add(self, day: int, distinct_id: str, event: str, properties: Mapping[str, Any]) -> None:
        self.seen.append((day, distinct_id, event, dict(properties)))

    def merge(self, other: Recorder) -> None:
        self.seen.extend(other.seen)


def test_the_reducer_counts_each_deduplicated_event_on_its_local_day_and_hands_it_on() -> None:
    """Totals per local day, users once, duplicates once, and accumulators see the same events."""
    windows = [Window(DAY, date(2026, 11, 17))]
    recorder = Recorder()
    reducer = ExportReducer(
        windows,
        {"active": None},
        timezone=LONDON,
        qualifying=lambda e: not e.startswith("$"),
        accumulators=[recorder],
    )
    decoder = LineDecoder(recorder.wanted_properties)
    late = datetime(2026, 11, 17, 23, 59, 59, tzinfo=LONDON).timestamp()
    reducer.add_all(
        decoder.decode(
            line("Paid", "u1", NOON, "a", amount=5)
            + line("Paid", "u1", NOON, "a", amount=5)  # the same event sent twice
            + line("Paid", "u2", late, None, amount=7)
            + line("Paid", "u2", late, None, amount=7)  # no $insert_id: two events
            + line("$identify", "u3", NOON, "b")
            + line("Paid", "u4", late + 1, "c")  # the next local day: outside the span
        )
    )
    tally = reducer.result(["Refund"])
    assert tally.counts == {
        "Paid": {DAY: 1, date(2026, 11, 17): 2},
        "$identify": {DAY: 1, date(2026, 11, 17): 0},
        "Refund": {DAY: 0, date(2026, 11, 17): 0},
    }
    assert tally.uniques.users == {windows[0]: {"active": 2}}
    assert (tally.lines, tally.duplicates) == (6, 1)
    assert recorder.seen == [
        (0, "u1", "Paid", {"amount": 5}),
        (1, "u2", "Paid", {"amount": 7}),
        (1, "u2", "Paid", {"amount": 7}),
        (0, "u3", "$identify", {}),
    ]


def test_reducers_of_two_day_ranges_merge_into_the_whole() -> None:
    """Users active in both ranges count once; totals add; accumulators merge."""
    windows = [Window(DAY, date(2026, 11, 17))]

    def fresh() -> ExportReducer:
        return ExportReducer(
            windows,
            {"active": None},
            timezone=LONDON,
            qualifying=lambda e: True,
            accumulators=[Recorder()],
        )

    first, second = fresh(), fresh()
    first.add_all(LineDecoder().decode(line("A", "u1", NOON, "a") + line("A", "u2", NOON, "b")))
    second.add_all(LineDecoder().decode(line("A", "u1", NOON + 86_400, "c")))
    first.merge(second)
    tally = first.result()
    assert tally.counts == {"A": {DAY: 2, date(2026, 11, 17): 1}}
    assert tally.uniques.users == {windows[0]: {"active": 2}}
    assert tally.lines == 3
    recorder = tally.accumulators[0]
    assert isinstance(recorder, Recorder)
    assert len(recorder.seen) == 3


def test_the_line_budget_says_no_once_the_limit_is_passed() -> None:
    """The limit itself is allowed; one line more is not."""
    budget = LineBudget(10)
    assert budget.take(10)
    assert budget.remaining == 0
    assert not budget.take(1)


def wall(stamp: str) -> float:
    """A pre-2023 export `time`: the London wall-clock reading as seconds since 1970 (UTC-naive)."""
    from datetime import UTC

    return datetime.fromisoformat(stamp).replace(tzinfo=UTC).timestamp()


@pytest.mark.parametrize(
    ("stamp", "day"),
    [
        ("2026-10-24 23:59:59", date(2026, 10, 24)),
        ("2026-10-25 00:00:00", date(2026, 10, 25)),
        ("2026-10-25 01:30:00", date(2026, 10, 25)),  # either occurrence of the repeated hour
        ("2026-10-25 23:59:59", date(2026, 10, 25)),
        ("2026-10-26 00:00:00", None),  # the next local day: outside the windows
        ("2026-10-23 23:59:59", None),
    ],
    ids=["eve", "midnight", "repeated-hour", "last-second", "next-day", "day-before"],
)
def test_a_pre_2023_reducer_dates_wall_clock_times_by_their_own_reading(
    stamp: str, day: date | None
) -> None:
    """wall_clock=True: the export's `time` is the local reading, never shifted by the offset
    (read as a UTC epoch, 23:59:59 on the 24th would land on the 25th in BST)."""
    windows = [Window(date(2026, 10, 24), date(2026, 10, 25))]
    reducer = ExportReducer(
        windows, {"any": None}, timezone=LONDON, qualifying=lambda e: True, wall_clock=True
    )
    reducer.add_all(LineDecoder().decode(line("Paid", "u1", wall(stamp), "a")))
    counts = reducer.result(["Paid"]).counts["Paid"]
    assert {d for d, n in counts.items() if n} == ({day} if day else set())
    assert reducer.result().uniques.users[windows[0]]["any"] == (1 if day else 0)


def test_milliseconds_are_decoded_to_seconds_and_keep_same_second_events_apart() -> None:
    """in_ms: 1000.1 s and 1000.9 s are distinct times, so dedup keeps both (one id)."""
    records = LineDecoder().decode(
        line("A", "u", 1_000_100, "i") + line("A", "u", 1_000_900, "i"), in_ms=True
    )
    assert [r[2] for r in records] == [1000.1, 1000.9]
    dedup = Deduplicator()
    assert [dedup.first(r[0], r[1], r[2], r[3]) for r in records * 2] == [True, True, False, False]
