"""Specs for the sample project's event properties (platform, country, amount, points, source)."""

from __future__ import annotations

import json
from collections import Counter
from datetime import date, timedelta
from zoneinfo import ZoneInfo

import requests

from devtools.mixpanel_standin import MixpanelStandIn
from devtools.sample_data import (
    AMOUNT_MISSING_PER_MILLE,
    AMOUNT_TEXT_PER_MILLE,
    SAMPLE_TIMEZONE,
    SERVER_EVENTS,
    _day_events,
    _Population,
    sample_project,
)

END = date(2026, 11, 22)
EVENTS = sample_project(end=END, days=28, users=1500)


def test_properties_leave_the_events_themselves_unchanged() -> None:
    """Names, users, times and insert ids are exactly those of the generator without properties."""
    pop = _Population(users=1500, seed=7)
    zone = ZoneInfo(SAMPLE_TIMEZONE)
    bare = [
        e for offset in range(27, -1, -1) for e in _day_events(pop, END - timedelta(offset), zone)
    ]
    assert [(e.name, e.distinct_id, e.time, e.insert_id) for e in EVENTS] == [
        (e.name, e.distinct_id, e.time, e.insert_id) for e in bare
    ]
    assert all(e.properties == () for e in bare)


def test_app_events_carry_the_users_platform_and_country_and_server_events_do_not() -> None:
    """A user keeps one platform and country; email events (sent by the backend) have none."""
    seen: dict[str, tuple[object, object]] = {}
    for event in EVENTS:
        props = dict(event.properties)
        if event.name.startswith("$") or event.name in SERVER_EVENTS:
            assert props == {}
            continue
        pair = (props["platform"], props["country"])
        assert seen.setdefault(event.distinct_id, pair) == pair
    platforms = Counter(p for p, _ in seen.values())
    assert set(platforms) == {"iOS", "Android", "Web"}
    assert platforms["iOS"] > platforms["Android"] > platforms["Web"]
    assert {"GB", "IE", "US"} <= {c for _, c in seen.values()}


def test_receipts_have_amounts_with_a_few_missing_or_unreadable() -> None:
    """Amounts in pounds and pence; about 1.5% missing and 0.5% text, for the quality note."""
    receipts = [dict(e.properties) for e in EVENTS if e.name == "Receipt Uploaded"]
    kinds = Counter(type(r.get("amount")).__name__ for r in receipts)
    assert set(kinds) == {"float", "str", "NoneType"}
    assert kinds["NoneType"] / len(receipts) < 3 * AMOUNT_MISSING_PER_MILLE / 1000
    assert kinds["str"] / len(receipts) < 3 * AMOUNT_TEXT_PER_MILLE / 1000
    amounts = [r["amount"] for r in receipts if isinstance(r.get("amount"), float)]
    assert min(amounts) >= 5.0
    assert max(amounts) < 100.0
    points = {dict(e.properties)["points"] for e in EVENTS if e.name == "PlanetPoints Added"}
    assert points <= set(range(10, 510, 10))
    sources = {dict(e.properties)["source"] for e in EVENTS if e.name == "Sign Up"}
    assert sources == {"organic", "instagram_ads", "tiktok_ads", "friend_referral"}


def test_the_stand_in_exports_each_events_properties() -> None:
    """The raw export line carries the event's properties after Mixpanel's own fields."""
    receipt = next(e for e in EVENTS if e.name == "Receipt Uploaded" and e.properties)
    with MixpanelStandIn(
        [receipt], username="u", secret="s", project_id="1", today=END + timedelta(days=1)
    ) as stand:
        day = END.isoformat()
        first = (END - timedelta(days=28)).isoformat()
        body = requests.get(
            f"{stand.origin}/api/2.0/export",
            params={"project_id": "1", "from_date": first, "to_date": day},
            auth=("u", "s"),
            timeout=10,
        ).text
    [line] = body.splitlines()
    props = json.loads(line)["properties"]
    assert {k: props[k] for k, _ in receipt.properties} == dict(receipt.properties)
    assert props["distinct_id"] == receipt.distinct_id
