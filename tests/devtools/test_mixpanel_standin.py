"""Specs for the loopback Mixpanel Query and Export API stand-in."""

import base64
import json
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterable, Iterator
from datetime import date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest
import requests

from devtools.mixpanel_standin import RATE_LIMIT_MESSAGE, MixpanelStandIn, RecordedRequest
from devtools.sample_data import SAMPLE_TIMEZONE, RawEvent, sample_project

LONDON = ZoneInfo(SAMPLE_TIMEZONE)
USERNAME = "svc-user"
SECRET = "svc-secret"
PROJECT_ID = "31337"
AUTH = (USERNAME, SECRET)
TODAY = date(2026, 11, 20)

Serve = Callable[..., MixpanelStandIn]


def local(stamp: str, *, fold: int = 0) -> int:
    """Epoch seconds of a London wall-clock time ("2026-07-01 23:59:59")."""
    return int(datetime.fromisoformat(stamp).replace(tzinfo=LONDON, fold=fold).timestamp())


def utc(stamp: str) -> int:
    return int(datetime.fromisoformat(f"{stamp}+00:00").timestamp())


def event(name: str, user: str, when: int, insert_id: str = "") -> RawEvent:
    return RawEvent(name, user, when, insert_id or f"{name}-{user}-{when}")


def local_day_counts(events: Iterable[RawEvent], name: str) -> Counter[str]:
    """What Mixpanel reports per local day, computed straight from the raw events."""
    return Counter(
        datetime.fromtimestamp(e.time, LONDON).date().isoformat() for e in events if e.name == name
    )


@pytest.fixture
def serve() -> Iterator[Serve]:
    """Start stand-ins on free ports (today fixed to TODAY unless given); stop them afterwards."""
    started: list[MixpanelStandIn] = []

    def start(events: Iterable[RawEvent], **options: Any) -> MixpanelStandIn:
        options.setdefault("today", TODAY)
        standin = MixpanelStandIn(
            events, username=USERNAME, secret=SECRET, project_id=PROJECT_ID, **options
        )
        standin.start()
        started.append(standin)
        return standin

    yield start
    for standin in started:
        standin.stop()


def get_as(
    auth: tuple[str, str] | None, standin: MixpanelStandIn, path: str, params: dict[str, str]
) -> requests.Response:
    query = {"project_id": PROJECT_ID, **params}
    return requests.get(f"{standin.origin}{path}", params=query, auth=auth, timeout=5)


def get(standin: MixpanelStandIn, path: str, **params: str) -> requests.Response:
    return get_as(AUTH, standin, path, params)


def events_query(standin: MixpanelStandIn, names: list[str], **params: str) -> requests.Response:
    return get(standin, "/api/query/events", event=json.dumps(names), **params)


def day_values(response: requests.Response, name: str) -> dict[str, int]:
    assert response.status_code == 200, response.text
    values: dict[str, int] = response.json()["data"]["values"][name]
    return values


# /events: buckets


def test_events_endpoint_buckets_by_local_day(serve: Serve) -> None:
    """23:59:59 local counts on its day and 00:00:00 local on the next, whatever the UTC date."""
    events = [
        event("Sign Up", "a", local("2026-07-01 23:59:59")),  # 22:59:59 UTC on 1 Jul
        event("Sign Up", "b", local("2026-07-02 00:00:00")),  # 23:00:00 UTC on 1 Jul
        event("Sign Up", "c", local("2026-07-02 00:30:00")),
        event("Sign Up", "d", local("2026-07-03 23:59:59")),
        event("App Opened", "a", local("2026-07-02 12:00:00")),
    ]
    standin = serve(events)
    response = events_query(
        standin,
        ["Sign Up"],
        type="general",
        unit="day",
        from_date="2026-07-01",
        to_date="2026-07-03",
    )
    assert response.json() == {
        "data": {
            "series": ["2026-07-01", "2026-07-02", "2026-07-03"],
            "values": {"Sign Up": {"2026-07-01": 1, "2026-07-02": 2, "2026-07-03": 1}},
        },
        "legend_size": 1,
    }
    assert day_values(response, "Sign Up") == local_day_counts(events, "Sign Up")


