"""Specs for openapi.yaml: a valid OpenAPI 3.0 document that describes what the app answers."""

from __future__ import annotations

import copy
import json
import re
from datetime import UTC, date, datetime
from typing import Any

import jsonschema
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from openapi_spec_validator import validate
from openapi_spec_validator.validation.exceptions import OpenAPIValidationError

from shared.alerts.check import BACKTEST_DAYS
from shared.errors import InvalidRequest
from shared.render.report_json import report_to_json
from shared.report.facts import Facts, Unavailable, UniqueCounts
from shared.report.generator import Report, build_report
from shared.report.metrics import MetricsConfig, load_metrics
from shared.schedule.periods import PeriodKind, ReportPeriod, custom_period, report_period
from shared.settings import DEFAULT_METRICS_FILE
from shared.web.backtest_request import ALLOW as ALLOW_GET
from shared.web.backtest_request import ALLOWED_PARAMETERS as BACKTEST_PARAMETERS
from shared.web.backtest_request import MAX_RULE_CHARS, MAX_RULES, parse_backtest_request
from shared.web.custom_request import (
    BODY_PARAMETERS,
    MAX_EVENT_NAME_CHARS,
    MAX_EVENTS,
    MAX_IDEMPOTENCY_KEY_CHARS,
    MAX_QUERY_VALUE_CHARS,
    MAX_SHOWN_CHARS,
    MAX_SHOWN_NAMES,
    MAX_SPAN_DAYS,
    MAX_VALUE_CHARS,
    CustomRequest,
    parse_custom_request,
)
from tests.openapi_check import load_openapi, validate_against_openapi
from tests.web.test_custom_request import REJECTIONS

TODAY = date(2026, 11, 25)
FETCHED_AT = datetime(2026, 11, 25, 9, 0, 3, tzinfo=UTC)
PATH = "/api/CustomReport"


def config() -> MetricsConfig:
    return load_metrics(DEFAULT_METRICS_FILE)


def daily_counts(period: ReportPeriod, per_day: dict[str, int]) -> dict[str, dict[date, int]]:
    """Every event `per_day[event]` times on each day of the period's span, rising by one a day."""
    days = list(period.span.dates())
    return {event: {d: n + i for i, d in enumerate(days)} for event, n in per_day.items()}


def uniques(period: ReportPeriod, users: int) -> UniqueCounts:
    return UniqueCounts(
        users={w: {"active_users": users + w.days} for w in period.windows},
        seen_events=frozenset(),
        lines=0,
    )


def make_report(
    period: ReportPeriod,
    *,
    counts: dict[str, dict[date, int]] | Unavailable,
    unique: UniqueCounts | Unavailable,
    notes: tuple[str, ...] = (),
) -> Report:
    return build_report(
        config(),
        period,
        Facts(counts=counts, uniques=unique, event_names=frozenset(), fetched_at=FETCHED_AT),
        company="Acme <Ltd>",
        timezone="Europe/London",
        project_url="https://eu.mixpanel.com/project/123",
        notes=notes,
    )


def weekly_report() -> Report:
    period = report_period(PeriodKind.WEEKLY, TODAY)
    counts = daily_counts(
        period,
        {"Sign Up": 40, "User Onboarded": 12, "Receipt Uploaded": 300, "Brand New": 0, "$ae": 9},
    )
    # A new event and a collapse, so notable changes, warnings and insights are all present.
    counts["Brand New"] = dict.fromkeys(period.current.dates(), 50)
    counts["Voucher Redeemed"] = dict.fromkeys(period.comparisons[0].window.dates(), 20)
    return make_report(period, counts=counts, unique=uniques(period, 1000))


def daily_report_without_uniques() -> Report:
    period = report_period(PeriodKind.DAILY, TODAY)
    return make_report(
        period,
        counts=daily_counts(period, {"Sign Up": 3}),
        unique=Unavailable("Mixpanel export timed out"),
    )


def monthly_report_without_counts() -> Report:
    period = report_period(PeriodKind.MONTHLY, TODAY)
    return make_report(
        period,
        counts=Unavailable("Mixpanel answered HTTP 503"),
        unique=uniques(period, 5000),
        notes=("a note",),
    )


