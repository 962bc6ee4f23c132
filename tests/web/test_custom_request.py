"""Specs for shared.web.custom_request: every CustomReport rule, its message, field and code."""

from __future__ import annotations

import json
import re
import unicodedata
from datetime import date, timedelta

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from shared.errors import InvalidRequest
from shared.schedule.periods import PeriodKind, Window, custom_period, report_period
from shared.web.custom_request import (
    ALLOWED_PARAMETERS,
    MAX_BODY_BYTES,
    MAX_EVENT_NAME_CHARS,
    MAX_EVENTS,
    MAX_QUERY_VALUE_CHARS,
    MAX_SPAN_DAYS,
    CustomRequest,
    OutputFormat,
    parse_custom_request,
)

TODAY = date(2026, 11, 25)  # a Wednesday; yesterday is 2026-11-24
SECRET = "fn-key-5ecret-Zq9"
ALLOWED = ", ".join(ALLOWED_PARAMETERS)
MEGABYTE = "x" * (1024 * 1024)


def parse(method: str, params: dict[str, str], body: bytes = b"") -> CustomRequest:
    return parse_custom_request(method, params, body, today=TODAY)


def get(**params: str) -> CustomRequest:
    return parse("GET", params)


def post_json(value: object, **params: str) -> CustomRequest:
    return parse("POST", params, json.dumps(value).encode("utf-8"))


def rejection(method: str, params: dict[str, str], body: bytes) -> InvalidRequest:
    with pytest.raises(InvalidRequest) as info:
        parse(method, params, body)
    return info.value


def body(value: object) -> bytes:
    return json.dumps(value).encode("utf-8")


DEFAULT = CustomRequest(
    period=report_period(PeriodKind.DAILY, TODAY),
    send_slack=True,
    events=None,
    format=OutputFormat.JSON,
    dry_run=False,
    idempotency_key=None,
)


