"""Spec of the Mixpanel client: exact requests, typed errors, bounded retries, no secret."""

from __future__ import annotations

import base64
import itertools
import json
import threading
import time
from collections.abc import Iterator
from datetime import date
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
import requests
import responses
from responses import matchers

from shared.errors import (
    MixpanelAuthError,
    MixpanelBadResponse,
    MixpanelRateLimited,
    MixpanelRequestError,
    MixpanelUnavailable,
)
from shared.report.facts import is_automatic
from shared.retry import RetryPolicy
from shared.schedule.periods import Window
from shared.settings import Secret, Settings
from shared.sources.mixpanel_client import MixpanelClient, NamesCache
from shared.sources.uniques import UniqueTally

FIXTURES = Path(__file__).parents[1] / "fixtures"
SECRET = "SECRET-mixpanel-9f8e7d"
QUERY = "https://eu.mixpanel.com/api/query"
EXPORT = "https://data-eu.mixpanel.com/api/2.0/export"
WEEK = Window(date(2026, 11, 16), date(2026, 11, 17))
LONDON = ZoneInfo("Europe/London")


def fixture(name: str) -> Any:
    """A recorded Mixpanel body from tests/fixtures."""
    text = (FIXTURES / name).read_text()
    return text if name.endswith(".jsonl") else json.loads(text)


@pytest.fixture
def mocked() -> Iterator[responses.RequestsMock]:
    with responses.RequestsMock(assert_all_requests_are_fired=True) as rsps:
        yield rsps


class Sleeps:
    """Records the sleeps the client asked for instead of sleeping."""

    def __init__(self) -> None:
        self.calls: list[float] = []

    def __call__(self, seconds: float) -> None:
        self.calls.append(seconds)


def client(sleeps: Sleeps | None = None, **overrides: Any) -> MixpanelClient:
    options: dict[str, Any] = {
        "query_base": QUERY,
        "export_url": EXPORT,
        "username": "svc.reporter",
        "secret": Secret(SECRET),
        "project_id": "424242",
        "session": requests.Session(),
        "sleep": sleeps or Sleeps(),
        "jitter": lambda: 0.0,
        "budget_seconds": 1000.0,
    }
    options.update(overrides)
    return MixpanelClient(**options)


def basic_auth() -> str:
    return "Basic " + base64.b64encode(f"svc.reporter:{SECRET}".encode()).decode()


def events_params(**extra: str) -> dict[str, str]:
    return {
        "project_id": "424242",
        "event": json.dumps(["Sign Up", "Receipt Uploaded"]),
        "type": "general",
        "unit": "day",
        "from_date": "2026-11-16",
        "to_date": "2026-11-17",
        **extra,
    }


def test_event_names_asks_for_every_name_with_service_account_auth(mocked):
    """/events/names is called with project_id, type and a high limit, as the service account."""
    mocked.get(
        f"{QUERY}/events/names",
        json=fixture("event_names.json"),
        match=[
            matchers.query_param_matcher(
                {"project_id": "424242", "type": "general", "limit": "10000"}
            ),
            matchers.header_matcher({"Authorization": basic_auth()}),
        ],
    )
    assert client().event_names() == ["Email Sent", "Receipt Uploaded", "Sign Up", "$identify"]


def test_daily_counts_names_every_event_in_one_events_call(mocked):
    """One /events call carries every event as a JSON array and returns counts per local day."""
    mocked.get(
        f"{QUERY}/events",
        json=fixture("events_weekly.json"),
        match=[matchers.query_param_matcher(events_params())],
    )
    counts = client().daily_counts(["Sign Up", "Receipt Uploaded"], WEEK)
    assert counts == {
        "Sign Up": {date(2026, 11, 16): 12, date(2026, 11, 17): 9},
        "Receipt Uploaded": {date(2026, 11, 16): 130, date(2026, 11, 17): 0},
    }


