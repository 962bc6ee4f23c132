"""Spec: every figure of every metric kind equals a recount of the raw events.

Filters, sums, averages, formulas, breakdowns and month to date, over the sample project's
properties plus hand-placed awkward values, served by the Mixpanel stand-in and read by the
real client. The recount below reads the TOML tables itself (it shares no code with the app)
and dates each event by its local calendar day.
"""

from __future__ import annotations

import math
import re
import tomllib
from collections import Counter
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from devtools.sample_data import RawEvent, sample_project
from shared.pipeline import ReportContext, produce_report
from shared.render.report_json import report_to_json
from shared.report.generator import Report
from shared.report.metrics import parse_metrics
from shared.schedule.periods import PeriodKind, ReportPeriod, Window, month_to_date, report_period
from tests.openapi_check import validate_against_openapi
from tests.report.test_numbers import EVENTS_PATH, EXPORT_PATH, NAMES_PATH, paths, served

LONDON = ZoneInfo("Europe/London")

CONFIG = """
[thresholds]
in_line_points = 2.0

[[metric]]
key = "signups"
label = "Signups"
events = ["Sign Up"]
month_to_date = true

[[metric]]
key = "ios_signups"
label = "iOS signups"
events = ["Sign Up"]
where = [{ property = "platform", equals = "iOS" }]

[[metric]]
key = "gb_ie_signups"
label = "GB and IE signups"
events = ["Sign Up"]
where = [{ property = "country", one_of = ["GB", "IE"] }]

[[metric]]
key = "ads_not_web"
label = "Ads, not web"
events = ["Sign Up"]
where = [{ property = "source", contains = "ads" }, { property = "platform", not = "Web" }]

[[metric]]
key = "not_gb_users"
label = "Users outside GB"
events = ["App Opened", "Receipt Uploaded"]
measure = "unique"
where = [{ property = "country", not = ["GB"] }]
month_to_date = true

[[metric]]
key = "signups_by_country"
label = "Signups by country"
events = ["Sign Up"]
breakdown = "country"
top = 3

[[metric]]
key = "users_by_platform"
label = "Users by platform"
events = ["*"]
measure = "unique"
breakdown = "platform"
top = 2

[[metric]]
key = "onboarded"
label = "Onboarded"
events = ["User Onboarded"]

[[metric]]
key = "onboarding_rate"
label = "Onboarding rate"
formula = "onboarded / signups"
unit = "percent"

[[metric]]
key = "basket"
label = "Basket value"
events = ["Receipt Uploaded"]
measure = "sum"
property = "amount"
unit = "currency"
currency = "GBP"
month_to_date = true

[[metric]]
key = "basket_by_country"
label = "Basket value by country"
events = ["Receipt Uploaded"]
measure = "sum"
property = "amount"
breakdown = "country"
top = 2
unit = "currency"
currency = "EUR"

[[metric]]
key = "average_basket"
label = "Average basket"
events = ["Receipt Uploaded"]
measure = "average"
property = "amount"
unit = "currency"
currency = "GBP"

[[metric]]
key = "big_baskets"
label = "Big baskets"
events = ["Receipt Uploaded"]
where = [{ property = "amount", gte = 50 }, { property = "amount", lt = 90 }]

[[metric]]
key = "small_or_refund"
label = "Small baskets and refunds"
events = ["Receipt Uploaded"]
where = [{ property = "amount", lte = 10 }]

[[metric]]
key = "points"
label = "PlanetPoints"
events = ["PlanetPoints Added"]
measure = "sum"
property = "points"

[[metric]]
key = "points_per_basket"
label = "Points per receipt"
formula = "points / (basket_count + 0)"

[[metric]]
key = "basket_count"
label = "Receipts"
events = ["Receipt Uploaded"]

[[metric]]
key = "points_above_200"
label = "Big points awards"
events = ["PlanetPoints Added"]
where = [{ property = "points", gt = 200 }]
"""
RAW = tomllib.loads(CONFIG)
METRICS = parse_metrics(RAW, source="kinds.toml")