# (id, method, query params, body, field, code, exact message)
# fmt: off
REJECTIONS: list[tuple[str, str, dict[str, str], bytes, str | None, str, str]] = [
    # method
    ("method DELETE", "DELETE", {}, b"", None, "method_not_allowed",
     "method 'DELETE' is not allowed; use GET or POST"),
    ("method put lower-case", "put", {}, b"", None, "method_not_allowed",
     "method 'put' is not allowed; use GET or POST"),
    ("method with a long s (upper() is POST)", "po\u017ft", {}, b"", None, "method_not_allowed",
     "method 'po\u017ft' is not allowed; use GET or POST"),
    ("method empty", "", {}, b"", None, "method_not_allowed",
     "method '' is not allowed; use GET or POST"),
    ("method 1000 chars is clipped", "M" * 1000, {}, b"", None, "method_not_allowed",
     f"method '{'M' * 64}...' is not allowed; use GET or POST"),
    # body
    ("GET with a body", "GET", {}, b"{}", "body", "invalid_body",
     "a GET request takes its parameters from the query string; its body must be empty"),
    ("body one byte over the limit", "POST", {}, b" " * (MAX_BODY_BYTES + 1), "body",
     "body_too_large", "body must be at most 65536 bytes"),
    ("body 100k '[' is too large", "POST", {}, b"[" * 100_000, "body", "body_too_large",
     "body must be at most 65536 bytes"),
    ("body not UTF-8", "POST", {}, b'{"period": "\xff\xfe"}', "body", "invalid_body",
     "body is not valid UTF-8"),
    ("body UTF-16", "POST", {}, '{"period": "daily"}'.encode("utf-16"), "body", "invalid_body",
     "body is not valid UTF-8"),
    ("body form-encoded", "POST", {}, b"period=weekly", "body", "invalid_body",
     "body is not valid JSON"),
    ("body whitespace only", "POST", {}, b"  \n", "body", "invalid_body",
     "body is not valid JSON"),
    ("body truncated", "POST", {}, b'{"period": "daily"', "body", "invalid_body",
     "body is not valid JSON"),
    ("body NaN is not JSON", "POST", {}, b'{"period": NaN}', "body", "invalid_body",
     "body is not valid JSON"),
    ("body UTF-8 BOM", "POST", {}, b"\xef\xbb\xbf{}", "body", "invalid_body",
     "body is not valid JSON"),
    ("body 30000 nested arrays", "POST", {}, b"[" * 30_000 + b"]" * 30_000, "body",
     "invalid_body", "body is nested too deeply to parse"),
    ("body 10000 nested objects", "POST", {}, b'{"a":' * 10_000 + b"1" + b"}" * 10_000,
     "body", "invalid_body", "body is nested too deeply to parse"),
    ("body nested array in events", "POST", {}, b'{"events":' + b"[" * 50_000, "body",
     "invalid_body", "body is nested too deeply to parse"),
    ("body array", "POST", {}, b"[]", "body", "invalid_body", "body must be a JSON object"),
    ("body string", "POST", {}, b'"weekly"', "body", "invalid_body",
     "body must be a JSON object"),
    ("body null", "POST", {}, b"null", "body", "invalid_body", "body must be a JSON object"),
    ("body repeats a key", "POST", {}, b'{"period": "daily", "period": "weekly"}', "period",
     "duplicate_parameter", "parameter 'period' is given more than once in the body"),
    ("name in query and body", "POST", {"period": "weekly"}, body({"period": "daily"}),
     "period", "duplicate_parameter",
     "period is given both in the query string and the body; give it once"),
    ("code in query and body", "POST", {"code": SECRET}, body({"code": SECRET}), "code",
     "duplicate_parameter", "code is given both in the query string and the body; give it once"),
    # unknown parameters
    ("unknown foo", "GET", {"foo": "1"}, b"", "foo", "unknown_parameter",
     f"unknown parameter 'foo'; allowed: {ALLOWED}"),
    ("unknown: all named, first sorted is the field", "GET",
     {"zeta": "1", "alpha": "2", "period": "x"}, b"", "alpha", "unknown_parameter",
     f"unknown parameters 'alpha', 'zeta'; allowed: {ALLOWED}"),
    ("unknown: three named, then how many more", "GET", {f"u{i}": "1" for i in range(7)}, b"",
     "u0", "unknown_parameter",
     f"unknown parameters 'u0', 'u1', 'u2' and 4 more; allowed: {ALLOWED}"),
    ("names are case-sensitive", "GET", {"Period": "weekly"}, b"", "Period",
     "unknown_parameter", f"unknown parameter 'Period'; allowed: {ALLOWED}"),
    ("unknown in the body", "POST", {}, body({"channel": "#general"}), "channel",
     "unknown_parameter", f"unknown parameter 'channel'; allowed: {ALLOWED}"),
    ("unknown 1000-char name is clipped", "GET", {"n" * 1000: "1"}, b"", "n" * 64 + "...",
     "unknown_parameter", f"unknown parameter '{'n' * 64}...'; allowed: {ALLOWED}"),
    ("unknown name with a newline is escaped", "GET", {"a\nb": "1"}, b"", "a\nb",
     "unknown_parameter", f"unknown parameter 'a\\nb'; allowed: {ALLOWED}"),
    ("unknown name with a lone surrogate", "POST", {}, b'{"\\ud800": 1}', "\\ud800",
     "unknown_parameter", f"unknown parameter '\\ud800'; allowed: {ALLOWED}"),
    # JSON types
    ("period number", "POST", {}, body({"period": 7}), "period", "invalid_type",
     "period must be a string"),
    ("period boolean", "POST", {}, body({"period": True}), "period", "invalid_type",
     "period must be a string"),
    ("from_date null", "POST", {}, body({"from_date": None}), "from_date", "invalid_type",
     "from_date must be a string"),
    ("format nested object", "POST", {}, body({"format": {"a": 1}}), "format", "invalid_type",
     "format must be a string"),
    ("idempotency_key list", "POST", {}, body({"idempotency_key": ["k"]}), "idempotency_key",
     "invalid_type", "idempotency_key must be a string"),
    ("code in the body", "POST", {}, body({"code": "k"}), "code", "invalid_parameter",
     "code is the function key: send it in the query string or the x-functions-key header, "
     "never in the body"),
    ("send_slack number 1", "POST", {}, body({"send_slack": 1}), "send_slack", "invalid_type",
     "send_slack must be a JSON boolean or a string"),
    ("dry_run null", "POST", {}, body({"dry_run": None}), "dry_run", "invalid_type",
     "dry_run must be a JSON boolean or a string"),
    ("events number", "POST", {}, body({"events": 3}), "events", "invalid_type",
     "events must be a string or a list of strings"),
    ("events list with a number", "POST", {}, body({"events": ["a", 1]}), "events",
     "invalid_type", "events must be a string or a list of strings"),
    ("events nested list", "POST", {}, body({"events": [["a"]]}), "events", "invalid_type",
     "events must be a string or a list of strings"),
    ("events empty object", "POST", {}, body({"events": {}}), "events", "invalid_type",
     "events must be a string or a list of strings"),
    ("events huge integer", "POST", {}, b'{"events": ' + b"9" * 5000 + b"}", "events",
     "invalid_type", "events must be a string or a list of strings"),
    # every string value
    ("1 MB of text in events", "GET", {"events": MEGABYTE}, b"", "events", "invalid_parameter",
     "events must be at most 512 characters in the query string; send longer values in a POST "
     "body"),
    ("1 MB of text in period", "GET", {"period": MEGABYTE}, b"", "period", "invalid_parameter",
     "period must be at most 512 characters in the query string; send longer values in a POST "
     "body"),
    ("NUL in period", "GET", {"period": "daily\x00"}, b"", "period", "invalid_parameter",
     "period must not contain NUL characters"),
    ("NUL in a JSON events item", "POST", {}, body({"events": ["a\x00"]}), "events",
     "invalid_parameter", "events must not contain NUL characters"),
    ("lone surrogate in a JSON value", "POST", {}, b'{"events": "a\\udc00"}', "events",
     "invalid_parameter", "events must be valid Unicode text (no lone surrogates)"),
    # period
    ("period yearly", "GET", {"period": "yearly"}, b"", "period", "invalid_parameter",
     "period must be one of daily, weekly, biweekly, monthly"),
    ("period custom", "GET", {"period": "custom"}, b"", "period", "invalid_parameter",
     "period must be one of daily, weekly, biweekly, monthly"),
    ("period empty", "GET", {"period": ""}, b"", "period", "invalid_parameter",
     "period must be one of daily, weekly, biweekly, monthly"),
    ("period with KELVIN SIGN", "GET", {"period": "wee\u212aly"}, b"", "period",
     "invalid_parameter", "period must be one of daily, weekly, biweekly, monthly"),
    ("period with from_date", "GET", {"period": "weekly", "from_date": "2026-11-01"}, b"",
     "period", "conflicting_parameters",
     "period cannot be combined with from_date/to_date; a date range is its own period"),
    ("period with both dates", "GET",
     {"period": "daily", "from_date": "2026-11-01", "to_date": "2026-11-02"}, b"", "period",
     "conflicting_parameters",
     "period cannot be combined with from_date/to_date; a date range is its own period"),
    # dates
    ("from_date without to_date", "GET", {"from_date": "2026-11-01"}, b"", "to_date",
     "missing_parameter", "to_date is required when from_date is given"),
    ("to_date without from_date", "GET", {"to_date": "2026-11-01"}, b"", "from_date",
     "missing_parameter", "from_date is required when to_date is given"),
    ("from_date 2026-02-30", "GET", {"from_date": "2026-02-30", "to_date": "2026-03-01"}, b"",
     "from_date", "invalid_date", "from_date is not a real calendar date"),
    ("from_date 2025-02-29 (not a leap year)", "GET",
     {"from_date": "2025-02-29", "to_date": "2025-03-01"}, b"", "from_date", "invalid_date",
     "from_date is not a real calendar date"),
    ("to_date month 13", "GET", {"from_date": "2026-01-01", "to_date": "2026-13-01"}, b"",
     "to_date", "invalid_date", "to_date is not a real calendar date"),
    ("from_date year 0", "GET", {"from_date": "0000-01-01", "to_date": "2026-01-01"}, b"",
     "from_date", "invalid_date", "from_date is not a real calendar date"),
    ("from_date without zero padding", "GET", {"from_date": "2026-1-5", "to_date": "2026-01-06"},
     b"", "from_date", "invalid_date", "from_date must be a date in YYYY-MM-DD form"),
    ("from_date compact", "GET", {"from_date": "20261101", "to_date": "2026-11-02"}, b"",
     "from_date", "invalid_date", "from_date must be a date in YYYY-MM-DD form"),
    ("from_date with a time", "GET", {"from_date": "2026-11-01T00:00", "to_date": "2026-11-02"},
     b"", "from_date", "invalid_date", "from_date must be a date in YYYY-MM-DD form"),
    ("from_date with a space", "GET", {"from_date": " 2026-11-01", "to_date": "2026-11-02"},
     b"", "from_date", "invalid_date", "from_date must be a date in YYYY-MM-DD form"),
    ("to_date with a trailing newline", "GET",
     {"from_date": "2026-11-01", "to_date": "2026-11-02\n"}, b"", "to_date", "invalid_date",
     "to_date must be a date in YYYY-MM-DD form"),
    ("from_date in Arabic-Indic digits", "GET",
     {"from_date": "\u0662\u0660\u0662\u0666-\u0661\u0661-\u0660\u0661", "to_date": "2026-11-02"},
     b"", "from_date", "invalid_date", "from_date must be a date in YYYY-MM-DD form"),
    ("from_date before the Unix epoch", "GET",
     {"from_date": "1969-12-31", "to_date": "1970-01-02"}, b"", "from_date", "invalid_parameter",
     "from_date must be 1970-01-01 or later: Mixpanel has no events before the Unix epoch"),
    ("to_date before from_date", "GET", {"from_date": "2026-11-10", "to_date": "2026-11-09"},
     b"", "to_date", "invalid_parameter", "to_date must be on or after from_date"),
    ("to_date today", "GET", {"from_date": "2026-11-20", "to_date": "2026-11-25"}, b"",
     "to_date", "invalid_parameter",
     "to_date must be yesterday (2026-11-24) or earlier: reports cover whole days"),
    ("to_date in the future", "GET", {"from_date": "2026-11-20", "to_date": "2027-01-01"}, b"",
     "to_date", "invalid_parameter",
     "to_date must be yesterday (2026-11-24) or earlier: reports cover whole days"),
    ("span of 367 days", "GET", {"from_date": "2025-11-23", "to_date": "2026-11-24"}, b"",
     "to_date", "invalid_parameter",
     "from_date to to_date must span at most 366 days inclusive; this range spans 367"),
    # booleans
    ("send_slack maybe", "GET", {"send_slack": "maybe"}, b"", "send_slack", "invalid_boolean",
     "send_slack must be one of true, false, 1, 0, yes, no"),
    ("send_slack empty", "GET", {"send_slack": ""}, b"", "send_slack", "invalid_boolean",
     "send_slack must be one of true, false, 1, 0, yes, no"),
    ("send_slack on", "POST", {}, body({"send_slack": "on"}), "send_slack", "invalid_boolean",
     "send_slack must be one of true, false, 1, 0, yes, no"),
    ("dry_run 2", "GET", {"dry_run": "2"}, b"", "dry_run", "invalid_boolean",
     "dry_run must be one of true, false, 1, 0, yes, no"),
    # events
    ("events empty", "GET", {"events": ""}, b"", "events", "invalid_parameter",
     "events must name at least one event"),
    ("events whitespace only", "GET", {"events": "   "}, b"", "events", "invalid_parameter",
     "events must name at least one event"),
    ("events only commas", "GET", {"events": " , ,"}, b"", "events", "invalid_parameter",
     "events must name at least one event"),
    ("events empty JSON list", "POST", {}, body({"events": []}), "events", "invalid_parameter",
     "events must name at least one event"),
    ("events stray comma", "GET", {"events": "Sign Up,,Login"}, b"", "events",
     "invalid_parameter", "events: name 2 is empty (check for a stray comma)"),
    ("events trailing comma", "GET", {"events": "Sign Up,"}, b"", "events", "invalid_parameter",
     "events: name 2 is empty (check for a stray comma)"),
    ("events blank JSON item", "POST", {}, body({"events": ["Sign Up", " "]}), "events",
     "invalid_parameter", "events: name 2 is empty (check for a stray comma)"),
    ("events name of 256 characters", "GET", {"events": "e" * (MAX_EVENT_NAME_CHARS + 1)}, b"",
     "events", "invalid_parameter", "events: name 1 is longer than 255 characters"),
    ("events newline inside a name", "GET", {"events": "Sign\nUp"}, b"", "events",
     "invalid_parameter", "events: name 1 contains a control character"),
    ("events trailing tab is not trimmed away", "GET", {"events": "a,Sign Up\t"}, b"",
     "events", "invalid_parameter", "events: name 2 contains a control character"),
    ("events escape sequence", "GET", {"events": "\x1b[31mred"}, b"", "events",
     "invalid_parameter", "events: name 1 contains a control character"),
    ("events DEL", "GET", {"events": "a\x7fb"}, b"", "events", "invalid_parameter",
     "events: name 1 contains a control character"),
    ("events NEL (U+0085)", "GET", {"events": "a\x85b"}, b"", "events", "invalid_parameter",
     "events: name 1 contains a control character"),
    ("events LINE SEPARATOR", "GET", {"events": "a,b\u2028c"}, b"", "events",
     "invalid_parameter", "events: name 2 contains a control character"),
    ("events PARAGRAPH SEPARATOR", "POST", {}, body({"events": ["a\u2029"]}), "events",
     "invalid_parameter", "events: name 1 contains a control character"),
    ("events 201 distinct", "POST", {}, body({"events": ",".join(f"e{i}" for i in range(201))}),
     "events", "invalid_parameter", "events must name at most 200 distinct events; got 201"),
    # format
    ("format xml", "GET", {"format": "xml"}, b"", "format", "invalid_parameter",
     "format must be one of json, text, blocks"),
    ("format empty", "GET", {"format": ""}, b"", "format", "invalid_parameter",
     "format must be one of json, text, blocks"),
    # idempotency_key
    ("idempotency_key empty", "GET", {"idempotency_key": ""}, b"", "idempotency_key",
     "invalid_parameter",
     "idempotency_key must be 1 to 128 characters from A-Z a-z 0-9 . _ : -"),
    ("idempotency_key of 129", "GET", {"idempotency_key": "k" * 129}, b"", "idempotency_key",
     "invalid_parameter",
     "idempotency_key must be 1 to 128 characters from A-Z a-z 0-9 . _ : -"),
    ("idempotency_key with a space", "GET", {"idempotency_key": "a b"}, b"", "idempotency_key",
     "invalid_parameter",
     "idempotency_key must be 1 to 128 characters from A-Z a-z 0-9 . _ : -"),
    ("idempotency_key is not trimmed", "GET", {"idempotency_key": "key "}, b"",
     "idempotency_key", "invalid_parameter",
     "idempotency_key must be 1 to 128 characters from A-Z a-z 0-9 . _ : -"),
    ("idempotency_key with a slash", "GET", {"idempotency_key": "a/b"}, b"", "idempotency_key",
     "invalid_parameter",
     "idempotency_key must be 1 to 128 characters from A-Z a-z 0-9 . _ : -"),
    ("idempotency_key non-ASCII", "GET", {"idempotency_key": "cl\u00e9"}, b"",
     "idempotency_key", "invalid_parameter",
     "idempotency_key must be 1 to 128 characters from A-Z a-z 0-9 . _ : -"),
    ("idempotency_key without Slack", "GET", {"idempotency_key": "k1", "send_slack": "no"}, b"",
     "idempotency_key", "conflicting_parameters",
     "idempotency_key only applies when send_slack is true"),
    # which rule comes first
    ("unknown name before a bad type", "POST", {}, body({"period": 1, "zz": 1}), "zz",
     "unknown_parameter", f"unknown parameter 'zz'; allowed: {ALLOWED}"),
    ("body rules before unknown names", "POST", {"foo": "1"}, b"[1]", "body", "invalid_body",
     "body must be a JSON object"),
    ("type before rule", "POST", {}, body({"send_slack": 1, "period": "yearly"}), "send_slack",
     "invalid_type", "send_slack must be a JSON boolean or a string"),
    ("period conflict before a bad period", "GET", {"period": "x", "to_date": "bad"}, b"",
     "period", "conflicting_parameters",
     "period cannot be combined with from_date/to_date; a date range is its own period"),
    ("period before send_slack", "GET", {"period": "x", "send_slack": "x"}, b"", "period",
     "invalid_parameter", "period must be one of daily, weekly, biweekly, monthly"),
]
# fmt: on


