"""Issue #17's findings, one named regression test each, through the dev server and main().

Items 1, 3, 4 and 5 are HTTP framing the dev server (devtools/serve.py) answers itself, so
they are sent as raw bytes over a socket; items 2, 6, 7, 8 and 10 are the function's own
rules, tested through the real CustomReport.main() (and, for item 2, the dev server too).
"""

from __future__ import annotations

import json
import re
import socket
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from urllib.parse import quote

import azure.functions as func
import jsonschema
import pytest

import CustomReport
from devtools import serve
from devtools.serve import MAX_URL_BYTES
from shared.delivery.ledger import InMemoryLedger, TableDeliveryLedger
from shared.errors import ConfigError, UnknownEventsError
from shared.render.slack import render_message
from shared.render.text import render_text
from shared.schedule.periods import PeriodKind, report_period
from shared.settings import Settings
from shared.web.custom_request import MAX_QUERY_VALUE_CHARS
from shared.web.http_api import unknown_events_message
from shared.web.ondemand import post_on_demand
from tests.e2e import Stack
from tests.openapi_check import validate_against_openapi
from tests.render.reports import golden_report
from tests.serving import dev_server

ROUTE = "/api/CustomReport"


@pytest.fixture
def server(stack: Stack) -> Iterator[int]:
    """The dev server on a free loopback port, in front of main() and the stand-ins."""
    with dev_server() as port:
        yield port


