"""Specs: alert rules on filtered, unique, summed, averaged and formula metrics.

A synthetic project with one planted breach per metric kind on Wed 15 Jul 2026 is served by
the Mixpanel stand-in (which sends every 7th export line twice, as Mixpanel's export does) and
read by the real client. Each rule must post exactly one alert and one resolved post, at the
expected hour, showing the value recounted below straight from the raw events (the recount
shares no code with the app). Every check costs one export for all such rules together.
"""

from __future__ import annotations

import tomllib
from collections.abc import Callable, Iterator
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest
import requests

from devtools.mixpanel_standin import MixpanelStandIn
from devtools.sample_data import RawEvent
from shared.alerts.check import AlertContext, backtest, run_alert_check
from shared.alerts.derived import DerivedTally
from shared.alerts.rules import AlertsConfig, parse_alerts
from shared.delivery.breach import Outcome
from shared.delivery.ledger import InMemoryLedger
from shared.errors import ExportTooLarge, MetricsFileError
from shared.render.alert_message import render_alert, render_resolved
from shared.report.metrics import MetricSpec, parse_metrics
from shared.schedule.hours import LocalHour, hours_of_day
from shared.sources.mixpanel_client import MixpanelClient
from tests.fakes import FakeSlack
from tests.standin_client import standin_client

LONDON = ZoneInfo("Europe/London")
DAY = date(2026, 7, 15)  # a Wednesday: the day of every planted breach
USERNAME, SECRET, PROJECT_ID = "svc.derived", "MPSECRET-derived-4b1c", "616161"
FIRST = DAY - timedelta(days=35)
PLATFORMS = ("iOS", "Android", "Web", "iOS", "Android", "Web")
AMOUNTS = (10.0, 20.5, 15.25, 30.0)

METRICS_TOML = """
[[metric]]
key = "signups"
label = "Signups"
events = ["Sign Up"]

[[metric]]
key = "ios_signups"
label = "iOS signups"
events = ["Sign Up"]
where = [{ property = "platform", equals = "iOS" }]

[[metric]]
key = "android_users"
label = "Android signup users"
events = ["Sign Up"]
measure = "unique"
where = [{ property = "platform", equals = "Android" }]

[[metric]]
key = "buyers"
label = "Buyers"
events = ["Purchase"]
measure = "unique"

[[metric]]
key = "revenue"
label = "Revenue"
events = ["Purchase"]
measure = "sum"
property = "amount"
unit = "currency"
currency = "GBP"

[[metric]]
key = "basket"
label = "Average basket"
events = ["Purchase"]
measure = "average"
property = "amount"

[[metric]]
key = "onboarded"
label = "Onboarded"
events = ["User Onboarded"]

[[metric]]
key = "activation"
label = "Activation rate"
formula = "onboarded / signups"
unit = "percent"

[[metric]]
key = "active_users"
label = "Active users"
events = ["*"]
measure = "unique"
"""
METRICS = parse_metrics(tomllib.loads(METRICS_TOML), source="metrics.toml")

RULES: dict[str, dict[str, object]] = {
    "ios-stop": {"metric": "ios_signups", "when": "below", "value": 1},
    "android-anomaly": {"metric": "android_users", "when": "anomaly", "direction": "up"},
    "buyers-surge": {"metric": "buyers", "when": "above", "value": 10},
    "revenue-high": {"metric": "revenue", "when": "above", "value": 2500, "granularity": "day"},
    "basket-jump": {"metric": "basket", "when": "change", "change_pct": 50, "direction": "up"},
    "activation-low": {
        "metric": "activation",
        "when": "below",
        "value": 40,
        "granularity": "day",
    },
}


def at(day: date, hour: int, minute: int) -> int:
    return int(datetime(day.year, day.month, day.day, hour, minute, tzinfo=LONDON).timestamp())