def custom_report_of_zeros() -> Report:
    period = custom_period(date(2026, 1, 1), date(2026, 1, 31))
    return make_report(period, counts={}, unique=uniques(period, 0))


REPORTS = [weekly_report, daily_report_without_uniques, monthly_report_without_counts,
           custom_report_of_zeros]  # fmt: skip
REPORT_IDS = ["weekly", "daily, uniques unavailable", "monthly, counts unavailable",
              "custom, all zero"]  # fmt: skip


def schema(name: str) -> dict[str, Any]:
    found: dict[str, Any] = load_openapi()["components"]["schemas"][name]
    return found


def invalid(kind: str, instance: object) -> bool:
    try:
        validate_against_openapi(kind, instance)
    except jsonschema.ValidationError:
        return True
    return False


# --- the document ----------------------------------------------------------------------------


def test_the_document_is_a_valid_openapi_3_0_spec() -> None:
    """openapi-spec-validator accepts openapi.yaml (as OpenAPI 3.0.3)."""
    spec = load_openapi()
    assert spec["openapi"] == "3.0.3"
    validate(spec)


def test_the_validator_would_notice_a_broken_document() -> None:
    """An operation without responses fails, so the test above is not vacuous."""
    spec = copy.deepcopy(load_openapi())
    del spec["paths"][PATH]["get"]["responses"]
    with pytest.raises(OpenAPIValidationError):
        validate(spec)


def test_get_and_post_are_the_only_operations() -> None:
    """The endpoint documents GET and POST, each with every status either can answer."""
    operations = load_openapi()["paths"][PATH]
    assert set(operations) == {"get", "post"}
    for operation in operations.values():
        assert {"200", "400", "401", "405", "414", "415", "429", "500", "502", "503"} == set(
            operation["responses"]
        )


def test_the_function_key_goes_in_the_code_query_or_the_x_functions_key_header() -> None:
    """Two apiKey schemes, either one enough."""
    spec = load_openapi()
    schemes = spec["components"]["securitySchemes"]
    assert {(s["type"], s["in"], s["name"]) for s in schemes.values()} == {
        ("apiKey", "query", "code"),
        ("apiKey", "header", "x-functions-key"),
    }
    assert spec["security"] == [{name: []} for name in schemes]


def test_each_parameter_is_declared_once() -> None:
    """GET: one exploded query object of every allowed name but `code` (a security scheme)."""
    spec = load_openapi()
    get = spec["paths"][PATH]["get"]
    assert get["parameters"] == [{"$ref": "#/components/parameters/query"}]
    query = spec["components"]["parameters"]["query"]
    assert (query["in"], query["style"], query["explode"], query["required"]) == (
        "query",
        "form",
        True,
        False,
    )
    assert tuple(schema("CustomReportQuery")["properties"]) == BODY_PARAMETERS
    assert "code" not in json.dumps(schema("CustomReportQuery")["properties"])


def test_post_takes_the_parameters_in_a_json_body_and_the_key_never() -> None:
    """The POST body schema has exactly the allowed names but `code`, and refuses others."""
    spec = load_openapi()
    post = spec["paths"][PATH]["post"]
    assert "parameters" not in post
    body = post["requestBody"]["content"]["application/json"]["schema"]
    assert body == {"$ref": "#/components/schemas/CustomReportBody"}
    assert tuple(schema("CustomReportBody")["properties"]) == BODY_PARAMETERS
    for name in ("CustomReportBody", "CustomReportQuery"):
        assert schema(name)["additionalProperties"] is False


