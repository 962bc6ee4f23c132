"""Slack's signature, computed here with real HMAC-SHA256: only Slack's exact bytes pass."""

from __future__ import annotations

import hashlib
import hmac

import pytest

from shared.slack_command.verify import header, sign, signature_problem

SECRET = "8f742231b10e8888abcd99yyyzzz85a5"  # the documented example's shape, not a real one
NOW = 1_800_000_000
BODY = b"token=x&team_id=T0001&command=%2Fanalytics&text=weekly"


def slack_signature(body: bytes, *, secret: str = SECRET, timestamp: int = NOW) -> str:
    """What Slack sends: v0= and the hex HMAC-SHA256 of 'v0:{timestamp}:{body}'."""
    base = b"v0:" + str(timestamp).encode() + b":" + body
    return "v0=" + hmac.new(secret.encode(), base, hashlib.sha256).hexdigest()


def headers(signature: str, timestamp: object = NOW) -> dict[str, str]:
    return {"X-Slack-Request-Timestamp": str(timestamp), "X-Slack-Signature": signature}


def test_a_request_signed_with_the_secret_passes():
    """The HMAC of the raw body with the signing secret is accepted."""
    assert signature_problem(BODY, headers(slack_signature(BODY)), secret=SECRET, now=NOW) is None


def test_sign_makes_the_headers_slack_sends():
    """The demo's and tests' signer agrees with an independent HMAC."""
    signed = sign(BODY, secret=SECRET, timestamp=NOW)
    assert signed["X-Slack-Signature"] == slack_signature(BODY)
    assert signed["X-Slack-Request-Timestamp"] == str(NOW)


@pytest.mark.parametrize(
    ("body", "sent", "now", "reason"),
    [
        (BODY + b"&share", headers(slack_signature(BODY)), NOW, "signature does not match"),
        (
            BODY,
            headers(slack_signature(BODY, secret="another-secret")),
            NOW,
            "signature does not match",
        ),
        (
            BODY,
            headers(slack_signature(BODY, timestamp=NOW - 301), NOW - 301),
            NOW,
            "timestamp more than 5 minutes away",
        ),
        (
            BODY,
            headers(slack_signature(BODY, timestamp=NOW + 301), NOW + 301),
            NOW,
            "timestamp more than 5 minutes away",
        ),
        (
            BODY,
            headers(slack_signature(BODY, timestamp=NOW - 60), NOW),
            NOW,
            "signature does not match",
        ),
        (BODY, {}, NOW, "missing signature headers"),
        (BODY, {"X-Slack-Signature": slack_signature(BODY)}, NOW, "missing signature headers"),
        (BODY, headers(slack_signature(BODY), f" {NOW}"), NOW, "malformed timestamp"),
        (BODY, headers(slack_signature(BODY), "١٨٠٠٠٠٠٠٠٠"), NOW, "malformed timestamp"),
        (BODY, headers(slack_signature(BODY), "9" * 40), NOW, "malformed timestamp"),
        (BODY, headers(slack_signature(BODY).upper()), NOW, "malformed signature"),
        (BODY, headers("v0=é" + "0" * 63), NOW, "malformed signature"),
        (BODY, headers("v1=" + slack_signature(BODY)[3:]), NOW, "malformed signature"),
        (b"\xff\xfe", headers(slack_signature(b"\xff\xfe")), NOW, "body is not UTF-8"),
    ],
    ids=[
        "tampered body",
        "wrong secret",
        "timestamp 301 s old",
        "timestamp 301 s ahead",
        "timestamp changed after signing",
        "no headers",
        "no timestamp",
        "timestamp with a space",
        "timestamp in Arabic-Indic digits",
        "timestamp too long",
        "upper-case hex",
        "non-ASCII signature",
        "another version",
        "body not UTF-8",
    ],
)
def test_every_other_request_is_refused_with_its_reason(body, sent, now, reason):
    """Tampering, a wrong secret, an old timestamp or odd headers: refused, never raised."""
    assert signature_problem(body, sent, secret=SECRET, now=now) == reason


@pytest.mark.parametrize("skew", [-300, 300])
def test_exactly_five_minutes_away_still_passes(skew):
    """The window is 5 minutes inclusive, as in SignatureVerifier."""
    stamp = NOW + skew
    sent = headers(slack_signature(BODY, timestamp=stamp), stamp)
    assert signature_problem(BODY, sent, secret=SECRET, now=NOW) is None


def test_headers_are_found_whatever_their_case():
    """HTTP header names are case-insensitive."""
    assert header({"x-slack-signature": "a"}, "X-Slack-Signature") == "a"
    assert header({}, "X-Slack-Signature") is None
