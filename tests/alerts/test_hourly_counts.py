"""Spec of the hourly question on the Mixpanel client: one /events request, strict parsing."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import date

import pytest
import requests
import responses
from responses import matchers

from shared.errors import MixpanelBadResponse
from shared.schedule.hours import LocalHour
from shared.settings import Secret
from shared.sources.mixpanel_client import MixpanelClient
from tests.standin_client import standin_client

QUERY = "https://eu.mixpanel.com/api/query"
SECRET = "SECRET-hourly-1a2b"


@pytest.fixture
def mocked() -> Iterator[responses.RequestsMock]:
    with responses.RequestsMock(assert_all_requests_are_fired=True) as rsps:
        yield rsps


def client() -> MixpanelClient:
    return MixpanelClient(
        query_base=QUERY,
        export_url="https://data-eu.mixpanel.com/api/2.0/export",
        username="svc",
        secret=Secret(SECRET),
        project_id="42",
        session=requests.Session(),
        sleep=lambda _: None,
    )


def test_hourly_counts_ask_once_for_every_event_with_unit_hour(mocked):
    """One GET /events?type=general&unit=hour naming all events; keys become LocalHours."""
    body = {
        "data": {
            "series": ["2026-07-15 09:00:00", "2026-07-15 10:00:00"],
            "values": {
                "Sign Up": {"2026-07-15 09:00:00": 3, "2026-07-15 10:00:00": 0},
                "Receipt Uploaded": {"2026-07-15 09:00:00": 7, "2026-07-15 10:00:00": 5},
            },
        },
        "legend_size": 2,
    }
    mocked.get(
        f"{QUERY}/events",
        json=body,
        match=[
            matchers.query_param_matcher(
                {
                    "project_id": "42",
                    "event": json.dumps(["Sign Up", "Receipt Uploaded"]),
                    "type": "general",
                    "unit": "hour",
                    "from_date": "2026-07-14",
                    "to_date": "2026-07-15",
                }
            )
        ],
    )
    mp = client()
    result = mp.hourly_counts(
        ["Sign Up", "Receipt Uploaded"], from_date=date(2026, 7, 14), to_date=date(2026, 7, 15)
    )
    assert result == {
        "Sign Up": {LocalHour(date(2026, 7, 15), 9): 3, LocalHour(date(2026, 7, 15), 10): 0},
        "Receipt Uploaded": {
            LocalHour(date(2026, 7, 15), 9): 7,
            LocalHour(date(2026, 7, 15), 10): 5,
        },
    }
    assert mp.requests_made == 1


@pytest.mark.parametrize(
    ("values", "message"),
    [
        ({}, "no values for event 'Sign Up'"),
        ({"Sign Up": {"2026-07-15": 3}}, "unexpected hourly bucket '2026-07-15'"),
        ({"Sign Up": {"2026-07-15 09:00:00": -1}}, "no count for event 'Sign Up'"),
        ({"Sign Up": {"2026-07-15 09:00:00": "3"}}, "no count for event 'Sign Up'"),
    ],
    ids=["event-missing", "daily-key", "negative", "string"],
)
def test_a_malformed_hourly_answer_is_an_error_never_zero(mocked, values, message):
    """Every asked event must be there with hour keys and counts >= 0."""
    mocked.get(f"{QUERY}/events", json={"data": {"series": [], "values": values}})
    with pytest.raises(MixpanelBadResponse, match=message):
        client().hourly_counts(["Sign Up"], from_date=date(2026, 7, 15), to_date=date(2026, 7, 15))


@pytest.mark.parametrize("export_in_utc", [True, False], ids=["utc-export", "project-export"])
def test_the_export_variant_counts_exactly_what_hourly_events_counts(export_in_utc):
    """Same stand-in, same sample (fall-back day included): export buckets == /events buckets."""
    from zoneinfo import ZoneInfo

    from devtools.mixpanel_standin import MixpanelStandIn
    from devtools.sample_data import sample_project

    london = ZoneInfo("Europe/London")
    events = sample_project(end=date(2026, 10, 26), days=3, users=400)
    with MixpanelStandIn(
        events,
        username="svc",
        secret=SECRET,
        project_id="42",
        today=date(2026, 10, 27),
        export_in_utc=export_in_utc,
    ) as standin:
        mp = standin_client(
            standin.origin,
            username="svc",
            secret=SECRET,
            project_id="42",
            session=requests.Session(),
        )
        names = ["Receipt Uploaded", "Email Sent", "Sign Up"]
        span = {"from_date": date(2026, 10, 24), "to_date": date(2026, 10, 26)}
        by_query = mp.hourly_counts(names, **span)
        by_export = mp.hourly_counts_from_export(
            names, **span, timezone=london, export_in_utc=export_in_utc
        )
        paths = [r.path for r in standin.requests]
    assert by_export == by_query
    assert len(by_query["Email Sent"]) == 72  # 24 + 24 (one 01:00 bucket on 25 Oct) + 24
    assert sum(by_query["Email Sent"].values()) > 0
    assert paths == ["/api/query/events", "/api/2.0/export"]