@pytest.mark.parametrize(
    ("where", "needles"),
    [
        ("Period", ["daily", "weekly", "biweekly", "monthly", "previous calendar month",
                    "Case-insensitive", "cannot be combined"]),
        ("FromDate", ["YYYY-MM-DD", "not a real calendar date", "1970-01-01", "to_date"]),
        ("ToDate", ["on or after from_date", "yesterday", f"at most {MAX_SPAN_DAYS} days"]),
        ("EventList", ["comma-separated", "trimmed", "Duplicates", "at least one event",
                       f"longer than {MAX_EVENT_NAME_CHARS} characters", "Cc", "U+2028",
                       f"at most {MAX_EVENTS}", "<!channel>"]),
        ("BooleanWord", ["true, false, 1, 0, yes, no", "invalid_boolean"]),
        ("Format", ["json", "text", "blocks", "Default"]),
        ("IdempotencyKey", [f"1 to {MAX_IDEMPOTENCY_KEY_CHARS} characters",
                            "only applies when send_slack is true", "storage_unavailable",
                            "CUSTOM_REPOST_SECONDS"]),
        ("CrossFieldRules", ["not both", "both dates or neither", "idempotency_key"]),
        ("ReportName", ["[[report]]", "cadence", "unknown_report", "did-you-mean", "events"]),
    ],
)  # fmt: skip
def test_each_schema_description_states_its_rules(where: str, needles: list[str]) -> None:
    """The rules live in the schema descriptions, with the limits the code enforces."""
    flat = " ".join(schema(where)["description"].split())
    for needle in needles:
        assert needle in flat, needle


def test_the_info_says_what_is_echoed_and_what_cannot_be_expressed() -> None:
    """Echoed names are clipped and bounded; the rules OpenAPI cannot express are listed."""
    info = " ".join(load_openapi()["info"]["description"].split())
    for needle in [
        f"clipped to {MAX_SHOWN_CHARS} characters",
        f"at most {MAX_SHOWN_NAMES} are listed",
        "and N more",
        "No other parameter value is ever echoed",
        "yesterday or earlier",
        "at most 366 days",
        "at most 200 distinct events",
        "CUSTOM_REPOST_SECONDS",
        f"at most {MAX_QUERY_VALUE_CHARS} characters",
        "4096 bytes",
    ]:
        assert needle in info, needle


def test_the_spec_limits_are_the_code_limits() -> None:
    """maxLength and patterns in the spec equal the constants in shared.web.custom_request."""
    key = schema("IdempotencyKey")
    assert key["maxLength"] == MAX_IDEMPOTENCY_KEY_CHARS
    assert key["pattern"] == f"^[A-Za-z0-9._:-]{{1,{MAX_IDEMPOTENCY_KEY_CHARS}}}$"
    query = schema("CustomReportQuery")["properties"]
    for name in ("period", "events", "send_slack", "format", "dry_run"):
        assert query[name]["maxLength"] == MAX_QUERY_VALUE_CHARS
    assert f"{MAX_VALUE_CHARS} characters" in load_openapi()["info"]["description"]


def test_every_error_code_the_parser_uses_is_in_the_table() -> None:
    """Each code in the rejection table is documented in the info description."""
    described = load_openapi()["info"]["description"]
    for code in {row[5] for row in REJECTIONS} | {
        "unsupported_media_type",
        "uri_too_long",
        "storage_unavailable",
        "bad_request",
    }:
        assert f"`{code}`" in described, code


def spec_accepts(name: str, value: str) -> bool:
    """Whether the spec's pattern takes `value`, read as ECMA does (`$` only at the very end)."""
    pattern = schema(name)["pattern"].removesuffix("$") + r"\Z"
    return re.search(pattern, value) is not None


def parser_accepts(name: str, value: str) -> bool:
    try:
        parse_custom_request("GET", {name: value}, b"", today=TODAY)
    except InvalidRequest as error:
        return error.code == "conflicting_parameters"  # idempotency_key needs send_slack
    return True


WORD_CHARS = st.sampled_from(
    [*"daiwkbmonthlyjsxfru10 YESNOTRUEDAILY", "\t", "\n", "\x1c", "\x85", "\xa0",
    "\u2003", "\u2028", "\u3000", "\ufeff", "\u212a", "\x00", "\x0b"]
)  # fmt: skip
EVENT_CHARS = st.sampled_from(
    [*"ab ,", "\t", "\n", "\x1f", "\x7f", "\x85", "\xa0", "\u2003", "\u2028", "\u3000",
    "\ufeff", "<", "\u00e9"]
)  # fmt: skip