def build_project() -> list[RawEvent]:
    """Five steady weeks, then the planted breaches of 15 Jul (one per rule)."""
    events: list[RawEvent] = []

    def add(name: str, user: str, when: int, **props: object) -> None:
        events.append(RawEvent(name, user, when, f"{name[:2]}-{len(events)}", tuple(props.items())))

    day = FIRST
    while day <= DAY + timedelta(days=2):
        for hour in range(24):
            planted = day == DAY
            for i, platform in enumerate(PLATFORMS):
                if planted and 10 <= hour <= 12 and platform == "iOS":
                    continue  # ios-stop: no iOS signups from 10:00 to 12:59
                add("Sign Up", f"s-{day}-{hour}-{i}", at(day, hour, 7 * i), platform=platform)
            for i, amount in enumerate(AMOUNTS):
                paid = amount * 4 if planted and hour == 6 else amount  # basket-jump at 06:00
                add("Purchase", f"b-{day}-{hour}-{i}", at(day, hour, 3 + 11 * i), amount=paid)
            for i in range(3):
                if planted and hour >= 12:
                    continue  # activation-low: nobody onboards after noon
                add("User Onboarded", f"o-{day}-{hour}-{i}", at(day, hour, 5 + 13 * i))
            if planted and hour in (15, 16):  # buyers-surge: 8 more buyers, twice each
                for i in range(16):
                    add("Purchase", f"x-{hour}-{i % 8}", at(day, hour, 30 + i), amount=5.0)
            if planted and hour == 19:  # android-anomaly: 6 more Android users, twice each
                for i in range(12):
                    add("Sign Up", f"a-{i % 6}", at(day, hour, 20 + i), platform="Android")
            if planted and hour == 6:  # revenue-high: one big order, one unreadable amount
                add("Purchase", "big", at(day, hour, 40), amount=999.99)
                add("Purchase", "odd", at(day, hour, 41), amount="unreadable")
        day += timedelta(days=1)
    return events


# -- the recount: straight from the raw events, sharing no code with the app -------------------


def local_slot(event: RawEvent) -> tuple[date, int]:
    moment = datetime.fromtimestamp(event.time, LONDON)
    return moment.date(), moment.hour


def recount(events: list[RawEvent], key: str, day: date, hour: int | None) -> Decimal:
    """The metric over the local hour (or the whole local day when `hour` is None)."""

    def inside(e: RawEvent) -> bool:
        d, h = local_slot(e)
        return d == day and (hour is None or h == hour)

    chosen = [e for e in events if inside(e)]
    props = [dict(e.properties) for e in chosen]
    sign_ups = [(e, p) for e, p in zip(chosen, props, strict=True) if e.name == "Sign Up"]
    buys = [(e, p) for e, p in zip(chosen, props, strict=True) if e.name == "Purchase"]
    amounts = [Decimal(repr(p["amount"])) for _, p in buys if isinstance(p["amount"], float)]
    if key == "ios_signups":
        return Decimal(sum(1 for _, p in sign_ups if p["platform"] == "iOS"))
    if key == "android_users":
        return Decimal(len({e.distinct_id for e, p in sign_ups if p["platform"] == "Android"}))
    if key == "buyers":
        return Decimal(len({e.distinct_id for e, _ in buys}))
    if key == "revenue":
        return sum(amounts, Decimal(0))
    if key == "basket":
        return sum(amounts, Decimal(0)) / len(amounts)
    if key == "activation":
        onboarded = sum(1 for e in chosen if e.name == "User Onboarded")
        return Decimal(onboarded) / len(sign_ups) * 100
    raise AssertionError(key)


SHOWN: dict[str, Callable[[Decimal], str]] = {
    "ios_signups": lambda v: f"{int(v):,}",
    "android_users": lambda v: f"{int(v):,}",
    "buyers": lambda v: f"{int(v):,}",
    "revenue": lambda v: f"£{v:,.2f}",
    "basket": lambda v: f"{v:,.2f}",
    "activation": lambda v: f"{v:.1f}%",
}

# rule -> (the slot its breach is judged on, local moment of the alert, of the resolved post)
Moment = tuple[date, int]  # a local date and hour
EXPECTED: dict[str, tuple[tuple[date, int | None], Moment, Moment]] = {
    "ios-stop": ((DAY, 10), (date(2026, 7, 15), 11), (date(2026, 7, 15), 14)),
    "basket-jump": ((DAY, 6), (date(2026, 7, 15), 7), (date(2026, 7, 15), 8)),
    "buyers-surge": ((DAY, 15), (date(2026, 7, 15), 16), (date(2026, 7, 15), 18)),
    "android-anomaly": ((DAY, 19), (date(2026, 7, 15), 20), (date(2026, 7, 15), 21)),
    "revenue-high": ((DAY, None), (date(2026, 7, 16), 0), (date(2026, 7, 17), 0)),
    "activation-low": ((DAY, None), (date(2026, 7, 16), 0), (date(2026, 7, 17), 0)),
}