def test_day_buckets_follow_the_clock_changes_of_a_23_and_a_25_hour_day(serve: Serve) -> None:
    """Around 29 Mar and 25 Oct 2026 each local day keeps exactly its own (23 h / 25 h) events."""
    events = [
        event("Item Tracked", "a", local("2026-03-28 23:59:59")),
        event("Item Tracked", "a", local("2026-03-29 00:00:00")),
        event("Item Tracked", "b", local("2026-03-29 00:59:59")),  # GMT, just before the gap
        event("Item Tracked", "b", local("2026-03-29 02:00:00")),  # BST, just after it
        event("Item Tracked", "c", local("2026-03-29 23:59:59")),
        event("Item Tracked", "c", local("2026-03-30 00:00:00")),
        event("Item Tracked", "a", local("2026-10-24 23:59:59")),
        event("Item Tracked", "a", local("2026-10-25 01:30:00", fold=0)),  # first 01:30 (BST)
        event("Item Tracked", "b", local("2026-10-25 01:30:00", fold=1)),  # second 01:30 (GMT)
        event("Item Tracked", "c", local("2026-10-25 23:59:59")),
        event("Item Tracked", "c", local("2026-10-26 00:00:00")),
    ]
    standin = serve(events)
    for start, end in (("2026-03-23", "2026-03-31"), ("2026-10-19", "2026-10-27")):
        response = events_query(
            standin, ["Item Tracked"], type="general", unit="day", from_date=start, to_date=end
        )
        expected = local_day_counts(events, "Item Tracked")
        got = day_values(response, "Item Tracked")
        assert got == {key: expected[key] for key in got}
    march = events_query(
        standin,
        ["Item Tracked"],
        type="general",
        unit="day",
        from_date="2026-03-28",
        to_date="2026-03-30",
    )
    assert day_values(march, "Item Tracked") == {"2026-03-28": 1, "2026-03-29": 4, "2026-03-30": 1}
    october = events_query(
        standin,
        ["Item Tracked"],
        type="general",
        unit="day",
        from_date="2026-10-24",
        to_date="2026-10-26",
    )
    assert day_values(october, "Item Tracked") == {
        "2026-10-24": 1,
        "2026-10-25": 3,
        "2026-10-26": 1,
    }


def test_every_requested_event_gets_a_zero_for_each_empty_bucket(serve: Serve) -> None:
    """The series lists every day in range and each event has an entry, 0 when nothing happened."""
    standin = serve([event("Sign Up", "a", local("2026-07-02 09:00:00"))])
    response = events_query(
        standin,
        ["Sign Up", "Voucher Redeemed"],
        type="general",
        unit="day",
        from_date="2026-07-01",
        to_date="2026-07-03",
    )
    assert response.json() == {
        "data": {
            "series": ["2026-07-01", "2026-07-02", "2026-07-03"],
            "values": {
                "Sign Up": {"2026-07-01": 0, "2026-07-02": 1, "2026-07-03": 0},
                "Voucher Redeemed": {"2026-07-01": 0, "2026-07-02": 0, "2026-07-03": 0},
            },
        },
        "legend_size": 2,
    }


def test_unique_type_counts_distinct_ids_per_bucket_per_event(serve: Serve) -> None:
    """type=unique counts each distinct_id once per day and event."""
    events = [
        event("Receipt Uploaded", "a", local("2026-07-01 09:00:00")),
        event("Receipt Uploaded", "a", local("2026-07-01 10:00:00")),
        event("Receipt Uploaded", "b", local("2026-07-01 11:00:00")),
        event("Receipt Uploaded", "a", local("2026-07-02 09:00:00")),
        event("App Opened", "c", local("2026-07-02 09:00:00")),
    ]
    standin = serve(events)
    response = events_query(
        standin,
        ["Receipt Uploaded", "App Opened"],
        type="unique",
        unit="day",
        from_date="2026-07-01",
        to_date="2026-07-02",
    )
    assert response.json()["data"]["values"] == {
        "Receipt Uploaded": {"2026-07-01": 2, "2026-07-02": 1},
        "App Opened": {"2026-07-01": 0, "2026-07-02": 1},
    }


