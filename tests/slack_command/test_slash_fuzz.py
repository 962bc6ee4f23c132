"""Hypothesis against SlackCommand.main: any form body and headers, never a 5xx or a trace.

Unsigned requests are 401 before anything is read; signed ones (the body signed with the
real secret, so the checks after the signature run too) are 200 or 400, and every answer is
one of the documented JSON shapes.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
import time
from urllib.parse import urlencode

import azure.functions as func
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

import SlackCommand
from tests.e2e import Stack
from tests.openapi_check import validate_against_openapi
from tests.slack_command.slash_harness import SIGNING_SECRET, TEAM_ID, Out

FIELDS = ("team_id", "channel_id", "user_id", "command", "text", "response_url", "trigger_id")
WORDS = ["help", "status", "weekly", "daily", "share", "2026-11-01", "2026-13-40", "ü", "`", "<b>"]
text = st.text(max_size=80)
value = st.one_of(
    text,
    st.sampled_from([TEAM_ID, "C1", "U1", "/analytics", "https://hooks.slack.com/commands/1/2/3"]),
    st.lists(st.sampled_from(WORDS), max_size=4).map(" ".join),
)
form = st.dictionaries(st.sampled_from(FIELDS) | text, value, max_size=9)
# A whole command (every field Slack sends) with any words and any team or channel.
whole = st.fixed_dictionaries(
    {
        "team_id": st.sampled_from([TEAM_ID, TEAM_ID, TEAM_ID, "T0OTHER"]),
        "channel_id": st.sampled_from(["C1", "C2"]),
        "user_id": st.just("U1"),
        "command": st.just("/analytics"),
        "text": st.one_of(
            text, *[st.lists(st.sampled_from(WORDS), min_size=1, max_size=3).map(" ".join)] * 3
        ),
        "response_url": st.just("https://hooks.slack.com/commands/1/2/3"),
    }
)
raw = st.one_of(
    form.map(lambda f: urlencode(f).encode()),
    whole.map(lambda f: urlencode(f).encode()),
    whole.map(lambda f: urlencode(f).encode()),
    st.binary(max_size=300),
)
header_value = st.text(st.characters(min_codepoint=32, max_codepoint=255), max_size=80)
extra_headers = st.dictionaries(
    st.sampled_from(
        ["X-Slack-Signature", "X-Slack-Request-Timestamp", "X-Slack-Retry-Num", "Content-Type"]
    ),
    header_value,
    max_size=4,
)


def call(body: bytes, headers: dict[str, str]) -> tuple[func.HttpResponse, Out]:
    out = Out()
    request = func.HttpRequest(method="POST", url="/api/SlackCommand", headers=headers, body=body)
    return SlackCommand.main(request, out), out


def check(response: func.HttpResponse, allowed: set[int], caplog) -> dict:
    assert response.status_code in allowed
    answer = json.loads(response.get_body())
    kind = "SlackCommandAnswer" if response.status_code == 200 else "Error"
    validate_against_openapi(kind, answer)
    assert "Traceback" not in caplog.text
    assert "internal_error" not in response.get_body().decode()
    return answer


@settings(max_examples=150, deadline=None, suppress_health_check=list(HealthCheck))
@given(body=raw, headers=extra_headers)
def test_unsigned_or_mis_signed_requests_are_always_401(
    stack: Stack, monkeypatch, caplog, body, headers
):
    """Whatever the body and headers, without Slack's signature: 401, nothing queued."""
    monkeypatch.setenv("SLACK_SIGNING_SECRET", SIGNING_SECRET)
    monkeypatch.setenv("SLACK_TEAM_ID", TEAM_ID)
    caplog.set_level(logging.WARNING)
    response, out = call(body, headers)
    check(response, {401}, caplog)
    assert out.value is None


@settings(max_examples=150, deadline=None, suppress_health_check=list(HealthCheck))
@given(body=raw, retry=st.none() | header_value)
def test_signed_requests_of_any_shape_get_a_documented_answer(
    stack: Stack, monkeypatch, caplog, body, retry
):
    """Signed with the real secret: 200 (ack, help, refusal) or 400, never 5xx or a trace."""
    monkeypatch.setenv("SLACK_SIGNING_SECRET", SIGNING_SECRET)
    monkeypatch.setenv("SLACK_TEAM_ID", TEAM_ID)
    caplog.set_level(logging.WARNING)
    stamp = int(time.time())
    digest = hmac.new(SIGNING_SECRET.encode(), f"v0:{stamp}:".encode() + body, hashlib.sha256)
    headers = {
        "X-Slack-Request-Timestamp": str(stamp),
        "X-Slack-Signature": "v0=" + digest.hexdigest(),
    }
    if retry is not None:
        headers["X-Slack-Retry-Num"] = retry
    response, out = call(body, headers)
    try:
        body.decode("utf-8")
    except UnicodeDecodeError:
        check(response, {401}, caplog)  # Slack signs UTF-8 forms; other bytes are not Slack's
        return
    answer = check(response, {200, 400}, caplog)
    event(f"{response.status_code} queued={out.value is not None}")
    if out.value is not None:
        assert response.status_code == 200
        assert answer["text"].startswith(":hourglass_flowing_sand:")