@pytest.mark.parametrize(
    ("method", "params", "raw_body", "field", "code", "message"),
    [r[1:] for r in REJECTIONS],
    ids=[r[0] for r in REJECTIONS],
)
def test_each_broken_rule_is_refused_with_its_exact_field_code_and_message(
    method: str,
    params: dict[str, str],
    raw_body: bytes,
    field: str | None,
    code: str,
    message: str,
) -> None:
    """A request breaking one rule raises InvalidRequest naming that rule, exactly."""
    error = rejection(method, params, raw_body)
    assert (error.field, error.code, error.message) == (field, code, message)
    assert str(error) == message


@pytest.mark.parametrize(
    ("method", "params", "raw_body"),
    [
        ("GET", {"code": SECRET, "period": "yearly"}, b""),
        ("GET", {"code": SECRET, "foo": SECRET}, b""),
        ("GET", {"code": SECRET * 5000, "period": "yearly"}, b""),
        ("GET", {"code": SECRET + "\x00", "format": "xml"}, b""),
        ("POST", {"code": SECRET}, body({"code": SECRET})),
        ("POST", {}, body({"code": [SECRET]})),
        ("POST", {"code": SECRET}, b"{" + SECRET.encode()),
        ("DELETE", {"code": SECRET}, b""),
    ],
    ids=[
        "bad period",
        "key as an unknown value",
        "key too long",
        "key with NUL",
        "key in query and body",
        "key of the wrong type",
        "bad body",
        "bad method",
    ],
)
def test_the_function_key_is_never_echoed(
    method: str, params: dict[str, str], raw_body: bytes
) -> None:
    """Whatever is wrong, the `code` value appears in no message, field or repr."""
    error = rejection(method, params, raw_body)
    for text in (error.message, str(error), repr(error), error.field or "", repr(error.args)):
        assert SECRET not in text