def test_week_buckets_are_keyed_by_monday_and_count_a_user_once(serve: Serve) -> None:
    """unit=week keys are Mondays; unique counts a user active on several days once per week."""
    events = [
        event("App Opened", "a", local("2026-07-06 09:00:00")),  # Monday
        event("App Opened", "a", local("2026-07-08 09:00:00")),  # Wednesday
        event("App Opened", "b", local("2026-07-12 23:59:59")),  # Sunday, last second
        event("App Opened", "b", local("2026-07-13 00:00:00")),  # next Monday
    ]
    standin = serve(events)
    common = {"unit": "week", "from_date": "2026-07-06", "to_date": "2026-07-19"}
    unique = events_query(standin, ["App Opened"], type="unique", **common).json()
    general = events_query(standin, ["App Opened"], type="general", **common).json()
    assert unique["data"] == {
        "series": ["2026-07-06", "2026-07-13"],
        "values": {"App Opened": {"2026-07-06": 2, "2026-07-13": 1}},
    }
    assert general["data"]["values"] == {"App Opened": {"2026-07-06": 3, "2026-07-13": 1}}


def test_month_buckets_are_keyed_by_the_first_and_clipped_to_the_range(serve: Serve) -> None:
    """unit=month keys are the 1st; only days inside from_date..to_date count."""
    events = [
        event("Sign Up", "a", local("2026-06-10 09:00:00")),
        event("Sign Up", "b", local("2026-06-20 09:00:00")),
        event("Sign Up", "c", local("2026-07-31 23:59:59")),
        event("Sign Up", "d", local("2026-08-01 00:00:00")),
    ]
    standin = serve(events)
    response = events_query(
        standin,
        ["Sign Up"],
        type="general",
        unit="month",
        from_date="2026-06-15",
        to_date="2026-08-31",
    )
    assert response.json()["data"] == {
        "series": ["2026-06-01", "2026-07-01", "2026-08-01"],
        "values": {"Sign Up": {"2026-06-01": 1, "2026-07-01": 1, "2026-08-01": 1}},
    }


@pytest.mark.parametrize(
    ("unit", "interval", "series"),
    [
        ("day", "3", ["2026-11-18", "2026-11-19", "2026-11-20"]),
        ("week", "2", ["2026-11-09", "2026-11-16"]),
        ("month", "2", ["2026-10-01", "2026-11-01"]),
    ],
    ids=["days", "weeks", "months"],
)
def test_interval_means_the_last_n_units_including_the_current_one(
    serve: Serve, unit: str, interval: str, series: list[str]
) -> None:
    """interval=N covers N units ending with the one containing today."""
    response = events_query(serve([]), ["Sign Up"], type="general", unit=unit, interval=interval)
    assert response.json()["data"]["series"] == series


def test_sample_project_day_counts_match_the_raw_events_across_a_clock_change(
    serve: Serve,
) -> None:
    """On generated data around 25 Oct 2026, every event's day buckets equal a direct count."""
    events = sample_project(end=date(2026, 10, 27), days=5, users=1000)
    names = sorted({e.name for e in events})
    standin = serve(events, today=date(2026, 10, 28))
    response = events_query(
        standin, names, type="general", unit="day", from_date="2026-10-23", to_date="2026-10-27"
    )
    series = response.json()["data"]["series"]
    assert series == ["2026-10-23", "2026-10-24", "2026-10-25", "2026-10-26", "2026-10-27"]
    for name in names:
        expected = local_day_counts(events, name)
        assert day_values(response, name) == {day: expected[day] for day in series}, name


# /events/names


def test_names_endpoint_ranks_the_last_31_local_days_by_count_then_name(serve: Serve) -> None:
    """Names seen in today-30..today (local), most frequent first, ties by name, cut at limit."""
    events = [
        event("Too Old", "a", local("2026-10-20 23:59:59")),  # the day before the window
        event("B Event", "a", local("2026-10-21 00:00:00")),  # first second of the window
        event("A Event", "a", local("2026-11-01 10:00:00")),
        event("Email Sent", "a", local("2026-11-02 10:00:00")),
        event("Email Sent", "b", local("2026-11-20 23:59:59")),  # last second of today
    ]
    standin = serve(events)
    names = get(standin, "/api/query/events/names", type="general")
    assert names.json() == ["Email Sent", "A Event", "B Event"]
    limited = get(standin, "/api/query/events/names", type="general", limit="2")
    assert limited.json() == ["Email Sent", "A Event"]


# /api/2.0/export


def export_lines(response: requests.Response) -> list[dict[str, Any]]:
    assert response.status_code == 200, response.text
    return [json.loads(line) for line in response.iter_lines() if line]