@pytest.mark.parametrize(
    ("region", "query", "export"),
    [
        ("us", "https://mixpanel.com/api/query", "https://data.mixpanel.com/api/2.0/export"),
        ("eu", "https://eu.mixpanel.com/api/query", "https://data-eu.mixpanel.com/api/2.0/export"),
        ("in", "https://in.mixpanel.com/api/query", "https://data-in.mixpanel.com/api/2.0/export"),
    ],
    ids=["us", "eu", "in"],
)
def test_client_from_settings_uses_the_region_hosts(mocked, region, query, export):
    """Data residency picks the Query and Export hosts."""
    settings = Settings.from_env(
        {
            "MIXPANEL_USERNAME": "svc",
            "MIXPANEL_SECRET": SECRET,
            "MIXPANEL_PROJECT_ID": "424242",
            "MIXPANEL_REGION": region,
            "SLACK_WEBHOOK_URL": "https://hooks.slack.example/x",
        }
    )
    mocked.get(f"{query}/events/names", json=[])
    mocked.get(export, body="")
    mp = MixpanelClient.from_settings(settings, requests.Session())
    assert mp.event_names() == []
    tally = mp.unique_users(
        lambda: UniqueTally([WEEK], {}, timezone=LONDON, qualifying=lambda e: True),
        from_date=WEEK.start,
        to_date=WEEK.end,
    )
    assert tally.lines == 0


def test_api_url_override_replaces_every_host(mocked):
    """MIXPANEL_API_URL sends both the Query and the Export API to one origin."""
    settings = Settings.from_env(
        {
            "MIXPANEL_USERNAME": "svc",
            "MIXPANEL_SECRET": SECRET,
            "MIXPANEL_PROJECT_ID": "424242",
            "MIXPANEL_API_URL": "http://127.0.0.1:8123",
            "SLACK_WEBHOOK_URL": "https://hooks.slack.example/x",
        }
    )
    mocked.get("http://127.0.0.1:8123/api/query/events/names", json=["A"])
    mocked.get("http://127.0.0.1:8123/api/2.0/export", body="")
    mp = MixpanelClient.from_settings(settings, requests.Session())
    assert mp.event_names() == ["A"]
    mp.unique_users(
        lambda: UniqueTally([WEEK], {}, timezone=LONDON, qualifying=lambda e: True),
        from_date=WEEK.start,
        to_date=WEEK.end,
    )


def test_unique_users_streams_the_export_and_counts_each_user_once_per_window(mocked):
    """The export is read line by line; a user active on two days is one user of the window."""
    mocked.get(
        EXPORT,
        body=fixture("export_sample.jsonl"),
        match=[
            matchers.query_param_matcher(
                {
                    "project_id": "424242",
                    "from_date": "2026-11-15",
                    "to_date": "2026-11-18",
                    "time_in_ms": "true",
                }
            )
        ],
    )
    result = client().unique_users(
        lambda: UniqueTally(
            [WEEK],
            {"active_users": None, "signups": frozenset({"Sign Up"})},
            timezone=LONDON,
            qualifying=lambda e: not is_automatic(e),
        ),
        from_date=date(2026, 11, 15),
        to_date=date(2026, 11, 18),
    )
    assert result.users == {WEEK: {"active_users": 2, "signups": 1}}
    assert result.seen_events == frozenset({"Sign Up", "App Opened", "$identify"})
    assert result.lines == 5


def test_export_with_an_event_filter_sends_it_as_a_json_array(mocked):
    """Only the events that define a unique metric are exported when that is enough."""
    mocked.get(
        EXPORT,
        body="",
        match=[
            matchers.query_param_matcher(
                {
                    "project_id": "424242",
                    "from_date": "2026-11-16",
                    "to_date": "2026-11-17",
                    "event": '["Sign Up"]',
                    "time_in_ms": "true",
                }
            )
        ],
    )
    client().unique_users(
        lambda: UniqueTally([WEEK], {}, timezone=LONDON, qualifying=lambda e: True),
        from_date=WEEK.start,
        to_date=WEEK.end,
        events=["Sign Up"],
    )