# -- hand-placed awkward values, around local midnight -----------------------------------------


def awkward(day: date) -> list[RawEvent]:
    """Values a sum must skip (text, true, missing, NaN), a refund, a zero, an unknown country."""
    at = datetime.combine(day, time(23, 59, 59), LONDON)
    later = datetime.combine(day + timedelta(days=1), time(0, 0, 0), LONDON)
    rows: list[tuple[str, datetime, tuple[tuple[str, object], ...]]] = [
        ("Receipt Uploaded", at, (("amount", "12.50"), ("country", "GB"))),
        ("Receipt Uploaded", at, (("amount", True), ("country", "IE"))),
        ("Receipt Uploaded", at, (("amount", float("nan")), ("platform", "iOS"))),
        ("Receipt Uploaded", later, (("amount", -3.25), ("country", "GB"), ("platform", "Web"))),
        ("Receipt Uploaded", later, (("amount", 0), ("country", 353))),
        ("Receipt Uploaded", later, (("amount", 0.1), ("country", "IE"))),
        ("Receipt Uploaded", later, (("amount", 0.2), ("country", "IE"))),
        ("Sign Up", at, (("platform", "iOS"), ("country", "IE"), ("source", "tiktok_ads"))),
        ("Sign Up", later, (("platform", "ios"), ("country", "gb"), ("source", "ADS"))),
        ("Sign Up", later, ()),
        ("PlanetPoints Added", later, (("points", "200"),)),
        ("PlanetPoints Added", later, (("points", 200.5),)),
    ]
    return [
        RawEvent(name, f"odd-{day}-{n % 3}", int(when.timestamp()), f"odd-{day}-{n}", props)
        for n, (name, when, props) in enumerate(rows)
    ]


# -- the brute-force recount -----------------------------------------------------------------


def number(value: object) -> Decimal | None:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return Decimal(repr(value)) if isinstance(value, float) else Decimal(value)


def holds(cond: dict[str, Any], props: dict[str, Any]) -> bool:
    name = cond["property"]
    [(op, wanted)] = [(k, v) for k, v in cond.items() if k != "property"]
    if name not in props:
        return op == "not"
    value = props[name]
    wanted_list = wanted if isinstance(wanted, list) else [wanted]
    same = any(
        value == w
        if number(value) is not None and number(w) is not None
        else (type(value) is type(w) and value == w)
        for w in wanted_list
    )
    if op in ("equals", "one_of"):
        return same
    if op == "not":
        return not same
    if op == "contains":
        return isinstance(value, str) and wanted in value
    n = number(value)
    if n is None:
        return False
    bound = Decimal(repr(float(wanted)))
    return {"gt": n > bound, "gte": n >= bound, "lt": n < bound, "lte": n <= bound}[op]


def label(value: object) -> str:
    if value is None:
        return "(not set)"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