def test_export_streams_chunked_jsonl_for_utc_dates(serve: Serve) -> None:
    """Export dates are UTC days by default; lines are Mixpanel's JSONL, sent chunked."""
    events = [
        event("Sign Up", "early", utc("2026-07-01 00:00:00"), "i1"),
        event("Sign Up", "late", local("2026-07-02 00:30:00"), "i2"),  # 23:30 UTC on 1 Jul
        event("Sign Up", "next", utc("2026-07-02 00:00:00"), "i3"),
    ]
    standin = serve(events)
    with requests.get(
        f"{standin.origin}/api/2.0/export",
        params={"project_id": PROJECT_ID, "from_date": "2026-07-01", "to_date": "2026-07-01"},
        auth=AUTH,
        timeout=5,
        stream=True,
    ) as response:
        assert response.headers["Transfer-Encoding"] == "chunked"
        assert "Content-Length" not in response.headers
        assert response.headers["Content-Type"].startswith("text/plain")
        lines = export_lines(response)
    assert [(line["event"], line["properties"]["distinct_id"]) for line in lines] == [
        ("Sign Up", "early"),
        ("Sign Up", "late"),
    ]
    first = lines[0]["properties"]
    assert set(first) == {"time", "distinct_id", "$insert_id", "mp_processing_time_ms"}
    assert (first["time"], first["$insert_id"]) == (utc("2026-07-01 00:00:00"), "i1")
    assert first["mp_processing_time_ms"] > first["time"] * 1000


def test_export_can_use_project_timezone_dates(serve: Serve) -> None:
    """With export_in_utc=False the export's dates are local days, like an older project."""
    events = [
        event("Sign Up", "late", local("2026-07-02 00:30:00")),
        event("Sign Up", "last", local("2026-07-02 23:59:59")),
        event("Sign Up", "after", local("2026-07-03 00:00:00")),
    ]
    standin = serve(events, export_in_utc=False)
    response = get(standin, "/api/2.0/export", from_date="2026-07-02", to_date="2026-07-02")
    assert [line["properties"]["distinct_id"] for line in export_lines(response)] == [
        "late",
        "last",
    ]


@pytest.mark.parametrize(
    ("wall", "fold", "wall_seconds"),
    [
        ("2026-07-02 00:30:00", 0, utc("2026-07-02 00:30:00")),  # BST: UTC+1
        ("2026-12-01 09:15:00", 0, utc("2026-12-01 09:15:00")),  # GMT: UTC+0
        ("2026-10-25 01:30:00", 0, utc("2026-10-25 01:30:00")),  # first 01:30 (BST)
        ("2026-10-25 01:30:00", 1, utc("2026-10-25 01:30:00")),  # second 01:30 (GMT)
    ],
    ids=["summer", "winter", "autumn-first-0130", "autumn-second-0130"],
)
def test_a_pre_2023_project_exports_local_wall_clock_seconds_not_a_utc_epoch(
    serve: Serve, wall: str, fold: int, wall_seconds: int
) -> None:
    """export-methods.mdx: before 2023 `time` is stored in the project timezone: the export's
    value is the wall-clock reading as if it were UTC (both autumn 01:30s read the same)."""
    moment = local(wall, fold=fold)
    standin = serve([event("Sign Up", "a", moment)], export_in_utc=False, today=date(2026, 12, 2))
    day = wall[:10]
    lines = export_lines(get(standin, "/api/2.0/export", from_date=day, to_date=day))
    assert [line["properties"]["time"] for line in lines] == [wall_seconds]
    utc_standin = serve([event("Sign Up", "a", moment)], today=date(2026, 12, 2))
    lines = export_lines(get(utc_standin, "/api/2.0/export", from_date="2026-06-01", to_date=day))
    assert [line["properties"]["time"] for line in lines] == [moment]


def test_time_in_ms_exports_milliseconds_and_seconds_without_it(serve: Serve) -> None:
    """export.openapi.yaml time_in_ms: seconds by default, milliseconds (stored ms kept) with it."""
    at = utc("2026-07-01 10:00:00")
    standin = serve([RawEvent("Sign Up", "a", at, "i1", ms=250)])
    plain = get(standin, "/api/2.0/export", from_date="2026-07-01", to_date="2026-07-01")
    in_ms = get(
        standin, "/api/2.0/export", from_date="2026-07-01", to_date="2026-07-01", time_in_ms="true"
    )
    assert [line["properties"]["time"] for line in export_lines(plain)] == [at]
    assert [line["properties"]["time"] for line in export_lines(in_ms)] == [at * 1000 + 250]