@pytest.mark.parametrize(
    ("status", "error", "message"),
    [
        (
            401,
            MixpanelAuthError,
            "Mixpanel /events/names answered HTTP 401: check MIXPANEL_USERNAME, MIXPANEL_SECRET "
            "and the service account's access to MIXPANEL_PROJECT_ID: Unauthorized",
        ),
        (
            403,
            MixpanelAuthError,
            "Mixpanel /events/names answered HTTP 403: check MIXPANEL_USERNAME, MIXPANEL_SECRET "
            "and the service account's access to MIXPANEL_PROJECT_ID: Unauthorized",
        ),
        (
            400,
            MixpanelRequestError,
            "Mixpanel /events/names answered HTTP 400: request rejected: Unauthorized",
        ),
    ],
    ids=["401", "403", "400"],
)
def test_client_errors_are_typed_and_not_retried(mocked, status, error, message):
    """401/403 and other 4xx raise at once with status, endpoint and Mixpanel's own words."""
    mocked.get(
        f"{QUERY}/events/names",
        status=status,
        json={"request": "/api/query/events/names", "error": "Unauthorized"},
    )
    sleeps = Sleeps()
    with pytest.raises(error) as caught:
        client(sleeps).event_names()
    assert str(caught.value) == message
    assert sleeps.calls == []
    assert len(mocked.calls) == 1


def test_rate_limit_waits_as_long_as_retry_after_asks_then_succeeds(mocked):
    """429 with Retry-After: the client sleeps exactly that long and tries again."""
    url = f"{QUERY}/events/names"
    mocked.get(url, status=429, json=fixture("rate_limited.json"), headers={"Retry-After": "7"})
    mocked.get(url, json=["A"])
    sleeps = Sleeps()
    assert client(sleeps).event_names() == ["A"]
    assert sleeps.calls == [7.0]


def test_rate_limit_without_retry_after_backs_off_with_jitter(mocked):
    """429 without Retry-After: exponential backoff scaled by the injected jitter."""
    url = f"{QUERY}/events/names"
    for _ in range(2):
        mocked.get(url, status=429, json=fixture("rate_limited.json"))
    mocked.get(url, json=["A"])
    sleeps = Sleeps()
    assert client(sleeps, jitter=lambda: 0.5).event_names() == ["A"]
    assert sleeps.calls == [0.75, 1.5]


def test_server_errors_are_retried_a_bounded_number_of_times(mocked):
    """5xx is retried with backoff up to max_attempts, then raised as MixpanelUnavailable."""
    url = f"{QUERY}/events/names"
    for _ in range(3):
        mocked.get(url, status=503, body="upstream unavailable")
    sleeps = Sleeps()
    with pytest.raises(MixpanelUnavailable) as caught:
        client(sleeps, policy=RetryPolicy(max_attempts=3)).event_names()
    assert str(caught.value) == (
        "Mixpanel /events/names answered HTTP 503: server error: upstream unavailable"
    )
    assert sleeps.calls == [0.5, 1.0]


def test_dropped_connections_are_retried(mocked):
    """A connection error is transient: the next attempt's answer is used."""
    url = f"{QUERY}/events/names"
    mocked.get(url, body=requests.ConnectionError("connection reset"))
    mocked.get(url, json=["A"])
    assert client().event_names() == ["A"]


def test_rate_limit_gives_up_when_the_wait_would_pass_the_budget(mocked):
    """A Retry-After longer than the report's remaining time budget raises at once."""
    mocked.get(
        f"{QUERY}/events/names",
        status=429,
        json=fixture("rate_limited.json"),
        headers={"Retry-After": "3600"},
    )
    sleeps = Sleeps()
    with pytest.raises(MixpanelRateLimited) as caught:
        client(sleeps, budget_seconds=60.0).event_names()
    assert caught.value.retry_after == 3600.0
    assert sleeps.calls == []