def alerts(*names: str, **extra: object) -> AlertsConfig:
    entries = [{"name": n, "min_interval_hours": 1, **RULES[n], **extra} for n in names]
    return parse_alerts({"alert": entries}, METRICS, source="alerts.toml", watch_events=())


def context(config: AlertsConfig) -> AlertContext:
    return AlertContext(config, METRICS, LONDON, "Acme", render_alert, render_resolved)


@pytest.fixture(scope="module")
def project() -> list[RawEvent]:
    return build_project()


def serving(project: list[RawEvent], *, export_in_utc: bool = True) -> Iterator[MixpanelStandIn]:
    """The stand-in serving `project` (every 7th export line sent twice), stopped at the end."""
    stand = MixpanelStandIn(
        project,
        username=USERNAME,
        secret=SECRET,
        project_id=PROJECT_ID,
        today=DAY + timedelta(days=2),
        duplicate_every=7,
        export_in_utc=export_in_utc,
    )
    stand.start()
    try:
        yield stand
    finally:
        stand.stop()


@pytest.fixture(scope="module")
def standin(project: list[RawEvent]) -> Iterator[MixpanelStandIn]:
    yield from serving(project)


def client(stand: MixpanelStandIn) -> MixpanelClient:
    return standin_client(
        stand.origin,
        username=USERNAME,
        secret=SECRET,
        project_id=PROJECT_ID,
        session=requests.Session(),
    )


def exports(stand: MixpanelStandIn, since: int) -> list[dict[str, str]]:
    return [r.query for r in stand.requests[since:] if r.path.endswith("/export")]


def hourly_queries(stand: MixpanelStandIn, since: int) -> int:
    return sum(1 for r in stand.requests[since:] if r.query.get("unit") == "hour")


@pytest.mark.parametrize("name", list(EXPECTED))
def test_each_kind_fires_and_resolves_exactly_once_with_the_recounted_value(
    name: str, project: list[RawEvent], standin: MixpanelStandIn
) -> None:
    """The backtest replays every hour of 14-16 Jul: one alert, one resolved, at the planted
    breach, its text showing the value recounted from the raw events; one export in all."""
    before = len(standin.requests)
    now = datetime(2026, 7, 17, 0, 30, tzinfo=LONDON)
    found = backtest(context(alerts(name)), client(standin), now=now, days=3)
    (day, hour), opened_at, resolved_at = EXPECTED[name]
    moments = [p.at.astimezone(LONDON) for p in found]
    assert [
        (p.rule, p.outcome, (m.date(), m.hour)) for p, m in zip(found, moments, strict=True)
    ] == [
        (f"rule:{name}", Outcome.OPENED, opened_at),
        (f"rule:{name}", Outcome.RESOLVED, resolved_at),
    ]
    key = str(RULES[name]["metric"])
    value = recount(project, key, day, hour)
    slot = f"{day:%a %d %b}" + ("" if hour is None else f" {hour:02d}:00")
    unit = "day" if hour is None else "hour"
    assert f"{SHOWN[key](value)} in the {unit} of {slot}" in found[0].text
    assert len(exports(standin, before)) == 1  # the whole replay: one export, no per-day calls
    assert hourly_queries(standin, before) == 0  # no plain total rule: no hourly /events


def test_the_recount_sees_what_was_planted(project: list[RawEvent]) -> None:
    """The recount itself: duplicates aside, the planted values are what the rules expect."""
    assert recount(project, "ios_signups", DAY, 10) == 0
    assert recount(project, "buyers", DAY, 15) == 12  # 4 usual + 8 new, each new one twice
    assert recount(project, "android_users", DAY, 19) == 8
    assert recount(project, "basket", DAY, 6) == Decimal("1302.99") / 5  # 4x usual + big one
    # 24 usual hours of 75.75, 32 extra orders of 5, the 4x hour and the big one; "unreadable"
    # is skipped, never 0
    assert recount(project, "revenue", DAY, None) == Decimal("3205.24")
    # 36 onboarded before noon; 144 usual signups, 6 iOS fewer, 12 more on Android
    assert recount(project, "activation", DAY, None) == 24