def test_two_events_one_insert_id_in_the_same_second_are_two_to_the_query_api(
    serve: Serve,
) -> None:
    """Mixpanel's dedup compares time in ms: 10:00:00.100 and 10:00:00.900 are two events."""
    at = local("2026-07-01 10:00:00")
    events = [
        RawEvent("Sign Up", "a", at, "same", ms=100),
        RawEvent("Sign Up", "a", at, "same", ms=900),
        RawEvent("Sign Up", "a", at, "same", ms=900),  # a true duplicate
    ]
    standin = serve(events)
    response = events_query(
        standin,
        ["Sign Up"],
        type="general",
        unit="day",
        from_date="2026-07-01",
        to_date="2026-07-01",
    )
    assert day_values(response, "Sign Up") == {"2026-07-01": 2}


@pytest.mark.parametrize(
    ("path", "params"),
    [
        ("/api/query/events/names", {"type": "general"}),
        (
            "/api/query/events",
            {"event": '["Sign Up"]', "type": "general", "unit": "day", "interval": "1"},
        ),
        ("/api/2.0/export", {"from_date": "2026-07-01", "to_date": "2026-07-01"}),
    ],
    ids=["names", "events", "export"],
)
def test_a_project_with_data_views_refuses_requests_without_its_workspace_id(
    serve: Serve, path: str, params: dict[str, str]
) -> None:
    """query-api-authentication.mdx: such projects need the global data view's workspace_id."""
    standin = serve([event("Sign Up", "a", utc("2026-07-01 10:00:00"))], workspace_id="777")
    refused = get(standin, path, **params)
    assert refused.status_code == 400
    assert "workspace_id=777 is required" in refused.json()["error"]
    assert get(standin, path, workspace_id="777", **params).status_code == 200


def test_export_keeps_only_the_requested_events_in_time_order(serve: Serve) -> None:
    """The event parameter filters the export; lines stay ordered by time."""
    events = [
        event("Email Sent", "a", utc("2026-07-01 12:00:00")),
        event("Voucher Redeemed", "b", utc("2026-07-01 11:00:00")),
        event("Sign Up", "c", utc("2026-07-01 10:00:00")),
    ]
    standin = serve(events)
    response = get(
        standin,
        "/api/2.0/export",
        from_date="2026-07-01",
        to_date="2026-07-01",
        event=json.dumps(["Voucher Redeemed", "Sign Up"]),
    )
    assert [line["event"] for line in export_lines(response)] == ["Sign Up", "Voucher Redeemed"]


def test_a_large_export_arrives_in_several_chunks_with_every_event(serve: Serve) -> None:
    """A multi-megabyte export is streamed in many chunks and holds every event in range."""
    events = sample_project(end=date(2026, 6, 30), days=10, users=2000)
    standin = serve(events)
    start, end = utc("2026-06-22 00:00:00"), utc("2026-06-30 00:00:00")
    with requests.get(
        f"{standin.origin}/api/2.0/export",
        params={"project_id": PROJECT_ID, "from_date": "2026-06-22", "to_date": "2026-06-29"},
        auth=AUTH,
        timeout=5,
        stream=True,
    ) as response:
        chunks = list(response.raw.read_chunked())
    lines = b"".join(chunks).splitlines()
    assert len(chunks) > 5
    assert len(lines) == sum(1 for e in events if start <= e.time < end)


# Auth and validation


def test_wrong_credentials_get_401_in_mixpanel_error_shape(serve: Serve) -> None:
    """Basic auth must be exactly username:secret; otherwise 401 with {"request","error"}."""
    standin = serve([])
    for auth in ((USERNAME, "wrong"), None):
        response = get_as(auth, standin, "/api/query/events/names", {"type": "general"})
        assert response.status_code == 401
        assert response.json() == {
            "request": f"/api/query/events/names?project_id={PROJECT_ID}&type=general",
            "error": "Unauthorized: invalid credentials",
        }


def test_project_id_is_required_and_must_match(serve: Serve) -> None:
    """A missing project_id is a 400; another project's id is a 403."""
    standin = serve([])
    missing = requests.get(
        f"{standin.origin}/api/query/events/names", params={"type": "general"}, auth=AUTH, timeout=5
    )
    assert missing.status_code == 400
    assert "project_id" in missing.json()["error"]
    other = get(standin, "/api/query/events/names", project_id="1", type="general")
    assert other.status_code == 403
    assert set(other.json()) == {"request", "error"}