@pytest.mark.parametrize(
    ("body", "why"),
    [
        ('{"data": {"series": [], "val', "the body is not valid JSON (truncated?)"),
        (
            '{"data": {"values": {"Sign Up": {"2026-11-16": 1, "2026-11-17": 2}}}}',
            "no values for event 'Receipt Uploaded'",
        ),
        (
            '{"data": {"values": {"Sign Up": {"2026-11-16": 1}, "Receipt Uploaded": {}}}}',
            "no count for event 'Sign Up' on 2026-11-17",
        ),
        ('{"data": {"values": {"Sign Up": {"2026-11-16": "12"}}}}', "no count for event"),
        ("[]", "expected {'data': {'values': {...}}}"),
    ],
    ids=["truncated", "missing-event", "missing-day", "string-count", "wrong-shape"],
)
def test_a_malformed_events_body_is_an_error_never_zero(mocked, body, why):
    """A 200 whose body is cut or misshapen raises MixpanelBadResponse."""
    mocked.get(f"{QUERY}/events", body=body, status=200)
    with pytest.raises(MixpanelBadResponse) as caught:
        client().daily_counts(["Sign Up", "Receipt Uploaded"], WEEK)
    assert why in str(caught.value)


def test_a_truncated_export_line_is_an_error(mocked):
    """An export cut mid-line is MixpanelBadResponse, not a smaller count."""
    body = fixture("export_sample.jsonl")
    mocked.get(EXPORT, body=body[: len(body) - 40])
    with pytest.raises(MixpanelBadResponse, match="not a complete event"):
        client().unique_users(
            lambda: UniqueTally([WEEK], {}, timezone=LONDON, qualifying=lambda e: True),
            from_date=WEEK.start,
            to_date=WEEK.end,
        )


def test_the_secret_never_appears_in_an_error_even_if_mixpanel_echoes_it(mocked):
    """Whatever Mixpanel answers, the service-account secret is masked in errors."""
    mocked.get(
        f"{QUERY}/events/names",
        status=400,
        json={"error": f"bad credentials svc.reporter:{SECRET}"},
    )
    with pytest.raises(MixpanelRequestError) as caught:
        client().event_names()
    assert SECRET not in str(caught.value)
    assert SECRET not in repr(caught.value.args)
    assert "********" in str(caught.value)


def test_a_long_event_list_is_split_to_keep_urls_short(mocked):
    """Hundreds of long names are spread over several /events calls, each URL bounded."""
    names = [f"Event number {i} " + "x" * 100 for i in range(120)]
    seen: list[str] = []

    def answer(request: requests.PreparedRequest) -> tuple[int, dict[str, str], str]:
        assert request.url is not None
        assert len(request.url) < 8000
        from urllib.parse import parse_qs, urlsplit

        asked = json.loads(parse_qs(urlsplit(request.url).query)["event"][0])
        seen.extend(asked)
        values = {n: {"2026-11-16": 1, "2026-11-17": 2} for n in asked}
        return 200, {}, json.dumps({"data": {"series": [], "values": values}})

    mocked.add_callback(responses.GET, f"{QUERY}/events", callback=answer)
    counts = client().daily_counts(names, WEEK)
    assert seen == names
    assert len(counts) == 120
    assert len(mocked.calls) > 1


class SlowSession(requests.Session):
    """A session whose GETs overlap, recording how many were in flight at once."""

    def __init__(self) -> None:
        super().__init__()
        self.in_flight = 0
        self.peak = 0
        self._lock = threading.Lock()

    def get(self, url: str | bytes, **kwargs: Any) -> requests.Response:  # type: ignore[override]
        with self._lock:
            self.in_flight += 1
            self.peak = max(self.peak, self.in_flight)
        time.sleep(0.02)
        with self._lock:
            self.in_flight -= 1
        response = requests.Response()
        response.status_code = 200
        response._content = b'["A"]'
        return response