@pytest.mark.parametrize(
    ("name", "where"),
    [("period", "Period"), ("format", "Format"), ("send_slack", "BooleanWord"),
     ("dry_run", "BooleanWord")],
)  # fmt: skip
@settings(max_examples=300, deadline=None, derandomize=True)
@given(value=st.one_of(st.text(WORD_CHARS, max_size=12), st.sampled_from(
    ["weekly", " Weekly\t", "MONTHLY\u3000", "\u2028daily", "true\n", "YES", "0", "Text",
     "blocks\x1c", "\ufeffweekly", "\u212aelvin", "week ly"])))  # fmt: skip
def test_the_keyword_patterns_accept_exactly_what_the_parser_accepts(
    name: str, where: str, value: str
) -> None:
    """A word the spec's pattern takes is a word the parser takes, and no other."""
    assert spec_accepts(where, value) == parser_accepts(name, value), repr(value)


@settings(max_examples=500, deadline=None, derandomize=True)
@given(value=st.one_of(
    st.text(EVENT_CHARS, max_size=12),
    st.builds(lambda n, pad: pad + "e" * n + pad, st.integers(250, 260), st.sampled_from(
        ["", " ", "\u3000"])),
))  # fmt: skip
def test_the_events_pattern_accepts_exactly_what_the_name_rules_accept(value: str) -> None:
    """events: empty names, control characters and long names, as the parser sees them."""
    try:
        parse_custom_request("POST", {}, json.dumps({"events": value}).encode(), today=TODAY)
        accepted = True
    except InvalidRequest:
        accepted = False
    assert spec_accepts("EventList", value) == accepted, repr(value)


@settings(max_examples=300, deadline=None, derandomize=True)
@given(value=st.text(EVENT_CHARS, max_size=10))
def test_the_event_name_pattern_is_one_list_item(value: str) -> None:
    """A JSON list item may contain commas; otherwise the rules of one name."""
    try:
        parse_custom_request("POST", {}, json.dumps({"events": [value]}).encode(), today=TODAY)
        accepted = True
    except InvalidRequest:
        accepted = False
    assert spec_accepts("EventName", value) == accepted, repr(value)


@pytest.mark.parametrize(
    ("value", "ok"),
    [("2026-11-01", True), ("1970-01-01", True), ("1969-12-31", False), ("0999-01-01", False),
     ("2026-1-01", False), ("9999-12-31", True)],
)  # fmt: skip
def test_the_date_pattern_starts_at_the_epoch(value: str, ok: bool) -> None:
    """The pattern refuses years before 1970, as the parser does (format: date does the rest)."""
    assert spec_accepts("FromDate", value) is ok
    assert spec_accepts("ToDate", value) is ok


@pytest.mark.parametrize(
    ("instance", "ok"),
    [
        ({}, True),
        ({"period": "weekly"}, True),
        ({"from_date": "2026-11-01", "to_date": "2026-11-14"}, True),
        ({"period": "weekly", "from_date": "2026-11-01", "to_date": "2026-11-14"}, False),
        ({"from_date": "2026-11-01"}, False),
        ({"to_date": "2026-11-14"}, False),
        ({"idempotency_key": "k"}, True),
        ({"idempotency_key": "k", "send_slack": "yes"}, True),
        ({"idempotency_key": "k", "send_slack": "false"}, False),
        ({"idempotency_key": "k", "send_slack": False}, False),
        ({"idempotency_key": "k", "send_slack": True}, True),
        ({"code": "k"}, False),
    ],
)
def test_the_cross_field_rules_are_in_the_schemas(instance: dict[str, Any], ok: bool) -> None:
    """A period or a range, both dates or neither, a key only when posting: in both schemas."""
    assert invalid("CustomReportBody", instance) is not ok
    # The function key is a security scheme, not a query property; parse takes it anywhere.
    if all(isinstance(v, str) for v in instance.values()) and "code" not in instance:
        assert invalid("CustomReportQuery", instance) is not ok
        parsed = True
        try:
            parse_custom_request("GET", instance, b"", today=TODAY)
        except InvalidRequest:
            parsed = False
        assert parsed is ok