def exchange(port: int, raw: bytes, *, timeout: float = 20) -> tuple[int, dict[str, str], bytes]:
    """Send `raw` bytes, read the whole answer: status, headers (lower-case), body."""
    with socket.create_connection(("127.0.0.1", port), timeout=timeout) as sock:
        sock.sendall(raw)
        sock.shutdown(socket.SHUT_WR)  # the whole request is sent: read the answer
        data = b""
        while chunk := sock.recv(65536):
            data += chunk
    head, _, body = data.partition(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    status = int(lines[0].split()[1])
    headers = {}
    for line in lines[1:]:
        name, _, value = line.partition(":")
        headers[name.strip().lower()] = value.strip()
    return status, headers, body


def request(method: str, target: str, *headers: str, body: bytes = b"") -> bytes:
    lines = [f"{method} {target} HTTP/1.1", "Host: 127.0.0.1", *headers, "", ""]
    return "\r\n".join(lines).encode("latin-1") + body


def error_of(status_headers_body: tuple[int, dict[str, str], bytes]) -> dict[str, object]:
    _, headers, body = status_headers_body
    assert headers["content-type"].startswith("application/json")
    data = json.loads(body)
    validate_against_openapi("Error", data)
    error: dict[str, object] = data["error"]
    return error


def call(
    method: str, url: str, *, params: dict[str, str], body: bytes = b"", headers=None
) -> func.HttpResponse:
    return CustomReport.main(
        func.HttpRequest(method=method, url=url, params=params, body=body, headers=headers or {})
    )


# -- 1. a chunked body is read, never ignored --------------------------------------------------


def chunked(payload: bytes, size: int = 7) -> bytes:
    parts = [payload[i : i + size] for i in range(0, len(payload), size)]
    return b"".join(b"%x\r\n%s\r\n" % (len(p), p) for p in parts) + b"0\r\n\r\n"


def test_item_1_a_chunked_post_body_is_decoded_and_obeyed(server: int, stack: Stack):
    """send_slack=false in a chunked body: the text report comes back and nothing is posted."""
    payload = b'{"send_slack": false, "format": "text", "period": "weekly"}'
    answer = exchange(
        server,
        request(
            "POST",
            ROUTE,
            "Content-Type: application/json",
            "Transfer-Encoding: chunked",
            body=chunked(payload),
        ),
    )
    status, headers, body = answer
    assert status == 200, body
    assert headers["content-type"].startswith("text/plain")
    assert "weekly report" in body.decode("utf-8")
    assert stack.slack.received == []


@pytest.mark.parametrize(
    ("headers", "body", "message"),
    [
        (["Transfer-Encoding: chunked"], b"zz\r\n{}\r\n0\r\n\r\n", "malformed chunk size line"),
        (["Transfer-Encoding: gzip, chunked"], b"0\r\n\r\n", "Transfer-Encoding must be chunked"),
        (["Transfer-Encoding: chunked", "Content-Length: 2"], b"{}", "not both"),
    ],
    ids=["bad-chunk-size", "other-encoding", "both-framings"],
)
def test_item_1_a_body_that_cannot_be_read_is_refused_not_ignored(
    server: int, stack: Stack, headers, body, message
):
    """Broken chunking: 400 JSON at once, nothing built, nothing posted."""
    answer = exchange(server, request("POST", ROUTE, *headers, body=body))
    assert answer[0] == 400
    error = error_of(answer)
    assert error["code"] == "bad_request"
    assert message in str(error["message"])
    assert stack.mixpanel.requests == []
    assert stack.slack.received == []


# -- 2. a repeated parameter is ambiguous: 400 naming it -----------------------------------------


def test_item_2_a_repeated_query_parameter_is_refused_by_the_dev_server(server: int, stack):
    """?send_slack=false&send_slack=true: 400 duplicate_parameter naming send_slack; no post."""
    answer = exchange(server, request("GET", f"{ROUTE}?send_slack=false&send_slack=true"))
    assert answer[0] == 400
    assert error_of(answer) == {
        "code": "duplicate_parameter",
        "message": "parameter 'send_slack' is given more than once in the query string; "
        "give each parameter once",
        "field": "send_slack",
    }
    assert stack.slack.received == []


def test_item_2_the_deployed_function_sees_repeats_in_the_url(stack: Stack):
    """The host folds repeats in req.params; main() reads them from req.url and refuses."""
    response = call(
        "GET",
        "https://app.azurewebsites.net/api/CustomReport?code=k&send_slack=false&send_slack=true",
        params={"code": "k", "send_slack": "true"},  # what a folding host hands over
    )
    assert response.status_code == 400
    assert json.loads(response.get_body())["error"]["field"] == "send_slack"
    assert stack.slack.received == []


# -- 3. every other method: 405 JSON with Allow ---------------------------------------------------


@pytest.mark.parametrize("method", ["TRACE", "OPTIONS", "HEAD", "PUT", "DELETE", "PATCH", "BREW"])
def test_item_3_methods_outside_get_and_post_get_405_json_with_allow(server: int, method: str):
    """Any method token, known to http.server or not: 405, Allow, JSON (HEAD: no body)."""
    status, headers, body = exchange(server, request(method, ROUTE))
    assert status == 405
    assert headers["allow"] == "GET, POST"
    assert headers["content-type"].startswith("application/json")
    if method == "HEAD":
        assert body == b""
    else:
        assert json.loads(body)["error"]["code"] == "method_not_allowed"


# -- 4. an over-long URL: 414 JSON, and the server keeps serving ----------------------------------


@pytest.mark.parametrize("length", [MAX_URL_BYTES + 1, 70_000], ids=["just-over", "64-kib"])
def test_item_4_an_over_long_url_gets_414_json(server: int, length: int):
    """A URL over 4096 bytes: 414 uri_too_long as JSON; the next request is served normally."""
    target = f"{ROUTE}?events=" + "x" * (length - len(ROUTE) - 8)
    answer = exchange(server, request("GET", target))
    assert answer[0] == 414
    assert error_of(answer)["code"] == "uri_too_long"
    after = exchange(server, request("GET", f"{ROUTE}?dry_run=true"))
    assert after[0] == 200


def test_item_4_the_spec_keeps_query_values_within_a_url(server: int):
    """The longest query value the contract allows still fits in a URL the server takes."""
    events = ",".join(["Sign Up"] * 64) + "s"
    assert len(events) == MAX_QUERY_VALUE_CHARS
    answer = exchange(server, request("GET", f"{ROUTE}?dry_run=true&events={quote(events)}"))
    assert answer[0] == 200, answer[2]


# -- 5. a malformed Content-Length: 400 JSON at once ----------------------------------------------


@pytest.mark.parametrize("value", ["abc", "-1", "1e3", "", "12, 13"])
def test_item_5_a_malformed_content_length_is_400_at_once(server: int, stack: Stack, value: str):
    """No crash, no hang: 400 bad_request naming Content-Length, before any body is awaited."""
    answer = exchange(server, request("POST", ROUTE, f"Content-Length: {value}"), timeout=5)
    assert answer[0] == 400
    assert "Content-Length" in str(error_of(answer)["message"])
    assert stack.slack.received == []


# -- 6. idempotency_key: storage under make serve, a clear 503 without ---------------------------


@pytest.mark.azurite
def test_item_6_the_contract_example_works_with_the_ledger_storage(
    server: int, stack: Stack, azurite_connection_string, ledger_table_name, monkeypatch
):
    """The POST example {period: weekly, idempotency_key}: posts once, then answers duplicate."""
    monkeypatch.setenv("AzureWebJobsStorage", azurite_connection_string)
    monkeypatch.setenv("DELIVERY_TABLE", ledger_table_name)
    payload = json.dumps({"period": "weekly", "idempotency_key": "weekly-2026-W47"}).encode()
    raw = request(
        "POST", ROUTE, "Content-Type: application/json", f"Content-Length: {len(payload)}",
        body=payload,
    )  # fmt: skip
    first, second = exchange(server, raw), exchange(server, raw)
    assert (first[0], second[0]) == (200, 200)
    assert json.loads(first[2])["slack"] == {"posted": True, "error": None}
    assert json.loads(second[2])["slack"]["duplicate"] is True
    assert len(stack.slack.posts) == 1


@pytest.mark.azurite
def test_item_6_make_serve_brings_its_own_ledger_storage():
    """`make serve` without AzureWebJobsStorage starts Azurite, and the ledger works on it."""
    storage = serve._start_storage()
    assert storage is not None, "Azurite is installed by make setup"
    try:
        ledger = TableDeliveryLedger(storage.connection_string, table_name="serveledger")
        poster = Poster()
        assert on_demand(ledger, poster, T0, key="serve-1").posted
        assert on_demand(ledger, poster, T0, key="serve-1").duplicate
    finally:
        storage.stop()


# (without storage: tests/web/test_custom_report_fuzz.py::test_an_idempotency_key_without_...)


# -- 7. error messages name at most a few inputs --------------------------------------------------


def test_item_7_two_hundred_unknown_long_event_names_give_a_short_message(stack: Stack):
    """200 unknown 255-character names: 3 named (clipped to 64), then 'and 197 more'."""
    names = [f"{i:03d}" + "x" * 252 for i in range(200)]
    response = call(
        "POST",
        ROUTE,
        params={},
        body=json.dumps({"events": names, "send_slack": False}).encode(),
        headers={"Content-Type": "application/json"},
    )
    assert response.status_code == 400
    message = json.loads(response.get_body())["error"]["message"]
    assert len(message) < 400
    assert message.endswith("; and 197 more")
    assert "x" * 70 not in message


def test_item_7_suggestions_are_bounded_too():
    """A did-you-mean list is cut at three names as well."""
    exc = UnknownEventsError({"Sign Upp": ["Sign Up", "Sign Up 2", "Sign Up 3", "Sign Up 4"]},
                             where="events")  # fmt: skip
    assert unknown_events_message(exc) == (
        "unknown Mixpanel event in events: 'Sign Upp' "
        "(did you mean 'Sign Up', 'Sign Up 2', 'Sign Up 3' and 1 more?)"
    )


# -- 8. a POST body must say it is JSON -----------------------------------------------------------


@pytest.mark.parametrize(
    "content_type",
    [None, "text/plain", "application/x-www-form-urlencoded", "application/json; charset=latin-1"],
)
def test_item_8_a_body_not_sent_as_json_is_415(stack: Stack, content_type: str | None):
    """415 unsupported_media_type naming the body; nothing built, nothing posted."""
    response = call(
        "POST",
        ROUTE,
        params={},
        body=b'{"send_slack": false}',
        headers={"Content-Type": content_type} if content_type else {},
    )
    assert response.status_code == 415
    data = json.loads(response.get_body())
    validate_against_openapi("Error", data)
    assert (data["error"]["code"], data["error"]["field"]) == ("unsupported_media_type", "body")
    assert stack.mixpanel.requests == []
    assert stack.slack.received == []


@pytest.mark.parametrize(
    "content_type", ["application/json", "Application/JSON; charset=UTF-8", "application/json;"]
)
def test_item_8_json_is_accepted_with_any_spelling_of_its_media_type(stack, content_type: str):
    """The media type is case-insensitive; charset utf-8 may be named."""
    response = call(
        "POST",
        ROUTE,
        params={},
        body=b'{"dry_run": true}',
        headers={"Content-Type": content_type},
    )
    assert response.status_code == 200


def test_item_8_an_empty_post_needs_no_content_type(stack: Stack):
    """An empty body means {}: nothing to label."""
    response = call("POST", ROUTE, params={"dry_run": "true"}, body=b"")
    assert response.status_code == 200


# -- 10. the same on-demand report does not post twice within the interval ------------------------


def get(**params: str) -> func.HttpResponse:
    return call("GET", ROUTE, params=params)


def test_item_10_a_refetched_get_does_not_post_again(stack: Stack):
    """An unfurler re-fetching the same URL: one post; the second answer says why not."""
    first, second = get(period="weekly"), get(period="weekly")
    assert (first.status_code, second.status_code) == (200, 200)
    assert json.loads(first.get_body())["slack"] == {"posted": True, "error": None}
    outcome = json.loads(second.get_body())["slack"]
    validate_against_openapi("SlackOutcome", outcome)
    assert outcome["posted"] is False
    assert outcome["duplicate"] is True
    assert "CUSTOM_REPOST_SECONDS" in outcome["reason"]
    assert len(stack.slack.posts) == 1


def test_item_10_a_different_report_posts(stack: Stack):
    """Other events or another period post; another answer format of the same report does not."""
    get(period="weekly")
    get(period="weekly", events="Sign Up")
    get(period="daily")
    assert len(stack.slack.posts) == 3
    get(period="weekly", format="text")  # the same report, answered differently: no post
    assert len(stack.slack.posts) == 3


def test_item_10_zero_turns_the_interval_off(stack: Stack, monkeypatch):
    """CUSTOM_REPOST_SECONDS=0: every request posts (still claimed and marked in the ledger)."""
    monkeypatch.setenv("CUSTOM_REPOST_SECONDS", "0")
    get(period="weekly")
    get(period="weekly")
    assert len(stack.slack.posts) == 2


class Poster:
    destination = "fp-test"

    def __init__(self) -> None:
        self.posts: list[object] = []

    def post(self, message: object) -> None:
        self.posts.append(message)


T0 = datetime(2026, 11, 25, 9, 0, 0, tzinfo=UTC)
WEEKLY = report_period(PeriodKind.WEEKLY, T0.date())


def on_demand(ledger, poster: Poster, now: datetime, *, key: str | None = None):
    return post_on_demand(
        ledger,
        poster,
        "message",
        period=WEEKLY,
        events=None,
        idempotency_key=key,
        repost_seconds=300,
        now=now,
    )


@pytest.mark.parametrize(
    ("later", "posts"),
    [(1, 1), (299, 1), (300, 2), (3600, 2)],
    ids=["double-click", "just-inside", "interval-over", "an-hour-later"],
)
def test_item_10_the_interval_is_measured_from_the_last_post(later: int, posts: int):
    """In memory: a repeat is suppressed for 300 s after the post, across bucket boundaries."""
    ledger, poster = InMemoryLedger(), Poster()
    start = T0 + timedelta(seconds=299)  # one second before a bucket boundary
    assert on_demand(ledger, poster, start).posted
    on_demand(ledger, poster, start + timedelta(seconds=later))
    assert len(poster.posts) == posts


@pytest.mark.azurite
def test_item_10_the_interval_holds_in_the_table_ledger(
    azurite_connection_string, ledger_table_name
):
    """Against Azurite: suppressed within the interval, posted after it, a new key at once."""
    ledger = TableDeliveryLedger(azurite_connection_string, table_name=ledger_table_name)
    poster = Poster()
    assert on_demand(ledger, poster, T0).posted
    assert on_demand(ledger, poster, T0 + timedelta(seconds=10)).duplicate
    assert on_demand(ledger, poster, T0 + timedelta(seconds=310)).posted
    assert on_demand(ledger, poster, T0 + timedelta(seconds=320), key="again-1").posted
    assert on_demand(ledger, poster, T0 + timedelta(seconds=330), key="again-1").duplicate
    assert len(poster.posts) == 3
    reports = {record.key.report for record in ledger.history()}
    assert any(report.startswith("ondemand:") for report in reports)
    assert "custom:again-1" in reports


# -- 9. the contract is as strict as the rules --------------------------------------------------


@pytest.mark.parametrize(
    "instance",
    [
        {"period": "yearly"},
        {"format": "xml"},
        {"send_slack": "maybe"},
        {"dry_run": "2"},
        {"period": "weekly", "from_date": "2026-11-01", "to_date": "2026-11-14"},
        {"from_date": "2026-11-01"},
        {"from_date": "1969-12-31", "to_date": "1970-01-02"},
        {"from_date": "2026-02-30", "to_date": "2026-03-01"},
        {"events": "Sign Up,,Receipt Uploaded"},
        {"events": "Sign Up\n"},
        {"events": "x" * 256},
        {"idempotency_key": "k", "send_slack": "no"},
        {"code": "k"},
    ],
    ids=repr,
)
def test_item_9_what_the_rules_refuse_the_contract_refuses(instance: dict[str, str]):
    """A contract-driven client cannot build these: both schemas refuse them, as the parser does."""
    for kind in ("CustomReportQuery", "CustomReportBody"):
        with pytest.raises(jsonschema.ValidationError):
            validate_against_openapi(kind, instance)


def test_item_9_the_contract_examples_are_valid():
    """The POST examples and a typical GET fit the schemas."""
    validate_against_openapi("CustomReportQuery", {"period": " Weekly ", "send_slack": "NO"})
    validate_against_openapi(
        "CustomReportBody",
        {"from_date": "2026-11-01", "to_date": "2026-11-14", "events": ["Sign Up"],
         "send_slack": False},
    )  # fmt: skip
    validate_against_openapi(
        "CustomReportBody", {"period": "weekly", "idempotency_key": "weekly-2026-W47"}
    )


# -- 11. one number rule per message ------------------------------------------------------------


def test_item_11_no_message_mixes_abbreviated_and_exact_counts():
    """Slack blocks, fallback text and preview: every count exact, never '12.3K' or '1.2M'."""
    report = golden_report()
    payload = render_message(report).payload()
    # Chart blocks carry numbers as JSON numbers for Slack to draw, not as text to read.
    payload["blocks"] = [b for b in payload["blocks"] if b.get("type") != "data_visualization"]
    texts = [render_text(report), json.dumps(payload, ensure_ascii=False)]
    for text in texts:
        assert re.search(r"\d(\.\d)?[KM]\b", text) is None, text
        assert "12,345" in text  # App Opened, the golden report's count over 10,000
        figures = text.replace("2026", "").replace("/project/12345", "")
        assert re.search(r"\b\d{5,}\b", figures) is None  # commas from 10,000 up


@pytest.mark.parametrize("value", ["-1", "86401", "5m", "1.5"])
def test_item_10_the_interval_setting_is_checked_by_name(stack: Stack, value: str):
    """A malformed CUSTOM_REPOST_SECONDS is a settings error naming it, never a silent default."""
    with pytest.raises(ConfigError, match="CUSTOM_REPOST_SECONDS must be a whole number"):
        Settings.from_env({**stack.env, "CUSTOM_REPOST_SECONDS": value})
    assert Settings.from_env(stack.env).custom_repost_seconds == 300