def test_to_date_later_than_today_is_a_400(serve: Serve) -> None:
    """to_date after the stand-in's today (project timezone) is rejected, as Mixpanel does."""
    response = events_query(
        serve([]),
        ["Sign Up"],
        type="general",
        unit="day",
        from_date="2026-11-20",
        to_date="2026-11-21",
    )
    assert response.status_code == 400
    assert "to_date cannot be later than today" in response.json()["error"]


@pytest.mark.parametrize(
    "params",
    [
        {"event": "Sign Up"},
        {"event": '{"Sign Up": 1}'},
        {"event": '["Sign Up", 3]'},
        {"type": "total"},
        {"type": "average"},
        {"unit": "fortnight"},
        {"unit": "hour", "type": "unique"},
        {"from_date": "2026-7-1"},
        {"from_date": "20260701"},
        {"to_date": "2026-02-30"},
        {"from_date": "2026-07-05", "to_date": "2026-07-04"},
    ],
    ids=[
        "event-not-json",
        "event-not-array",
        "event-not-strings",
        "unknown-type",
        "average-unsupported",
        "unknown-unit",
        "hourly-uniques-unsupported",
        "short-date",
        "compact-date",
        "impossible-date",
        "from-after-to",
    ],
)
def test_malformed_events_parameters_are_a_400(serve: Serve, params: dict[str, str]) -> None:
    """Bad event/type/unit/date parameters get 400 with Mixpanel's {"request","error"} body."""
    query = {
        "event": '["Sign Up"]',
        "type": "general",
        "unit": "day",
        "from_date": "2026-07-01",
        "to_date": "2026-07-04",
        **params,
    }
    response = get(serve([]), "/api/query/events", **query)
    assert response.status_code == 400
    assert set(response.json()) == {"request", "error"}


def test_an_unknown_path_is_a_404_invalid_api_endpoint(serve: Serve) -> None:
    """Paths other than /events, /events/names and /export answer 404 Invalid API endpoint."""
    response = get(serve([]), "/api/query/segmentation")
    assert response.status_code == 404
    assert response.json()["error"] == "Invalid API endpoint"


def test_the_legacy_2_0_query_paths_work_too(serve: Serve) -> None:
    """/api/2.0/events answers like /api/query/events."""
    standin = serve([event("Sign Up", "a", local("2026-07-01 09:00:00"))])
    response = get(
        standin,
        "/api/2.0/events",
        event='["Sign Up"]',
        type="general",
        unit="day",
        from_date="2026-07-01",
        to_date="2026-07-01",
    )
    assert day_values(response, "Sign Up") == {"2026-07-01": 1}


# Fault injection and bookkeeping


def test_fail_next_answers_429_with_retry_after_then_recovers(serve: Serve) -> None:
    """A queued 429 carries Retry-After and Mixpanel's rate-limit text; the next call succeeds."""
    standin = serve([])
    standin.fail_next(429, retry_after="3")
    limited = get(standin, "/api/query/events/names", type="general")
    assert limited.status_code == 429
    assert limited.headers["Retry-After"] == "3"
    assert limited.json()["error"] == RATE_LIMIT_MESSAGE.format(project_id=PROJECT_ID)
    assert get(standin, "/api/query/events/names", type="general").status_code == 200


def test_failures_are_used_first_in_first_out_by_matching_path(serve: Serve) -> None:
    """Failures apply only to paths with their prefix, in the order they were queued."""
    standin = serve([])
    standin.fail_next(503, path_prefix="/api/2.0/export")
    standin.fail_next(500, times=2, body="<html>oops</html>")
    standin.fail_next(502)
    export = get(standin, "/api/2.0/export", from_date="2026-07-01", to_date="2026-07-01")
    statuses = [get(standin, "/api/query/events/names", type="general") for _ in range(4)]
    assert export.status_code == 503
    assert [r.status_code for r in statuses] == [500, 500, 502, 200]
    assert statuses[0].text == "<html>oops</html>"
    assert statuses[2].json()["error"] == "Bad Gateway"