# --- the Report schema -----------------------------------------------------------------------


@pytest.mark.parametrize("build", REPORTS, ids=REPORT_IDS)
def test_report_json_fits_the_report_schema(build: Any) -> None:
    """report_to_json of real reports (full, partly unavailable, all zero) is a valid Report."""
    report_json = json.loads(json.dumps(report_to_json(build())))
    validate_against_openapi("Report", report_json)
    validate_against_openapi(
        "ReportResponse", {"report": report_json, "slack": {"posted": True, "error": None}}
    )


def test_the_sample_reports_exercise_every_nullable_field() -> None:
    """Between them the sample reports hold null and non-null in each nullable field."""
    seen: dict[str, set[bool]] = {}

    def note(path: str, value: object) -> None:
        seen.setdefault(path, set()).add(value is None)

    for build in REPORTS:
        r = report_to_json(build())
        note("top_events", r["top_events"])
        # top_events[].previous stays nullable (EventCount.baseline is int | None) though every
        # real period has a baseline, so no sample can hold a null there.
        for m in r["notable_changes"]:
            note("notable_changes.change_ratio", m["change_ratio"])
        for metric in r["metrics"]:
            note("metric.value", metric["value"])
            note("metric.unavailable_reason", metric["unavailable_reason"])
            for c in metric["comparisons"]:
                for key in ("value", "change", "change_ratio", "good"):
                    note(f"change.{key}", c[key])
    both = {True, False}
    assert dict.fromkeys(seen, both) == seen


def test_the_report_schema_names_exactly_the_keys_report_to_json_writes() -> None:
    """Schema properties and required lists equal the keys of real output, at every level."""
    r = report_to_json(weekly_report())
    metric = r["metrics"][0]
    pairs = [
        ("Report", r),
        ("Window", r["window"]),
        ("ComparisonWindow", r["comparison_windows"][0]),
        ("Metric", metric),
        ("Change", metric["comparisons"][0]),
        ("TopEvent", r["top_events"][0]),
        ("NotableChange", r["notable_changes"][0]),
    ]
    for name, instance in pairs:
        s = schema(name)
        assert set(s["properties"]) == set(instance), name
        assert set(s["required"]) == set(instance), name
        assert s["additionalProperties"] is False, name


def test_the_report_schema_is_strict() -> None:
    """A missing key, an extra key, a wrong null, a bad enum or a bad date is refused."""
    good = json.loads(json.dumps(report_to_json(weekly_report())))
    broken: list[dict[str, Any]] = []
    for mutate in (
        lambda r: r.pop("timezone"),
        lambda r: r.update(extra=1),
        lambda r: r.update(company=None),
        lambda r: r.update(warnings=None),
        lambda r: r.update(period="yearly"),
        lambda r: r["window"].update(from_date="2026-02-30"),
        lambda r: r["window"].update(days=0),
        # a sum, an average or a formula may be negative or fractional: only numbers pass
        lambda r: r["metrics"][0].update(value="12"),
        lambda r: r["metrics"][0].update(unit=None),
        lambda r: r["metrics"][0]["comparisons"][0].update(verdict="sideways"),
        lambda r: r["metrics"][0]["comparisons"][0].pop("good"),
        lambda r: r["notable_changes"][0].update(previous=None),
        lambda r: r["notable_changes"][0].update(verdict="in_line"),
        lambda r: r.update(data_as_of="yesterday"),
    ):
        copy_ = copy.deepcopy(good)
        mutate(copy_)
        broken.append(copy_)
    assert [invalid("Report", b) for b in broken] == [True] * len(broken)


# --- the other answers -----------------------------------------------------------------------


def plan(request: CustomRequest) -> dict[str, Any]:
    """The dry-run answer, as the adapter builds it from a CustomRequest."""

    def window(w: Any) -> dict[str, Any]:
        return {"from_date": w.start.isoformat(), "to_date": w.end.isoformat(), "days": w.days}

    return {
        "dry_run": True,
        "period": request.period.kind.value,
        "window": window(request.period.current),
        "comparison_windows": [
            {"label": c.label, **window(c.window)} for c in request.period.comparisons
        ],
        "events": None if request.events is None else list(request.events),
        "send_slack": request.send_slack,
        "format": request.format.value,
    }