def test_a_day_of_live_checks_posts_once_per_breach_for_one_export_per_check(
    standin: MixpanelStandIn,
) -> None:
    """Every hour of 15 Jul, each fire twice: hourly rules post one alert and one resolved
    each; every check costs one hourly /events (the plain rule) and ONE export for all the
    derived rules together, narrowed to their events."""
    config = parse_alerts(
        {
            "alert": [
                {"name": n, "min_interval_hours": 1, **RULES[n]}
                for n in ("ios-stop", "buyers-surge", "revenue-high")
            ]
            + [{"name": "signups-plain", "metric": "signups", "when": "above", "value": 10_000}]
        },
        METRICS,
        watch_events=(),
    )
    ctx = context(config)
    ledger, slack, source = InMemoryLedger(), FakeSlack(), client(standin)
    before = len(standin.requests)
    checks = 0
    for hour in range(24):
        for _ in range(2):
            now = datetime(2026, 7, 15, hour, 15, tzinfo=LONDON).astimezone(UTC)
            run_alert_check(ctx, now=now, source=source, poster=slack, ledger=ledger)
            checks += 1
    texts = [p["text"] for p in slack.posts]
    assert len(texts) == 4, texts
    assert texts[0].startswith("Alert: iOS signups: alert 'ios-stop'")
    assert texts[1] == "Resolved: alert 'ios-stop' no longer fires"
    assert texts[2].startswith("Alert: Buyers: alert 'buyers-surge'")
    assert texts[3] == "Resolved: alert 'buyers-surge' no longer fires"
    sent = exports(standin, before)
    assert len(sent) == checks  # one export per check, for all derived rules together
    assert {q["event"] for q in sent} == {'["Purchase", "Sign Up"]'}
    # yesterday and today, local, from a UTC day earlier up to today in UTC
    assert {(q["from_date"], q["to_date"]) for q in sent} == {
        ("2026-07-13", "2026-07-14"),  # the 00:15 check: still 14 Jul in UTC
        ("2026-07-13", "2026-07-15"),
    }
    assert hourly_queries(standin, before) == checks


def test_quiet_hours_hold_a_derived_alert_until_they_end(standin: MixpanelStandIn) -> None:
    """ios-stop breaches from 10:00; with quiet hours 10-13 it posts at 13:00, still once."""
    found = backtest(
        context(alerts("ios-stop", quiet_hours="10-13")),
        client(standin),
        now=datetime(2026, 7, 16, 0, 30, tzinfo=LONDON),
        days=1,
    )
    assert [(p.outcome, p.at.astimezone(LONDON).hour) for p in found] == [
        (Outcome.OPENED, 13),
        (Outcome.RESOLVED, 14),
    ]


def test_minimum_volume_counts_the_events_behind_a_derived_value(standin: MixpanelStandIn) -> None:
    """buyers-surge reaches 12 buyers: with min_volume 13 it is never news."""
    found = backtest(
        context(alerts("buyers-surge", min_volume=13)),
        client(standin),
        now=datetime(2026, 7, 16, 0, 30, tzinfo=LONDON),
        days=1,
    )
    assert found == []


def test_a_thirty_day_backtest_of_every_kind_costs_one_export(standin: MixpanelStandIn) -> None:
    """All six rules over 30 days: one export over the range, reduced per hour and day."""
    before = len(standin.requests)
    found = backtest(
        context(alerts(*RULES)),
        client(standin),
        now=datetime(2026, 7, 17, 0, 30, tzinfo=LONDON),
        days=30,
    )
    assert sorted((p.rule, p.outcome) for p in found) == sorted(
        (f"rule:{n}", o) for n in RULES for o in (Outcome.OPENED, Outcome.RESOLVED)
    )
    [sent] = exports(standin, before)
    # 30 days + 4 weeks of history for the change and anomaly rules, a UTC day earlier; up
    # to today in UTC (16 Jul 23:30)
    assert (sent["from_date"], sent["to_date"]) == ("2026-05-18", "2026-07-16")