def test_no_parameters_mean_yesterday_s_daily_report_posted_to_slack_as_json() -> None:
    """GET with nothing (or only the function key) gives the documented defaults."""
    assert get() == DEFAULT
    assert get(code=SECRET) == DEFAULT
    assert parse("POST", {}, b"") == DEFAULT
    assert parse("POST", {"code": SECRET}, b"{}") == DEFAULT


@pytest.mark.parametrize(
    ("value", "kind"),
    [
        ("daily", PeriodKind.DAILY),
        ("weekly", PeriodKind.WEEKLY),
        ("biweekly", PeriodKind.BIWEEKLY),
        ("monthly", PeriodKind.MONTHLY),
        (" Weekly ", PeriodKind.WEEKLY),
        ("MONTHLY", PeriodKind.MONTHLY),
        ("\tBiWeekly\n", PeriodKind.BIWEEKLY),
    ],
    ids=["daily", "weekly", "biweekly", "monthly", "trimmed", "upper-case", "mixed case"],
)
def test_period_names_a_standard_period_case_insensitively(value: str, kind: PeriodKind) -> None:
    """`period` resolves through report_period on `today`."""
    assert get(period=value).period == report_period(kind, TODAY)


def test_monthly_is_the_previous_calendar_month() -> None:
    """On 25 Nov 2026, monthly covers October 2026 against September."""
    period = get(period="monthly").period
    assert period.current == Window(date(2026, 10, 1), date(2026, 10, 31))
    assert period.comparisons[0].window == Window(date(2026, 9, 1), date(2026, 9, 30))