@pytest.mark.parametrize(
    "params",
    [{}, {"period": "monthly", "format": "text", "send_slack": "no"},
     {"from_date": "2026-11-01", "to_date": "2026-11-14", "events": "a,<!channel>"}],
    ids=["defaults", "monthly text", "range with events"],
)  # fmt: skip
def test_a_dry_run_plan_fits_the_plan_schema(params: dict[str, str]) -> None:
    """The plan of a parsed request is a valid Plan; a plan without dry_run is not."""
    request = parse_custom_request("GET", {**params, "dry_run": "true"}, b"", today=TODAY)
    validate_against_openapi("Plan", plan(request))
    assert invalid("Plan", {**plan(request), "dry_run": False})
    assert invalid("Plan", {**plan(request), "surprise": 1})


@pytest.mark.parametrize(
    ("row_id", "field", "code", "message"),
    [(r[0], r[4], r[5], r[6]) for r in REJECTIONS],
    ids=[r[0] for r in REJECTIONS],
)
def test_every_refusal_fits_the_error_schema(
    row_id: str, field: str | None, code: str, message: str
) -> None:
    """Each InvalidRequest of the rules table, in the adapter's shape, is a valid Error."""
    error = InvalidRequest(field, message, code=code)
    answer = {"error": {"code": error.code, "message": error.message, "field": error.field}}
    validate_against_openapi("Error", json.loads(json.dumps(answer)))


@pytest.mark.parametrize(
    ("instance", "ok"),
    [
        ({"error": {"code": "c", "message": "m", "field": None}}, True),
        ({"error": {"code": "c", "message": "m", "field": None, "side": "mixpanel"}}, True),
        ({"error": {"code": "c", "message": "m", "field": None, "side": "slack"}}, True),
        ({"error": {"code": "c", "message": "m", "field": None, "side": "storage"}}, True),
        ({"error": {"code": "c", "message": "m", "field": None, "side": "azure"}}, False),
        ({"error": {"code": "c", "message": "m"}}, False),
        ({"error": {"code": "c", "message": "", "field": None}}, False),
        ({"error": {"code": "c", "message": "m", "field": None}, "trace": "..."}, False),
        ({"error": "bad things"}, False),
    ],
    ids=["plain", "mixpanel side", "slack side", "storage side", "unknown side", "no field",
         "empty message", "extra top-level key", "string error"],
)  # fmt: skip
def test_the_error_schema_is_exact(instance: dict[str, Any], ok: bool) -> None:
    """Error is {"error": {code, message, field[, side]}} and nothing else."""
    assert invalid("Error", instance) is not ok


def test_a_report_built_but_not_posted_carries_the_report() -> None:
    """A 502 after building answers the error beside the report and the Slack outcome."""
    answer = {
        "error": {"code": "slack_failed", "message": "not posted", "field": None, "side": "slack"},
        "report": json.loads(json.dumps(report_to_json(weekly_report()))),
        "slack": {"posted": False, "error": "Slack webhook answered HTTP 500"},
    }
    validate_against_openapi("ReportNotPosted", answer)
    assert invalid("Error", answer)


def test_retry_after_is_documented_on_429_and_503() -> None:
    """Rate limits and outages say when to come back."""
    responses = load_openapi()["components"]["responses"]
    for name in ("RateLimited", "Unavailable"):
        assert responses[name]["headers"]["Retry-After"] == {
            "$ref": "#/components/headers/Retry-After"
        }


