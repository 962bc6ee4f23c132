"""/api/AlertBacktest under fire: generated valid and hostile requests through the real main().

The same standard as CustomReport (tests/web/test_custom_report_fuzz.py): every request is
answered 200 or a documented 4xx in the documented shape, never a 5xx; what an error echoes
is bounded; a repeated name is refused; a valid request answers AlertBacktestResult.
"""

from __future__ import annotations

import json
from collections import Counter
from dataclasses import dataclass
from urllib.parse import urlencode

import azure.functions as func
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import AlertBacktest
from devtools.sample_data import METRIC_EVENTS, OTHER_EVENTS
from shared.web.backtest_request import ALLOWED_PARAMETERS
from shared.web.custom_request import MAX_SHOWN_CHARS, MAX_SHOWN_NAMES
from tests.e2e import FUNCTION_KEY, MIXPANEL_SECRET, Stack
from tests.openapi_check import validate_against_openapi
from tests.web.test_custom_report_fuzz import NASTY, OTHER_METHODS, SMALL_TEXT

SAMPLE_EVENTS = tuple(dict.fromkeys(METRIC_EVENTS + OTHER_EVENTS))
CODES = {
    "method_not_allowed",
    "invalid_body",
    "duplicate_parameter",
    "unknown_parameter",
    "invalid_parameter",
    "unknown_rule",
    "unknown_event",
}
# The longest error message: three names of MAX_SHOWN_CHARS, quoted, with their suggestions
# and the fixed text around them. Whatever the caller sent, nothing echoes more.
MAX_MESSAGE_CHARS = 600 + 2 * MAX_SHOWN_NAMES * (MAX_SHOWN_CHARS + 8)


@dataclass(frozen=True)
class Case:
    """One generated request: method, the raw query pairs (repeats kept), body; expected."""

    method: str
    pairs: tuple[tuple[str, str], ...]
    body: bytes
    valid: bool
    kind: str


@st.composite
def valid_pairs(draw: st.DrawFn) -> list[tuple[str, str]]:
    """A valid, cheap backtest: one or two watched events over 1 to 3 days (days as text)."""
    events = draw(st.lists(st.sampled_from(SAMPLE_EVENTS), min_size=1, max_size=2, unique=True))
    spacing = draw(st.sampled_from([",", ", ", " , "]))
    pairs = [("rule", spacing.join(f"watch:{name}" for name in events))]
    pairs.append(("days", str(draw(st.integers(1, 3)))))
    if draw(st.booleans()):
        pairs.append(("dry_run", draw(st.sampled_from(["true", "1", "yes", " TRUE "]))))
    if draw(st.booleans()):
        pairs.append(("code", FUNCTION_KEY))
    return draw(st.permutations(pairs))


@st.composite
def cases(draw: st.DrawFn) -> Case:
    pairs = draw(valid_pairs())
    kind = draw(
        st.sampled_from(
            ["valid", "valid", "hostile value", "unknown name", "repeat", "method", "body"]
        )
    )
    method = draw(st.sampled_from(["GET", "get", "Get"]))
    body = b""
    if kind == "hostile value":
        name = draw(st.sampled_from(ALLOWED_PARAMETERS))
        value = draw(st.one_of(st.sampled_from(NASTY), SMALL_TEXT, st.text(min_size=500)))
        pairs = [(n, v) for n, v in pairs if n != name] + [(name, value)]
    elif kind == "unknown name":
        name = draw(st.one_of(st.sampled_from(["since", "rules", "Days", "x" * 3000]), SMALL_TEXT))
        if name in ALLOWED_PARAMETERS or name == "code":
            name += "_"
        pairs.append((name, draw(SMALL_TEXT)))
    elif kind == "repeat":
        name, value = draw(st.sampled_from(pairs))
        pairs.append((name, draw(st.sampled_from([value, "1", "30", "watch:Sign Up"]))))
    elif kind == "method":
        method = draw(st.sampled_from([*OTHER_METHODS, "POST", "x" * 500]))
    elif kind == "body":
        body = draw(st.sampled_from([b"{}", b"x", b'{"days": 3}']))
    return Case(method, tuple(pairs), body, kind == "valid", kind)


def call(case: Case) -> func.HttpResponse:
    """As the host calls main(): params folded to one value a name, the URL keeping repeats."""
    query = urlencode(case.pairs, encoding="utf-8", errors="surrogatepass")
    return AlertBacktest.main(
        func.HttpRequest(
            method=case.method,
            url=f"/api/AlertBacktest?{query}",
            params=dict(case.pairs),
            body=case.body,
        )
    )


def check(case: Case, response: func.HttpResponse) -> None:
    status = response.status_code
    body = response.get_body()
    assert status in (200, 400, 405), f"undocumented {status}: {body[:300]!r}"
    assert response.mimetype == "application/json"
    assert MIXPANEL_SECRET.encode() not in body
    assert FUNCTION_KEY.encode() not in body
    data = json.loads(body.decode("utf-8"))
    if case.valid:
        assert status == 200, body[:300]
    if status == 200:
        validate_against_openapi("AlertBacktestResult", data)
        return
    validate_against_openapi("Error", data)
    error = data["error"]
    assert error["code"] in CODES, error
    assert len(error["message"]) <= MAX_MESSAGE_CHARS, error["message"][:200]
    field = error["field"]
    assert field is None or len(field) <= MAX_SHOWN_CHARS + 3
    if status == 405:
        assert response.headers["Allow"] == "GET"
        assert error["code"] == "method_not_allowed"
    if case.kind == "repeat":
        assert (error["code"], status) == ("duplicate_parameter", 400)
    if case.kind == "body" and status == 400:
        assert (error["code"], field) == ("invalid_body", "body")


def test_generated_requests_get_documented_answers(stack: Stack):
    """Valid and hostile backtests: 200 or a documented 4xx, never 5xx, echoes bounded."""
    tally: Counter[str] = Counter()

    @settings(
        max_examples=250,
        deadline=None,
        derandomize=True,
        suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
    )
    @given(case=cases())
    def answer(case: Case) -> None:
        response = call(case)
        check(case, response)
        tally[case.kind] += 1
        tally[f"status {response.status_code}"] += 1

    answer()
    # The generator covered every kind of request and answer.
    assert tally["status 200"] >= 30
    assert tally["status 400"] >= 80
    assert tally["status 405"] >= 10
    assert all(tally[kind] >= 10 for kind in ("hostile value", "unknown name", "repeat", "body"))