@pytest.mark.parametrize(
    ("start", "end"),
    [
        ("2026-11-01", "2026-11-14"),
        ("2026-11-24", "2026-11-24"),
        ("2025-11-24", "2026-11-24"),
        ("2024-02-29", "2024-03-01"),
        ("1970-01-01", "1970-01-31"),
    ],
    ids=["two weeks", "yesterday only", "366 days (the limit)", "leap day", "the epoch"],
)
def test_a_date_range_is_a_custom_period(start: str, end: str) -> None:
    """from_date/to_date give custom_period(from, to)."""
    expected = custom_period(date.fromisoformat(start), date.fromisoformat(end))
    assert get(from_date=start, to_date=end).period == expected


def test_the_span_limit_is_366_days_inclusive() -> None:
    """366 days pass, 367 are refused (boundary pair)."""
    end = TODAY - timedelta(days=1)
    ok = end - timedelta(days=MAX_SPAN_DAYS - 1)
    assert get(from_date=ok.isoformat(), to_date=end.isoformat()).period.current.days == 366
    with pytest.raises(InvalidRequest, match="at most 366 days"):
        get(from_date=(ok - timedelta(days=1)).isoformat(), to_date=end.isoformat())


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("true", True),
        ("TRUE", True),
        ("1", True),
        ("yes", True),
        (" Yes ", True),
        ("false", False),
        ("False", False),
        ("0", False),
        ("no", False),
        ("NO", False),
    ],
    ids=["true", "TRUE", "1", "yes", "trimmed Yes", "false", "False", "0", "no", "NO"],
)
def test_booleans_accept_true_false_1_0_yes_no(value: str, expected: bool) -> None:
    """send_slack and dry_run read the same words, case-insensitively."""
    assert get(send_slack=value).send_slack is expected
    assert get(dry_run=value).dry_run is expected
    assert post_json({"send_slack": value, "dry_run": value}).send_slack is expected