@pytest.mark.parametrize(
    ("instance", "ok"),
    [
        ({"posted": True, "error": None}, True),
        ({"posted": False, "error": None, "duplicate": True}, True),
        ({"posted": False, "error": "Slack webhook answered HTTP 404: no_service"}, True),
        ({"posted": True}, False),
        ({"posted": "yes", "error": None}, False),
        ({"posted": True, "error": None, "url": "https://hooks.slack.com/x"}, False),
    ],
    ids=["posted", "duplicate", "failed", "no error key", "string posted", "extra key"],
)
def test_the_slack_outcome_is_exact(instance: dict[str, Any], ok: bool) -> None:
    """slack is {posted, error[, duplicate]}."""
    assert invalid("SlackOutcome", instance) is not ok


@pytest.mark.parametrize(
    ("instance", "ok"),
    [
        ({"text": "Weekly report", "blocks": [{"type": "header", "text": {"type": "plain_text",
                                                                           "text": "Hi"}}]}, True),
        ({"text": "Weekly report", "blocks": []}, True),
        ({"blocks": [{"type": "divider"}]}, False),
        ({"text": "", "blocks": []}, False),
        ({"text": "t", "blocks": [{"text": "no type"}]}, False),
        ({"text": "t", "blocks": [{"type": "divider"}] * 51}, False),
    ],
    ids=["header block", "no blocks", "no fallback text", "empty text", "block without type",
         "51 blocks"],
)  # fmt: skip
def test_the_block_kit_payload_needs_fallback_text_and_typed_blocks(
    instance: dict[str, Any], ok: bool
) -> None:
    """BlockKitPayload is {"text", "blocks"} with at most 50 blocks, each with a type."""
    assert invalid("BlockKitPayload", instance) is not ok


def test_every_200_json_answer_is_one_of_the_documented_shapes() -> None:
    """The 200 application/json schema is oneOf ReportResponse, BlockKitPayload, Plan and
    DuplicateResponse (issue 23 item 4: a duplicate builds no report)."""
    content = load_openapi()["components"]["responses"]["Report"]["content"]
    assert content["text/plain"]["schema"] == {"type": "string"}
    refs = [s["$ref"].rsplit("/", 1)[1] for s in content["application/json"]["schema"]["oneOf"]]
    assert refs == ["ReportResponse", "BlockKitPayload", "Plan", "DuplicateResponse"]


def test_an_unknown_schema_name_is_a_lookup_error() -> None:
    """validate_against_openapi names the schemas it has when asked for one it lacks."""
    with pytest.raises(
        LookupError, match="has no schema 'Nope'; it has: AlertBacktestQuery, AlertBacktestResult"
    ):
        validate_against_openapi("Nope", {})


def test_the_fetch_time_must_carry_its_offset() -> None:
    """data_as_of is an RFC 3339 date-time: a naive timestamp is refused."""
    r = json.loads(json.dumps(report_to_json(weekly_report())))
    assert r["data_as_of"] == "2026-11-25T09:00:03+00:00"
    assert invalid("Report", {**r, "data_as_of": FETCHED_AT.replace(tzinfo=None).isoformat()})


# -- AlertBacktest (issue 23 item 9): documented as fully as CustomReport ----------------------

BACKTEST = "/api/AlertBacktest"


def backtest_operation() -> dict[str, Any]:
    operation: dict[str, Any] = load_openapi()["paths"][BACKTEST]["get"]
    return operation


def test_alert_backtest_is_one_get_operation_with_every_answer() -> None:
    """GET only, with every status the handler (and the front end) can answer."""
    assert set(load_openapi()["paths"][BACKTEST]) == {"get"}
    responses = backtest_operation()["responses"]
    assert set(responses) == {"200", "400", "401", "405", "414", "429", "500", "502", "503"}
    allow = responses["405"]["headers"]["Allow"]["$ref"].rsplit("/", 1)[1]
    assert load_openapi()["components"]["headers"][allow]["schema"]["enum"] == [ALLOW_GET]
    assert "Retry-After" in responses["503"]["headers"]


def test_alert_backtest_parameters_are_the_handler_s() -> None:
    """One exploded query object with exactly the names the handler allows, `code` aside."""
    spec = load_openapi()
    assert backtest_operation()["parameters"] == [{"$ref": "#/components/parameters/backtestQuery"}]
    query = spec["components"]["parameters"]["backtestQuery"]
    assert (query["in"], query["style"], query["explode"]) == ("query", "form", True)
    properties = schema("AlertBacktestQuery")["properties"]
    assert tuple(properties) == BACKTEST_PARAMETERS
    assert schema("AlertBacktestQuery")["additionalProperties"] is False