def test_rules_without_a_sound_reading_are_refused_by_name() -> None:
    """Every problem at once: file, rule and reason."""
    raw = {
        "alert": [
            {"name": "dau", "metric": "active_users", "when": "below", "value": 5},
            {"name": "rev-anomaly", "metric": "revenue", "when": "anomaly"},
            {"name": "rate-pct", "metric": "activation", "when": "change", "change_pct": 10},
            {"name": "rate-pts", "metric": "activation", "when": "change", "change_abs": 5},
        ]
    }
    with pytest.raises(MetricsFileError) as caught:
        parse_alerts(raw, METRICS, source="alerts file alerts.toml")
    assert caught.value.problems == [
        "alerts file alerts.toml: alert 'dau': metric 'active_users' counts every event of the "
        "project (events ['*']), which no small export can count per check; alert on named "
        "events instead",
        "alerts file alerts.toml: alert 'rev-anomaly': metric 'revenue' is a sum, and the "
        "anomaly band's noise floor is that of counts (Poisson); use above/below or change "
        "instead",
        "alerts file alerts.toml: alert 'rate-pct': metric 'activation' is a rate, whose change "
        "is read in percentage points: use change_abs (points), not change_pct",
    ]


def test_an_export_over_the_limit_leaves_derived_rules_unjudged(standin: MixpanelStandIn) -> None:
    """Over EXPORT_MAX_EVENTS the derived rules keep their state: no alert, no false resolve."""
    ctx = AlertContext(
        alerts("ios-stop"),
        METRICS,
        LONDON,
        "Acme",
        render_alert,
        render_resolved,
        export_max_events=50,
    )
    slack = FakeSlack()
    result = run_alert_check(
        ctx,
        now=datetime(2026, 7, 15, 11, 15, tzinfo=LONDON),
        source=client(standin),
        poster=slack,
        ledger=InMemoryLedger(),
    )
    assert result.outcomes == {}
    assert slack.posts == []


def stamp(day: date, hour: int, minute: int) -> float:
    """The export's `time` reading `hour:minute` on `day` (as UTC, or as a pre-2023 wall clock)."""
    return datetime(day.year, day.month, day.day, hour, minute, tzinfo=UTC).timestamp()


def hourly_tally(spec: MetricSpec, day: date, *, wall_clock: bool = False) -> DerivedTally:
    """A tally of `spec` by the hour and the day, for `day` alone, in London."""
    return DerivedTally(
        [spec],
        first=day,
        last=day,
        timezone=LONDON,
        hourly=frozenset({spec.key}),
        daily=frozenset({spec.key}),
        wall_clock=wall_clock,
    )


def test_the_tally_buckets_by_wall_clock_hour_across_both_clock_changes() -> None:
    """Fall-back: both 01:00s land in the one 01:00 bucket; spring-forward: 01:30 UTC is 02:30
    local. A line sent twice (same event, user, time and $insert_id) counts once."""
    spec = METRICS.computed[1]  # ios_signups
    assert spec.key == "ios_signups"
    ios = {"platform": "iOS"}
    autumn, spring = date(2026, 10, 25), date(2026, 3, 29)
    for day, lines, expected in [
        (
            autumn,
            [(0, 30, "a"), (1, 30, "b"), (1, 30, "b"), (2, 30, "c")],  # 01:30 BST, 01:30 GMT
            {LocalHour(autumn, 1): 2, LocalHour(autumn, 2): 1},
        ),
        (spring, [(0, 30, "a"), (1, 30, "b")], {LocalHour(spring, 0): 1, LocalHour(spring, 2): 1}),
    ]:
        tally = hourly_tally(spec, day)
        tally.add_all([("Sign Up", "u", stamp(day, h, m), iid, ios) for h, m, iid in lines])
        figures = tally.result()
        hours = hours_of_day(day, LONDON)
        got = {h: r[0] for h in hours if (r := figures.reading(spec, h, {})) and r[0]}
        assert got == expected
        assert figures.reading(spec, day, {}) == (sum(expected.values()), sum(expected.values()))