@pytest.mark.parametrize("flag", [True, False], ids=["true", "false"])
def test_json_booleans_are_booleans(flag: bool) -> None:
    """In a JSON body, send_slack and dry_run may be real booleans."""
    request = post_json({"send_slack": flag, "dry_run": flag})
    assert (request.send_slack, request.dry_run) == (flag, flag)


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("Sign Up", ("Sign Up",)),
        (" Sign Up , Receipt Uploaded ,Sign Up", ("Sign Up", "Receipt Uploaded")),
        ("b,a,b,a", ("b", "a")),
        ("<!channel>", ("<!channel>",)),
        ("<script>alert(1)</script>", ("<script>alert(1)</script>",)),
        ("<@U123>,*bold*,`code`", ("<@U123>", "*bold*", "`code`")),
        # A zero-width space is a format character (Cf), refused since issue 23 item 2.
        ("Caf\u00e9 \U0001f389,\u00fcber", ("Caf\u00e9 \U0001f389", "\u00fcber")),
        ("$identify", ("$identify",)),
        ("e" * MAX_EVENT_NAME_CHARS, ("e" * 255,)),
        (" " + "e" * 255 + " ", ("e" * 255,)),
    ],
    ids=[
        "one name",
        "trimmed and deduplicated",
        "first occurrence order",
        "<!channel> is data",
        "<script> is data",
        "Slack markup is data",
        "unicode",
        "Mixpanel's own event",
        "255 characters (the limit)",
        "255 after trimming",
    ],
)
def test_events_are_trimmed_deduplicated_names_kept_as_data(
    value: str, expected: tuple[str, ...]
) -> None:
    """Names are data: markup is kept verbatim here (renderers escape it), order is kept."""
    assert get(events=value).events == expected


def test_events_as_a_json_list_may_hold_commas() -> None:
    """A JSON list item is one name, so a name may contain a comma."""
    assert post_json({"events": [" a, b ", "c", "c"]}).events == ("a, b", "c")


def test_the_event_limit_counts_distinct_names() -> None:
    """200 distinct names pass even with repeats; 201 distinct are refused (boundary pair)."""
    names = [f"e{i}" for i in range(MAX_EVENTS)]
    events = post_json({"events": ",".join(names + names[:50])}).events
    assert events is not None
    assert len(events) == 200
    with pytest.raises(InvalidRequest, match="at most 200 distinct events; got 201"):
        post_json({"events": ",".join([*names, "one more"])})


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("json", OutputFormat.JSON),
        ("text", OutputFormat.TEXT),
        ("blocks", OutputFormat.BLOCKS),
        (" Blocks ", OutputFormat.BLOCKS),
    ],
    ids=["json", "text", "blocks", "trimmed mixed case"],
)
def test_format_chooses_the_answer(value: str, expected: OutputFormat) -> None:
    """format is json, text or blocks."""
    assert get(format=value).format is expected


@pytest.mark.parametrize(
    "key",
    ["k", "weekly-2026-W47", "a.b_c:d-e", "K" * 128],
    ids=["one character", "typical", "every punctuation", "128 characters (the limit)"],
)
def test_idempotency_key_is_kept_verbatim(key: str) -> None:
    """A well-formed key is kept as given."""
    assert get(idempotency_key=key).idempotency_key == key
    assert get(idempotency_key=key, send_slack="true").idempotency_key == key


def test_dry_run_with_everything_resolves_the_whole_plan() -> None:
    """dry_run keeps every other parameter, so the plan shows what would happen."""
    request = get(
        from_date="2026-11-01",
        to_date="2026-11-14",
        events="a,b",
        format="text",
        dry_run="true",
        idempotency_key="k",
        send_slack="yes",
        code=SECRET,
    )
    assert request == CustomRequest(
        period=custom_period(date(2026, 11, 1), date(2026, 11, 14)),
        send_slack=True,
        events=("a", "b"),
        format=OutputFormat.TEXT,
        dry_run=True,
        idempotency_key="k",
    )