class Recount:
    def __init__(self, events: list[RawEvent], tz: ZoneInfo) -> None:
        # Mixpanel's dedup rule: one event per (event, distinct_id, time, $insert_id). A daily
        # window's start and end are one day, so its awkward rows arrive twice, as duplicates.
        unique = {(e.name, e.distinct_id, e.time, e.insert_id): e for e in events}
        self.rows = [
            (e.name, e.distinct_id, datetime.fromtimestamp(e.time, tz).date(), dict(e.properties))
            for e in unique.values()
        ]
        self.metrics = {m["key"]: m for m in RAW["metric"]}

    def matching(self, m: dict[str, Any], window: Window) -> list[tuple[str, dict[str, Any]]]:
        events = m["events"]
        return [
            (user, props)
            for name, user, day, props in self.rows
            if day in window
            and (not name.startswith("$") if events == ["*"] else name in events)
            and all(holds(c, props) for c in m.get("where", []))
        ]

    def reduce(self, m: dict[str, Any], rows: list[tuple[str, dict[str, Any]]]) -> Any:
        measure = m.get("measure", "total")
        if measure == "total":
            return len(rows)
        if measure == "unique":
            return len({user for user, _ in rows})
        values = [number(props.get(m["property"])) for _, props in rows]
        read = [v for v in values if v is not None]
        if measure == "sum":
            total = sum(read, Decimal(0))
            return int(total) if total == total.to_integral_value() else float(total)
        return float(sum(read, Decimal(0)) / len(read)) if read else None

    def value(self, key: str, window: Window) -> Any:
        m = self.metrics[key]
        if "formula" in m:
            names = re.findall(r"[a-z_]+", m["formula"])
            values = {n: self.value(n, window) for n in names}
            result = eval(m["formula"], {}, {n: float(v) for n, v in values.items()})  # noqa: S307 - test-only, our own text
            return result * (100 if m.get("unit") == "percent" else 1)
        return self.reduce(m, self.matching(m, window))

    def skipped(self, key: str, window: Window) -> tuple[int, int]:
        m = self.metrics[key]
        rows = self.matching(m, window)
        return sum(number(p.get(m["property"])) is None for _, p in rows), len(rows)

    def breakdown(self, key: str, period: ReportPeriod) -> list[tuple[str, Any, Any]]:
        m = self.metrics[key]
        reference = period.comparisons[0].window

        def split(window: Window) -> dict[str, list[tuple[str, dict[str, Any]]]]:
            groups: dict[str, list[tuple[str, dict[str, Any]]]] = {}
            for user, props in self.matching(m, window):
                groups.setdefault(label(props.get(m["breakdown"])), []).append((user, props))
            return groups

        now, before = split(period.current), split(reference)
        ranked = sorted(now, key=lambda k: (-self.reduce(m, now[k]), k))[: m["top"]]
        rows = [(k, self.reduce(m, now[k]), self.reduce(m, before.get(k, []))) for k in ranked]
        if set(now) - set(ranked) or set(before) - set(ranked):
            rest_now = [r for k, v in now.items() if k not in ranked for r in v]
            rest_before = [r for k, v in before.items() if k not in ranked for r in v]
            rows.append(("other", self.reduce(m, rest_now), self.reduce(m, rest_before)))
        return rows


# -- the cases -----------------------------------------------------------------------------


@dataclass(frozen=True)
class Case:
    kind: PeriodKind
    today: date
    export_in_utc: bool = True


CASES = [
    pytest.param(Case(PeriodKind.DAILY, date(2026, 12, 1)), id="daily-month-end-mtd-30-days"),
    pytest.param(Case(PeriodKind.DAILY, date(2026, 10, 26)), id="daily-25-hour-day"),
    pytest.param(Case(PeriodKind.WEEKLY, date(2026, 10, 26)), id="weekly-fall-back"),
    pytest.param(
        Case(PeriodKind.WEEKLY, date(2026, 11, 23), export_in_utc=False),
        id="weekly-export-in-local-days",
    ),
    pytest.param(Case(PeriodKind.MONTHLY, date(2026, 11, 1)), id="monthly-october"),
]


def build(case: Case) -> tuple[Report, list[RawEvent], Any]:
    yesterday = case.today - timedelta(days=1)
    events = sample_project(end=yesterday, days=75, users=400)
    period = report_period(case.kind, case.today)
    for window in period.windows:
        events += awkward(window.start) + awkward(window.end)
    events.sort(key=lambda e: e.time)
    ctx = ReportContext(
        METRICS, "Acme", LONDON, "https://eu.mixpanel.com/project/1",
        export_in_utc=case.export_in_utc,
    )  # fmt: skip
    with served(events, LONDON, case.today, export_in_utc=case.export_in_utc) as (stand, client):
        report = produce_report(
            period, ctx, mixpanel=client, now=datetime.combine(case.today, time(9), LONDON)
        )
    return report, events, paths(stand)