def test_alert_backtest_limits_are_the_code_limits() -> None:
    """The rule list's length, count and name limits, and the days range, from the code."""
    rules = schema("RuleList")
    assert rules["maxLength"] == MAX_QUERY_VALUE_CHARS
    described = " ".join(rules["description"].split())
    assert f"at most {MAX_RULES} names" in described
    assert f"longer than {MAX_RULE_CHARS} characters" in described
    assert schema("AlertBacktestResult")["properties"]["days"]["maximum"] == BACKTEST_DAYS
    assert f"from 1 to {BACKTEST_DAYS}" in schema("BacktestDays")["description"]
    assert schema("AlertBacktestQuery")["properties"]["dry_run"]["maxLength"] == (
        MAX_QUERY_VALUE_CHARS
    )


def test_every_error_code_alert_backtest_answers_is_in_its_table() -> None:
    """The operation's table lists each code the handler uses."""
    described = backtest_operation()["description"]
    for code in (
        "method_not_allowed",
        "uri_too_long",
        "invalid_body",
        "duplicate_parameter",
        "unknown_parameter",
        "invalid_parameter",
        "unknown_rule",
        "unknown_event",
        "mixpanel_rate_limited",
        "server_misconfigured",
        "internal_error",
        "mixpanel_auth",
        "mixpanel_error",
        "mixpanel_unavailable",
    ):
        assert f"`{code}`" in described, code


def backtest_accepts(name: str, value: str) -> bool:
    try:
        parse_backtest_request("GET", {name: value})
    except InvalidRequest:
        return False
    return True


RULE_CHARS = st.sampled_from(
    [*"aw:tch ,", "watch:", "\t", "\n", "\x1f", "\x85", "\xa0", "\u2003", "\u2028", "\u3000",
     "\ufeff", "\u200b", "\u00e9"]
)  # fmt: skip


@settings(max_examples=500, deadline=None, derandomize=True)
@given(value=st.one_of(
    st.lists(RULE_CHARS, max_size=8).map("".join),
    st.builds(lambda n, pad: pad + "r" * n + pad, st.integers(255, 265), st.sampled_from(
        ["", " ", "\u3000"])),
    st.integers(45, 55).map(lambda n: ",".join(["a"] * n)),
    st.sampled_from(["watch:", " watch: ", "a,watch:", "watch:x", "watch:,b", "xwatch:"]),
))  # fmt: skip
def test_the_rule_pattern_accepts_exactly_what_the_rule_rules_accept(value: str) -> None:
    """rule: counts, empty names, bare watch:, control and format characters, long names."""
    assert spec_accepts("RuleList", value) == backtest_accepts("rule", value), repr(value)


@settings(max_examples=300, deadline=None, derandomize=True)
@given(value=st.one_of(
    st.text(st.sampled_from([*"0123456789 +-.e", "\u00b2", "\u0663", "\uff13"]), max_size=4),
    st.integers(-5, 40).map(str),
))  # fmt: skip
def test_the_days_pattern_accepts_exactly_what_the_handler_accepts(value: str) -> None:
    """days: 1 to 30 in ASCII digits, nothing else."""
    assert spec_accepts("BacktestDays", value) == backtest_accepts("days", value), repr(value)


@settings(max_examples=200, deadline=None, derandomize=True)
@given(value=st.one_of(st.text(WORD_CHARS, max_size=8), st.sampled_from(
    ["true", " TRUE ", "1", "yes", "Yes\t", "false", "0", "no", "\ufefftrue"])))  # fmt: skip
def test_the_backtest_dry_run_pattern_accepts_exactly_what_the_handler_accepts(
    value: str,
) -> None:
    """dry_run: the TrueWord pattern (true, 1, yes), as the handler reads it."""
    assert spec_accepts("TrueWord", value) == backtest_accepts("dry_run", value), repr(value)