def test_a_body_of_exactly_the_limit_is_accepted() -> None:
    """MAX_BODY_BYTES bytes pass, one more is refused (boundary pair, the other half above)."""
    prefix, suffix = b'{"events": "Sign Up', b'"}'
    raw = prefix + b" " * (MAX_BODY_BYTES - len(prefix) - len(suffix)) + suffix
    assert len(raw) == MAX_BODY_BYTES
    assert parse("POST", {}, raw).events == ("Sign Up",)


def test_a_query_value_of_exactly_512_characters_is_accepted() -> None:
    """A query value fits in a URL the Azure front end carries: 512 characters; one more: 400."""
    value = "a," * (MAX_QUERY_VALUE_CHARS // 2 - 1) + "zz"
    assert len(value) == MAX_QUERY_VALUE_CHARS
    assert get(events=value).events == ("a", "zz")
    with pytest.raises(InvalidRequest, match="at most 512 characters in the query string"):
        get(events=value + "z")


@pytest.mark.parametrize(
    "key", [SECRET, "", "x" * 100_000, SECRET + "\x00", "\ud800", "<!channel>"], ids=repr
)
def test_the_function_key_is_the_host_s_business_whatever_its_value(key: str) -> None:
    """`code` is checked by the Functions host; the function neither checks nor keeps it."""
    assert get(code=key) == DEFAULT


def test_post_method_is_case_insensitive() -> None:
    """'post' and 'Get' are the same methods as POST and GET."""
    assert parse("post", {}, b"") == DEFAULT
    assert parse("Get", {}) == DEFAULT


EQUIVALENT = [
    {},
    {"period": "weekly", "format": "blocks"},
    {"from_date": "2026-10-01", "to_date": "2026-10-31", "send_slack": "false"},
    {"events": "Sign Up,Login,Sign Up", "dry_run": "yes", "idempotency_key": "run-1"},
    {"period": "MONTHLY", "send_slack": "0", "format": "text", "events": "<!channel>"},
]


@pytest.mark.parametrize(
    "params", EQUIVALENT, ids=["defaults", "weekly blocks", "range", "events", "mixed"]
)
def test_get_and_post_mean_the_same_thing(params: dict[str, str]) -> None:
    """The same parameters in the query string, the body, or split between them are equal."""
    expected = parse("GET", params)
    assert parse("POST", {}, body(params)) == expected
    assert parse("POST", params, b"") == expected
    names = sorted(params)
    query = {n: params[n] for n in names[::2]}
    rest = {n: params[n] for n in names[1::2]}
    assert parse("POST", query, body(rest)) == expected


# --- property: only a CustomRequest or an InvalidRequest, whatever comes in ----------------

PLAUSIBLE_VALUES = [
    "daily",
    "Weekly",
    "monthly",
    "yearly",
    "",
    " ",
    "2026-11-01",
    "2026-11-24",
    "2026-02-30",
    "2025-11-23",
    "1969-12-31",
    "true",
    "no",
    "maybe",
    "json",
    "blocks",
    "a,b",
    "a,,b",
    "<!channel>",
    "k-1",
    "\x00",
    "\u2028",
    "\ud800",
    "e" * 300,
]
# Mostly real methods, so most examples get past the first check.
names = st.one_of(st.sampled_from(ALLOWED_PARAMETERS), st.text(max_size=8))
text_values = st.one_of(st.sampled_from(PLAUSIBLE_VALUES), st.text(max_size=30))
json_values = st.recursive(
    st.one_of(st.none(), st.booleans(), st.integers(), st.floats(allow_nan=False), text_values),
    lambda children: st.one_of(
        st.lists(children, max_size=3), st.dictionaries(st.text(max_size=5), children, max_size=3)
    ),
    max_leaves=8,
)
bodies = st.one_of(
    st.just(b""),
    st.binary(max_size=64),
    st.dictionaries(names, json_values, max_size=5).map(
        lambda d: json.dumps(d, ensure_ascii=False).encode("utf-8", "surrogatepass")
    ),
    st.sampled_from(
        [b"[" * 70_000, b"{" * 2000, b'{"events": "\\ud800"}', b'{"a": 1, "a": 2}', b"\xff"]
    ),
)
methods = st.sampled_from(["GET", "POST", "get", "Post", "GET", "POST", "PUT", "", "po\u017ft"])
CONTROL = re.compile("[\u2028\u2029]")


def assert_clean_error(error: InvalidRequest) -> None:
    """A refusal the adapter can answer as-is: a str field or None, a message, a code, no key."""
    assert error.field is None or isinstance(error.field, str)
    assert isinstance(error.message, str)
    assert error.message
    assert error.code
    assert SECRET not in error.message
    assert SECRET not in (error.field or "")
    error.message.encode("utf-8")  # the adapter answers UTF-8 JSON
    (error.field or "").encode("utf-8")


def assert_valid_request(request: CustomRequest, today: date) -> None:
    """What parse_custom_request returns obeys every rule it enforces."""
    assert request.period.current.end < today
    if request.period.kind is PeriodKind.CUSTOM:
        assert request.period.current.days <= MAX_SPAN_DAYS
    if request.events is not None:
        assert 1 <= len(request.events) <= MAX_EVENTS
        assert len(set(request.events)) == len(request.events)
        for name in request.events:
            assert name == name.strip()
            assert 1 <= len(name) <= MAX_EVENT_NAME_CHARS
            assert not any(unicodedata.category(ch) in ("Cc", "Cs") for ch in name)
            assert not CONTROL.search(name)
    if request.idempotency_key is not None:
        assert request.send_slack
        assert re.fullmatch(r"[A-Za-z0-9._:-]{1,128}", request.idempotency_key)


@settings(max_examples=1000, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    method=methods,
    params=st.one_of(
        st.dictionaries(names, text_values, max_size=6),
        st.dictionaries(st.sampled_from(ALLOWED_PARAMETERS), text_values, max_size=6),
    ),
    raw_body=bodies,
    with_key=st.booleans(),
    today=st.dates(min_value=date(1971, 1, 1), max_value=date(9998, 12, 31)),
)
def test_any_input_gives_a_request_or_an_invalid_request(
    method: str, params: dict[str, str], raw_body: bytes, with_key: bool, today: date
) -> None:
    """Nothing but InvalidRequest is ever raised, and what is returned is valid."""
    if with_key:
        params = {**params, "code": SECRET}
    outcome: CustomRequest | InvalidRequest
    try:
        outcome = parse_custom_request(method, params, raw_body, today=today)
    except InvalidRequest as error:
        outcome = error
    if isinstance(outcome, InvalidRequest):
        assert_clean_error(outcome)
    else:
        assert isinstance(outcome, CustomRequest)
        assert_valid_request(outcome, today)


CONTROL_CHARACTERS = [chr(c) for c in range(0x110000) if unicodedata.category(chr(c)) == "Cc"] + [
    "\u2028",
    "\u2029",
]


@pytest.mark.parametrize(
    "ch", CONTROL_CHARACTERS, ids=[f"U+{ord(c):04X}" for c in CONTROL_CHARACTERS]
)
def test_every_control_character_is_refused_inside_an_event_name(ch: str) -> None:
    """Each Cc character, U+2028 and U+2029 is refused wherever it is in a name."""
    for value in (f"a{ch}b", f"ok,{ch}b", f"ok,b{ch}"):
        with pytest.raises(InvalidRequest) as info:
            get(events=value)
        assert info.value.field == "events"
        assert info.value.message in {
            "events: name 1 contains a control character",
            "events: name 2 contains a control character",
            "events must not contain NUL characters",
        }


FORMAT_CHARACTERS = [chr(c) for c in range(0x110000) if unicodedata.category(chr(c)) == "Cf"]
# A value each parameter would otherwise accept, so only the format character can be refused.
PLAIN_VALUES = {
    "period": "weekly",
    "from_date": "2026-11-01",
    "to_date": "2026-11-14",
    "events": "Sign Up",
    "send_slack": "false",
    "format": "text",
    "dry_run": "true",
    "idempotency_key": "weekly-1",
    "report": "growth",
}


@pytest.mark.parametrize("name", sorted(PLAIN_VALUES))
@pytest.mark.parametrize(
    "ch",
    ["\u202e", "\u200b", "\ufeff", "\u2066", "\U000e0041"],
    ids=["RLO", "ZWSP", "BOM", "LRI", "TAG-A"],
)
def test_a_format_character_in_any_parameter_is_refused_naming_the_field(
    name: str, ch: str
) -> None:
    """Issue 23 item 2: U+202E and friends never reach a report, in the query or the body."""
    value = PLAIN_VALUES[name]
    tainted = value[:1] + ch + value[1:]
    message = (
        f"{name} must not contain invisible format characters (Unicode category Cf); "
        f"character 2 is U+{ord(ch):04X}"
    )
    for method, params, raw in (
        ("GET", {name: tainted}, b""),
        ("POST", {}, body({name: tainted})),
        ("POST", {}, body({name: [tainted]}) if name == "events" else body({name: tainted})),
    ):
        error = rejection(method, params, raw)
        assert (error.field, error.code, error.message) == (name, "invalid_parameter", message)


@pytest.mark.parametrize(
    "ch", FORMAT_CHARACTERS, ids=[f"U+{ord(c):04X}" for c in FORMAT_CHARACTERS]
)
def test_every_format_character_is_refused_inside_an_event_name(ch: str) -> None:
    """Every Cf character of the Unicode database, wherever it is in a name."""
    for value in (f"{ch}ab", f"a{ch}b", f"ok,b{ch}"):
        with pytest.raises(InvalidRequest) as info:
            get(events=value)
        assert info.value.field == "events"
        assert f"is U+{ord(ch):04X}" in info.value.message