def test_truncate_next_cuts_the_body_in_half(serve: Serve) -> None:
    """The next matching body is half its length, with a matching Content-Length: bad JSON."""
    standin = serve([event("Sign Up", "a", local("2026-07-01 09:00:00"))])
    whole = get(standin, "/api/query/events/names", type="general")
    standin.truncate_next(path_prefix="/api/query/events/names")
    cut = get(standin, "/api/query/events/names", type="general")
    assert cut.status_code == 200
    assert cut.content == whole.content[: len(whole.content) // 2]
    assert cut.headers["Content-Length"] == str(len(cut.content))
    with pytest.raises(ValueError, match=r"Expecting|Unterminated"):
        json.loads(cut.content)
    assert get(standin, "/api/query/events/names", type="general").content == whole.content


def test_every_request_is_recorded_including_failed_ones(serve: Serve) -> None:
    """requests lists method, path, single-valued query and raw Authorization of every call."""
    standin = serve([])
    standin.fail_next(429)
    get(standin, "/api/query/events/names", type="general")
    get_as(None, standin, "/nowhere", {})
    token = base64.b64encode(f"{USERNAME}:{SECRET}".encode()).decode()
    assert standin.requests == [
        RecordedRequest(
            "GET",
            "/api/query/events/names",
            {"project_id": PROJECT_ID, "type": "general"},
            f"Basic {token}",
        ),
        RecordedRequest("GET", "/nowhere", {"project_id": PROJECT_ID}, None),
    ]


def test_latency_overlaps_concurrent_requests_and_max_in_flight_counts_them(
    serve: Serve,
) -> None:
    """Latency is applied per request in its own thread, so 4 parallel calls overlap."""
    standin = serve([], latency=0.2)
    results: list[int] = []
    threads = [
        threading.Thread(
            target=lambda: results.append(
                get(standin, "/api/query/events/names", type="general").status_code
            )
        )
        for _ in range(4)
    ]
    started = time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    elapsed = time.perf_counter() - started
    assert results == [200] * 4
    assert standin.max_in_flight == 4
    assert 0.2 <= elapsed < 0.6


def test_demo_sized_queries_answer_well_under_a_second(serve: Serve) -> None:
    """Over 120 days x 4000 users (~360k events), names and daily/weekly uniques take < 1 s each."""
    end = date(2026, 6, 30)
    first = local(f"{end - timedelta(days=119)} 00:00:00")
    every = 120 * 86_400 // 90_000  # one event every 115 s, round the clock
    names = [f"Event {n}" for n in range(22)]
    distinct = [
        RawEvent(names[n % 22], f"user-{n * 7919 % 4000}", first + n * every, str(n))
        for n in range(90_000)
    ]
    # Each event four times over: the stand-in indexes and counts 360k entries, and the
    # test skips building 270k more objects.
    events = distinct * 4
    standin = serve(events, today=end + timedelta(days=1))
    started = time.perf_counter()
    assert len(get(standin, "/api/query/events/names", type="general").json()) == 22
    timings = [time.perf_counter() - started]
    span = {"from_date": (end - timedelta(days=119)).isoformat(), "to_date": end.isoformat()}
    for unit in ("day", "week"):
        started = time.perf_counter()
        response = events_query(standin, names, type="unique", unit=unit, **span)
        timings.append(time.perf_counter() - started)
        assert response.status_code == 200
    assert max(timings) < 1.0


def test_hourly_totals_are_wall_clock_buckets_across_both_clock_changes(serve: Serve) -> None:
    """unit=hour: 23 buckets on 29 Mar, 24 on 25 Oct (01:00 holds both occurrences)."""
    london = ZoneInfo("Europe/London")
    first = datetime(2026, 10, 25, 1, 30, tzinfo=london)  # BST occurrence
    second = first.replace(fold=1)  # GMT occurrence, an hour later in real time
    spring = datetime(2026, 3, 29, 2, 30, tzinfo=london)
    events = [
        RawEvent("Sign Up", "u1", int(first.timestamp()), "a"),
        RawEvent("Sign Up", "u2", int(second.timestamp()), "b"),
        RawEvent("Sign Up", "u3", int(spring.timestamp()), "c"),
    ]
    base = serve(events)
    for day, buckets, key, count in (
        ("2026-10-25", 24, "2026-10-25 01:00:00", 2),
        ("2026-03-29", 23, "2026-03-29 02:00:00", 1),
    ):
        response = events_query(
            base, ["Sign Up"], type="general", unit="hour", from_date=day, to_date=day
        )
        assert response.status_code == 200
        values = response.json()["data"]["values"]["Sign Up"]
        assert len(values) == buckets
        assert values[key] == count
        assert sum(values.values()) == count


# -- plans, duplicates, week starts and saved reports --------------------------------------------


def day_export(standin: MixpanelStandIn, day: str) -> list[dict[str, Any]]:
    body = get(standin, "/api/2.0/export", from_date=day, to_date=day).text
    return [json.loads(line) for line in body.splitlines()]


def test_duplicate_every_sends_every_nth_line_twice_but_never_one_without_insert_id(
    serve: Serve,
) -> None:
    """The export repeats lines as Mixpanel's does; /events counts each event once."""
    events = [
        RawEvent("A", f"u{n}", utc(f"2026-11-10 12:00:0{n}"), "" if n == 5 else f"i{n}")
        for n in range(6)
    ]
    standin = serve(events, duplicate_every=2)
    lines = day_export(standin, "2026-11-10")
    ids = [line["properties"].get("$insert_id") for line in lines]
    assert ids == ["i0", "i1", "i1", "i2", "i3", "i3", "i4", None]
    counts = events_query(
        standin, ["A"], type="general", unit="day", from_date="2026-11-10", to_date="2026-11-10"
    ).json()
    assert counts["data"]["values"]["A"] == {"2026-11-10": 6}


def test_duplicate_raw_events_are_one_event_to_the_query_api_but_every_line_in_the_export(
    serve: Serve,
) -> None:
    """Same event, distinct_id, time and $insert_id: one event; without $insert_id: two."""
    when = utc("2026-11-10 12:00:00")
    events = [event("A", "u", when, "x"), event("A", "u", when, "x")]
    events += [RawEvent("A", "v", when, ""), RawEvent("A", "v", when, "")]
    standin = serve(events)
    assert len(day_export(standin, "2026-11-10")) == 4
    counts = events_query(
        standin, ["A"], type="general", unit="day", from_date="2026-11-10", to_date="2026-11-10"
    ).json()
    assert counts["data"]["values"]["A"] == {"2026-11-10": 3}


@pytest.mark.parametrize("status", [402, 403])
def test_a_plan_without_the_query_api_refuses_every_query_endpoint_but_exports(
    serve: Serve, status: int
) -> None:
    """The right credentials: the Query API refuses the plan, the export answers."""
    standin = serve([event("A", "u", utc("2026-11-10 12:00:00"))], query_api_status=status)
    assert get(standin, "/api/query/events/names", type="general").status_code == status
    assert events_query(standin, ["A"], type="general", unit="day", interval="1").status_code == (
        status
    )
    assert get(standin, "/api/query/insights", bookmark_id="1").status_code == status
    assert len(day_export(standin, "2026-11-10")) == 1
    assert get_as(None, standin, "/api/query/events/names", {"type": "general"}).status_code == 401


def test_week_buckets_start_on_the_projects_first_weekday(serve: Serve) -> None:
    """A Sunday-start project keys its weeks by Sunday: a Monday-Sunday range spans two."""
    events = [
        event("A", "u", local("2026-11-15 12:00:00")),
        event("A", "v", local("2026-11-14 12:00:00")),
    ]
    standin = serve(events, first_weekday=6)
    body = events_query(
        standin, ["A"], type="unique", unit="week", from_date="2026-11-09", to_date="2026-11-15"
    ).json()
    assert body["data"]["values"]["A"] == {"2026-11-08": 1, "2026-11-15": 1}


def test_a_saved_insights_report_answers_its_window_with_local_offsets(serve: Serve) -> None:
    """One number: the distinct users of its events over its local days, like Mixpanel's."""
    from devtools.mixpanel_standin import SavedReport

    events = [
        event("A", "u", local("2026-11-10 00:30:00")),
        event("B", "v", local("2026-11-11 23:30:00")),
        event("$identify", "w", local("2026-11-11 12:00:00")),
        event("A", "x", local("2026-11-12 00:30:00")),
    ]
    saved = {"77": SavedReport(date(2026, 11, 10), date(2026, 11, 11))}
    standin = serve(events, saved_reports=saved)
    body = get(standin, "/api/query/insights", bookmark_id="77").json()
    assert body["date_range"] == {
        "from_date": "2026-11-10T00:00:00+00:00",
        "to_date": "2026-11-11T23:59:59.999000+00:00",
    }
    assert body["series"] == {"Unique users": {"all": 2}}
    assert get(standin, "/api/query/insights", bookmark_id="78").status_code == 404