def test_a_backtest_over_the_limit_says_so_rather_than_replaying_nothing(
    standin: MixpanelStandIn,
) -> None:
    """A dry run that cannot read the export fails with the reason: never "would not fire"."""
    ctx = AlertContext(
        alerts("ios-stop"),
        METRICS,
        LONDON,
        "Acme",
        render_alert,
        render_resolved,
        export_max_events=50,
    )
    with pytest.raises(ExportTooLarge):
        backtest(ctx, client(standin), now=datetime(2026, 7, 16, 0, 30, tzinfo=LONDON), days=1)


# -- a project created before 2023: the export's days and `time` are local wall-clock ---------


@pytest.fixture(scope="module")
def legacy(project: list[RawEvent]) -> Iterator[MixpanelStandIn]:
    """The same project, created before 2023 (export-methods.mdx: local wall-clock time)."""
    yield from serving(project, export_in_utc=False)


@pytest.mark.parametrize("name", list(EXPECTED))
def test_each_kind_fires_at_the_same_moment_on_a_project_created_before_2023(
    name: str, project: list[RawEvent], legacy: MixpanelStandIn
) -> None:
    """Read as local wall-clock time, the pre-2023 export replays exactly as the UTC one: the
    same alert and resolved moments, the same recounted value; local export days, unwidened."""
    before = len(legacy.requests)
    now = datetime(2026, 7, 17, 0, 30, tzinfo=LONDON)
    ctx = AlertContext(
        alerts(name), METRICS, LONDON, "Acme", render_alert, render_resolved, export_in_utc=False
    )
    found = backtest(ctx, client(legacy), now=now, days=3)
    (day, hour), opened_at, resolved_at = EXPECTED[name]
    assert [
        (p.rule, p.outcome, (p.at.astimezone(LONDON).date(), p.at.astimezone(LONDON).hour))
        for p in found
    ] == [
        (f"rule:{name}", Outcome.OPENED, opened_at),
        (f"rule:{name}", Outcome.RESOLVED, resolved_at),
    ]
    key = str(RULES[name]["metric"])
    slot = f"{day:%a %d %b}" + ("" if hour is None else f" {hour:02d}:00")
    unit = "day" if hour is None else "hour"
    assert f"{SHOWN[key](recount(project, key, day, hour))} in the {unit} of {slot}" in (
        found[0].text
    )
    [sent] = exports(legacy, before)
    assert sent["to_date"] == "2026-07-17"  # today in London: the export's days are local


def test_wall_clock_export_times_bucket_by_their_own_hour_across_both_clock_changes() -> None:
    """A pre-2023 `time` is the wall-clock reading: both autumn 01:30s read 01:30 (one bucket,
    both counted); on the spring day 00:30 and 02:30 are their own hours."""
    spec = METRICS.computed[1]  # ios_signups
    ios = {"platform": "iOS"}
    autumn, spring = date(2026, 10, 25), date(2026, 3, 29)
    for day, lines, expected in [
        (
            autumn,
            [(0, 30, "a"), (1, 30, "b"), (1, 30, "b2"), (1, 30, "b2"), (2, 30, "c")],
            {LocalHour(autumn, 0): 1, LocalHour(autumn, 1): 2, LocalHour(autumn, 2): 1},
        ),
        (spring, [(0, 30, "a"), (2, 30, "b")], {LocalHour(spring, 0): 1, LocalHour(spring, 2): 1}),
    ]:
        tally = hourly_tally(spec, day, wall_clock=True)
        late = stamp(day, 23, 59) + 60  # the next local day's first second: not this day's
        tally.add_all(
            [("Sign Up", "u", stamp(day, h, m), iid, ios) for h, m, iid in lines]
            + [("Sign Up", "u", late, "next-day", ios)]
        )
        figures = tally.result()
        got = {
            h: r[0]
            for h in hours_of_day(day, LONDON)
            if (r := figures.reading(spec, h, {})) and r[0]
        }
        assert got == expected
        assert figures.reading(spec, day, {}) == (sum(expected.values()), sum(expected.values()))