def test_the_client_never_runs_more_than_five_requests_at_once():
    """Mixpanel allows 5 concurrent queries: 20 parallel callers still see at most 5."""
    session = SlowSession()
    mp = client(session=session)
    threads = [threading.Thread(target=mp.event_names) for _ in range(20)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert session.peak == 5
    assert mp.requests_made == 20


def test_a_server_error_with_retry_after_waits_exactly_that_long(mocked):
    """503 + Retry-After: the server's word beats the backoff."""
    url = f"{QUERY}/events/names"
    mocked.get(url, status=503, body="busy", headers={"Retry-After": "3"})
    mocked.get(url, json=["A"])
    sleeps = Sleeps()
    assert client(sleeps).event_names() == ["A"]
    assert sleeps.calls == [3.0]


def test_event_names_are_fetched_once_an_hour_per_project(mocked):
    """A warm instance reuses the names for an hour: one query, not one per report."""
    now = [0.0]
    cache = NamesCache(ttl_seconds=3600, clock=lambda: now[0])
    mocked.get(f"{QUERY}/events/names", json=["A"])
    mocked.get(f"{QUERY}/events/names", json=["A", "B"])
    assert client(names_cache=cache).event_names() == ["A"]
    now[0] = 3599.0
    assert client(names_cache=cache).event_names() == ["A"]
    now[0] = 3600.0
    assert client(names_cache=cache).event_names() == ["A", "B"]
    assert len(mocked.calls) == 2


# -- data sources: plan refusals, server-side aggregation, the fast export reader ----------------


def test_a_402_is_a_plan_error_that_says_which_setting_reads_the_export(mocked):
    """402: this plan lacks the API; not retried, and the message names MIXPANEL_SOURCE."""
    from shared.errors import MixpanelPlanError

    mocked.get(f"{QUERY}/events/names", status=402, json={"error": "upgrade your plan"})
    with pytest.raises(MixpanelPlanError) as caught:
        client().event_names()
    assert str(caught.value) == (
        "Mixpanel /events/names answered HTTP 402: this Mixpanel plan does not include this "
        "API (MIXPANEL_SOURCE=auto or export reads the raw export instead): upgrade your plan"
    )


def test_unique_buckets_ask_for_type_unique_in_the_unit_over_exactly_the_window(mocked):
    """/events type=unique unit=week: the answer's buckets come back as Mixpanel keyed them."""
    mocked.get(
        f"{QUERY}/events",
        json={
            "data": {"series": ["2026-11-16"], "values": {"Sign Up": {"2026-11-16": 41}}},
            "legend_size": 1,
        },
        match=[
            matchers.query_param_matcher(
                {
                    "project_id": "424242",
                    "event": json.dumps(["Sign Up"]),
                    "type": "unique",
                    "unit": "week",
                    "from_date": "2026-11-16",
                    "to_date": "2026-11-22",
                }
            )
        ],
    )
    answer = client().unique_buckets(
        ["Sign Up"], unit="week", from_date=date(2026, 11, 16), to_date=date(2026, 11, 22)
    )
    assert answer == {"Sign Up": {"2026-11-16": 41}}


@pytest.mark.parametrize(
    "values",
    [{}, {"Sign Up": {"2026-11-16": -1}}, {"Sign Up": {"2026-11-16": True}}],
    ids=["event-missing", "negative", "boolean"],
)
def test_a_unique_bucket_that_is_not_a_count_is_a_bad_response(mocked, values):
    """Never read as zero: a missing event or a non-count is MixpanelBadResponse."""
    mocked.get(f"{QUERY}/events", json={"data": {"values": values}})
    with pytest.raises(MixpanelBadResponse):
        client().unique_buckets(
            ["Sign Up"], unit="day", from_date=date(2026, 11, 16), to_date=date(2026, 11, 16)
        )


def test_a_saved_insights_report_is_read_with_its_local_dates(mocked):
    """query.openapi.yaml's own /insights example: local dates from the offset timestamps."""
    mocked.get(
        f"{QUERY}/insights",
        json=fixture("insights_saved_report.json"),
        match=[matchers.query_param_matcher({"project_id": "424242", "bookmark_id": "901"})],
    )
    answer = client().insights_report("901")
    assert (answer.from_date, answer.to_date) == (date(2020, 8, 31), date(2020, 9, 12))
    assert answer.series["Logged in"] == {
        "2020-08-31T00:00:00-07:00": 9852,
        "2020-09-07T00:00:00-07:00": 4325,
    }


def test_the_fast_export_reader_names_a_broken_line_without_the_secret(mocked):
    """A line that is not an event is MixpanelBadResponse; an echoed secret is masked."""
    from shared.sources.export_stream import LineDecoder

    good = '{"event": "A", "properties": {"time": 1, "distinct_id": "u", "$insert_id": "i"}}\n'
    mocked.get(EXPORT, body=good + '{"event": "' + SECRET + '", "properties": {"time": tru\n')
    kept: list[Any] = []

    class Sink:
        def add_all(self, records: list[Any]) -> None:
            kept.extend(records)

    with pytest.raises(MixpanelBadResponse) as caught:
        client().export_records(
            Sink, from_date=date(2026, 11, 16), to_date=date(2026, 11, 16), decoder=LineDecoder()
        )
    assert "an export line is not a complete event" in str(caught.value)
    assert SECRET not in str(caught.value)
    assert "********" in caught.value.body


def test_the_export_reader_asks_for_one_line_more_than_the_budget_and_stops_past_it(mocked):
    """limit = what is left + 1; past the budget: ExportTooLarge, and nothing more is fed."""
    from shared.errors import ExportTooLarge
    from shared.sources.export_stream import LineBudget, LineDecoder

    line = (
        '{{"event": "A", "properties": {{"time": {n}, "distinct_id": "u", "$insert_id": "{n}"}}}}\n'
    )
    lines = "".join(line.format(n=n) for n in range(4))
    mocked.get(
        EXPORT,
        body=lines,
        match=[
            matchers.query_param_matcher(
                {
                    "project_id": "424242",
                    "from_date": "2026-11-16",
                    "to_date": "2026-11-16",
                    "limit": "4",
                    "time_in_ms": "true",
                }
            )
        ],
    )
    fed: list[Any] = []

    class Sink:
        def add_all(self, records: list[Any]) -> None:
            fed.extend(records)

    with pytest.raises(ExportTooLarge) as caught:
        client().export_records(
            Sink,
            from_date=date(2026, 11, 16),
            to_date=date(2026, 11, 16),
            decoder=LineDecoder(),
            budget=LineBudget(3),
        )
    assert str(caught.value) == "Mixpanel /export: more than 3 events"
    assert fed == []  # the batch that passed the budget was not counted


# -- issue 21: the export as Mixpanel answers it ------------------------------------------------


@pytest.mark.parametrize(
    ("body", "message"),
    [
        (
            "Your plan does not support raw data export. Visit mixpanel.com/pricing to upgrade.",
            "Your plan does not support raw data export",
        ),
        (
            "Your account is blocked because payment is required.",
            "Your account is blocked because payment is required.",
        ),
    ],
    ids=["plan-without-export", "billing-blocked"],
)
def test_a_402_from_the_export_says_plan_or_payment_not_read_the_export_instead(
    mocked, body, message
):
    """real-service-behaviour.md 2: the export's own 402 is a plan or billing block; the
    message says so, never the Query API's "reads the raw export instead"."""
    from shared.errors import MixpanelPlanError

    mocked.get(EXPORT, status=402, json={"error": body})
    with pytest.raises(MixpanelPlanError) as caught:
        client().export_accepts_credentials(date(2026, 11, 16))
    assert str(caught.value) == (
        "Mixpanel /export answered HTTP 402: Mixpanel refused the raw export with 402 Payment "
        "Required: the plan does not allow the raw export, or the account is blocked until a "
        f"payment is made (see Mixpanel's billing page): {body}"
    )
    assert "raw export instead" not in str(caught.value)
    assert message in str(caught.value)
    assert len(mocked.calls) == 1  # not retried


def ms_lines(*rows: tuple[str, int, str]) -> str:
    """Export lines as time_in_ms=true answers them: (event, time in ms, $insert_id)."""
    return "".join(
        json.dumps({"event": e, "properties": {"time": ms, "distinct_id": "u", "$insert_id": i}})
        + "\n"
        for e, ms, i in rows
    )


# 10:00:00.100 and 10:00:00.900 on 16 Nov 2026 (GMT): one second, two events to Mixpanel.
TEN = 1_794_823_200_000
SAME_SECOND = ms_lines(
    ("Sign Up", TEN + 100, "i1"),
    ("Sign Up", TEN + 900, "i1"),
    ("Sign Up", TEN + 900, "i1"),  # a true duplicate: same event, user, ms time and id
    ("Sign Up", TEN + 900, ""),  # no $insert_id: never merged
    ("Sign Up", TEN + 900, ""),
)


def test_two_events_sharing_an_insert_id_within_one_second_are_two_and_duplicates_one(mocked):
    """Dedup compares Mixpanel's millisecond time: 100 ms and 900 ms are two events; the
    exact duplicate is one; lines without $insert_id always count (4 events of 5 lines)."""
    from shared.sources.export_stream import ExportReducer, LineDecoder

    mocked.get(
        EXPORT,
        body=SAME_SECOND,
        match=[matchers.query_param_matcher({"time_in_ms": "true"}, strict_match=False)],
    )
    day = Window(date(2026, 11, 16), date(2026, 11, 16))
    reducer = client().export_records(
        lambda: ExportReducer([day], {}, timezone=LONDON, qualifying=lambda e: True),
        from_date=day.start,
        to_date=day.end,
        decoder=LineDecoder(),
    )
    tally = reducer.result()
    assert tally.counts == {"Sign Up": {date(2026, 11, 16): 4}}
    assert (tally.lines, tally.duplicates) == (5, 1)


def test_the_export_hourly_tally_deduplicates_on_milliseconds_too(mocked):
    """hourly_counts_from_export: the same rule, in the 10:00 bucket."""
    from shared.schedule.hours import LocalHour

    mocked.get(
        EXPORT,
        body=SAME_SECOND,
        match=[matchers.query_param_matcher({"time_in_ms": "true"}, strict_match=False)],
    )
    counts = client().hourly_counts_from_export(
        ["Sign Up"], from_date=date(2026, 11, 16), to_date=date(2026, 11, 16), timezone=LONDON
    )
    assert counts["Sign Up"][LocalHour(date(2026, 11, 16), 10)] == 4
    assert sum(counts["Sign Up"].values()) == 4


class FakeClock:
    """Monotonic time that moves only when the client sleeps: pacing without waiting."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.now += max(seconds, 0.0)


def test_every_export_request_retries_included_starts_a_third_of_a_second_apart(mocked):
    """3 export queries a second per project: every export method, and a retry after a 429
    with Retry-After 0, waits for its turn on the injected clock; Query calls are not paced."""
    from shared.sources.export_stream import LineDecoder

    clock = FakeClock()
    starts: list[tuple[str, float]] = []
    statuses = iter([429, 200, 200, 200, 200, 200, 200])

    def answer(request: Any) -> tuple[int, dict[str, str], str]:
        starts.append(("export", clock.now))
        status = next(statuses)
        return status, {"Retry-After": "0"}, "" if status == 200 else '{"error": "slow down"}'

    def names(request: Any) -> tuple[int, dict[str, str], str]:
        starts.append(("query", clock.now))
        return 200, {}, "[]"

    mocked.add_callback(responses.GET, EXPORT, callback=answer)
    mocked.add_callback(responses.GET, f"{QUERY}/events/names", callback=names)
    mp = client(sleeps=clock.sleep, clock=clock)
    day = date(2026, 11, 16)

    class Sink:
        def add_all(self, records: list[Any]) -> None:
            pass

    mp.export_records(Sink, from_date=day, to_date=day, decoder=LineDecoder())  # 429, then 200
    mp.unique_users(
        lambda: UniqueTally([WEEK], {}, timezone=LONDON, qualifying=lambda e: True),
        from_date=day,
        to_date=day,
    )
    mp.event_names()
    mp.hourly_counts_from_export(["A"], from_date=day, to_date=day, timezone=LONDON)
    mp.property_names(["A"], from_date=day, to_date=day)
    assert mp.export_accepts_credentials(day)
    exports = [at for kind, at in starts if kind == "export"]
    assert len(exports) == 6
    gaps = [later - earlier for earlier, later in itertools.pairwise(exports)]
    assert all(gap >= 1 / 3 - 1e-9 for gap in gaps), gaps
    query_at = next(at for kind, at in starts if kind == "query")
    assert query_at == exports[2]  # the names call did not wait for an export turn
    asked = [c.request.params.get("time_in_ms") for c in mocked.calls if EXPORT in c.request.url]
    assert asked == ["true"] * 6


@pytest.mark.parametrize(
    ("raw", "problem"),
    [
        ("12a", "got '12a'"),
        ("١٢٣", "got '١٢٣'"),  # Arabic-Indic digits: isdigit() says yes, Mixpanel says no
        ("-5", "got '-5'"),
    ],
    ids=["letters", "non-ascii-digits", "sign"],
)
def test_a_workspace_id_that_is_not_ascii_digits_is_refused_by_name(raw, problem):
    """MIXPANEL_WORKSPACE_ID is the global data view's numeric id."""
    from shared.errors import ConfigError

    env = {
        "MIXPANEL_USERNAME": "svc",
        "MIXPANEL_SECRET": SECRET,
        "MIXPANEL_PROJECT_ID": "424242",
        "SLACK_WEBHOOK_URL": "https://hooks.slack.example/x",
        "MIXPANEL_WORKSPACE_ID": raw,
    }
    with pytest.raises(ConfigError) as caught:
        Settings.from_env(env)
    assert caught.value.problems == [
        "MIXPANEL_WORKSPACE_ID must be the numeric id of the project's global data view "
        f"(ASCII digits only), {problem}"
    ]


def test_every_query_and_export_endpoint_names_the_data_view_when_one_is_set():
    """A project with Data Views (the stand-in refuses any request without its workspace_id):
    every method of the client reaches it; without the setting the first request is refused."""
    from devtools.mixpanel_standin import MixpanelStandIn, SavedReport
    from devtools.sample_data import RawEvent
    from shared.sources.export_stream import LineDecoder

    day = date(2026, 11, 16)
    events = [RawEvent("Sign Up", "u", 1_794_823_200, "i1", ms=100)]
    saved = {"901": SavedReport(day, day)}
    env = {
        "MIXPANEL_USERNAME": "svc",
        "MIXPANEL_SECRET": SECRET,
        "MIXPANEL_PROJECT_ID": "424242",
        "SLACK_WEBHOOK_URL": "https://hooks.slack.example/x",
        "MIXPANEL_WORKSPACE_ID": "777",
    }
    with MixpanelStandIn(
        events,
        username="svc",
        secret=SECRET,
        project_id="424242",
        today=date(2026, 11, 17),
        workspace_id="777",
        saved_reports=saved,
    ) as stand:
        env["MIXPANEL_API_URL"] = stand.origin
        settings = Settings.from_env(env)
        assert settings.mixpanel_workspace_id == "777"
        mp = MixpanelClient.from_settings(settings, requests.Session())
        mp._names_cache = None  # ask the stand-in every time
        window = Window(day, day)

        class Sink:
            def add_all(self, records: list[Any]) -> None:
                pass

        assert mp.event_names() == ["Sign Up"]
        assert mp.daily_counts(["Sign Up"], window) == {"Sign Up": {day: 1}}
        assert sum(mp.hourly_counts(["Sign Up"], from_date=day, to_date=day)["Sign Up"].values())
        assert mp.unique_buckets(["Sign Up"], unit="day", from_date=day, to_date=day)
        assert mp.insights_report("901").series
        mp.export_records(Sink, from_date=day, to_date=day, decoder=LineDecoder())
        mp.unique_users(
            lambda: UniqueTally([window], {}, timezone=LONDON, qualifying=lambda e: True),
            from_date=day,
            to_date=day,
        )
        mp.hourly_counts_from_export(["Sign Up"], from_date=day, to_date=day, timezone=LONDON)
        assert mp.property_names(["Sign Up"], from_date=day, to_date=day)
        assert mp.export_accepts_credentials(day)
        sent = stand.requests
        assert len(sent) == 10
        assert all(r.query.get("workspace_id") == "777" for r in sent)
        unset = Settings.from_env({k: v for k, v in env.items() if k != "MIXPANEL_WORKSPACE_ID"})
        assert unset.mixpanel_workspace_id is None
        with pytest.raises(MixpanelRequestError, match="workspace_id=777 is required"):
            MixpanelClient.from_settings(unset, requests.Session()).daily_counts(
                ["Sign Up"], window
            )