@pytest.mark.parametrize("case", CASES)
def test_every_figure_of_every_kind_equals_a_recount_from_the_raw_events(case: Case) -> None:
    """Values, baselines, breakdown rows, month to date and skipped counts; 3 requests in all,
    a month too (past the names list's 31 days the /events totals still size the export)."""
    report, events, requests_made = build(case)
    assert requests_made == {NAMES_PATH: 1, EXPORT_PATH: 1, EVENTS_PATH: 1}
    recount = Recount(events, LONDON)
    period = report.period
    assert report.unavailable == ()
    for metric in report.metrics:
        key = metric.spec.key
        assert metric.value == recount.value(key, period.current), key
        assert [c.baseline for c in metric.changes] == [
            recount.value(key, c.window) for c in period.comparisons
        ], key
        if metric.spec.breakdown:
            rows = [
                (r.label, r.value, r.change.baseline if r.change else None)
                for r in metric.breakdown
            ]
            assert rows == recount.breakdown(key, period), key
        if metric.spec.month_to_date and case.kind is PeriodKind.DAILY:
            now, before = month_to_date(period.current.end)
            assert metric.month_to_date is not None
            assert metric.month_to_date.value == recount.value(key, now.window), key
            assert metric.month_to_date.change.baseline == recount.value(key, before.window)
        else:
            assert metric.month_to_date is None
    for key in ("basket", "average_basket"):
        skipped, of = recount.skipped(key, period.current)
        assert skipped >= 3  # text, true and NaN at least: never read as 0
        label_ = METRICS.metrics[[m.key for m in METRICS.metrics].index(key)].label
        assert (
            f"{label_}: {skipped:,} of {of:,} Receipt Uploaded events had no numeric amount; "
            "they were skipped, not counted as 0"
        ) in report.warnings
    validate_against_openapi("Report", report_to_json(report))


def test_the_cases_have_teeth() -> None:
    """Filters and breakdowns really select: each differs from the unfiltered figure."""
    report, events, _ = build(Case(PeriodKind.WEEKLY, date(2026, 11, 23)))
    values = {m.spec.key: m.value for m in report.metrics}
    assert 0 < values["ios_signups"] < values["signups"]
    assert 0 < values["gb_ie_signups"] < values["signups"]
    assert 0 < values["ads_not_web"] < values["signups"]
    assert 0 < values["big_baskets"] < values["basket_count"]
    assert values["small_or_refund"] > 0
    by_country = {m.spec.key: m for m in report.metrics}["signups_by_country"]
    assert [r.label for r in by_country.breakdown][-1] == "other"
    assert sum(r.value or 0 for r in by_country.breakdown) == values["signups"]
    rate = {m.spec.key: m for m in report.metrics}["onboarding_rate"]
    assert rate.changes[0].points == pytest.approx(rate.value - rate.changes[0].baseline)
    amounts = Counter(type(dict(e.properties).get("amount")).__name__ for e in events)
    assert amounts["str"]
    assert amounts["bool"]
    assert amounts["NoneType"]
    assert amounts["float"]


def test_a_formula_dividing_by_zero_reads_n_a_never_an_error() -> None:
    """No signups at all: the onboarding rate is n/a, with the reason."""
    _report, _, _ = build(Case(PeriodKind.DAILY, date(2026, 12, 1)))
    config = parse_metrics(
        {
            "metric": [
                {"key": "none", "label": "None", "events": ["Sign Up"],
                 "where": [{"property": "platform", "equals": "Amiga"}]},
                {"key": "onboarded", "label": "Onboarded", "events": ["User Onboarded"]},
                {"key": "rate", "label": "Rate", "formula": "onboarded / none", "unit": "percent"},
            ]
        }
    )  # fmt: skip
    events = sample_project(end=date(2026, 11, 30), days=20, users=200)
    ctx = ReportContext(config, "Acme", LONDON, "https://x")
    with served(events, LONDON, date(2026, 12, 1)) as (_, client):
        result = produce_report(
            report_period(PeriodKind.DAILY, date(2026, 12, 1)),
            ctx,
            mixpanel=client,
            now=datetime(2026, 12, 1, 9, tzinfo=UTC),
        )
    rate = result.metrics[2]
    assert rate.value is None
    assert rate.unavailable is None
    assert rate.undefined == "n/a: onboarded / none divides by zero"
    assert result.metrics[0].value == 0
