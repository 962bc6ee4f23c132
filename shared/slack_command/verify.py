"""Slack's request signature: HMAC-SHA256 over `v0:{timestamp}:{raw body}`, 5 minutes; pure.

slack_sdk's SignatureVerifier does the HMAC, the window and the constant-time compare; this
module feeds it only what it can take (its `int()` would accept ' 12' or Arabic-Indic digits,
its compare raises on non-ASCII) and turns every refusal into one short reason.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass

from slack_sdk.signature import SignatureVerifier

MAX_SKEW_SECONDS = 5 * 60  # Slack's replay window (and SignatureVerifier's)
TIMESTAMP_HEADER = "x-slack-request-timestamp"
SIGNATURE_HEADER = "x-slack-signature"
RETRY_HEADER = "x-slack-retry-num"
_TIMESTAMP = re.compile(r"[0-9]{1,12}")
_SIGNATURE = re.compile(r"v0=[0-9a-f]{64}")


@dataclass(frozen=True, slots=True)
class _FixedClock:
    """SignatureVerifier's clock, pinned to the time the caller passes in."""

    seconds: float

    def now(self) -> float:
        return self.seconds


def header(headers: Mapping[str, str], name: str) -> str | None:
    """A header's value by case-insensitive name (None when absent)."""
    lowered = name.lower()
    return next((v for k, v in headers.items() if k.lower() == lowered), None)


def signature_problem(
    body: bytes, headers: Mapping[str, str], *, secret: str, now: float
) -> str | None:
    """None when Slack signed this exact raw body within 5 minutes of `now`; else the reason."""
    timestamp = header(headers, TIMESTAMP_HEADER)
    signature = header(headers, SIGNATURE_HEADER)
    if timestamp is None or signature is None:
        return "missing signature headers"
    if not _TIMESTAMP.fullmatch(timestamp):
        return "malformed timestamp"
    if abs(now - int(timestamp)) > MAX_SKEW_SECONDS:
        return "timestamp more than 5 minutes away"
    if not _SIGNATURE.fullmatch(signature):
        return "malformed signature"
    try:
        body.decode("utf-8")
    except UnicodeDecodeError:
        return "body is not UTF-8"
    verifier = SignatureVerifier(secret, clock=_FixedClock(now))  # type: ignore[arg-type]
    if not verifier.is_valid(body=body, timestamp=timestamp, signature=signature):
        return "signature does not match"
    return None


def sign(body: bytes, *, secret: str, timestamp: int) -> dict[str, str]:
    """The headers Slack would send with `body` (for tests, `make demo` and `make serve`)."""
    verifier = SignatureVerifier(secret)
    signature = verifier.generate_signature(timestamp=str(timestamp), body=body)
    return {
        "X-Slack-Request-Timestamp": str(timestamp),
        "X-Slack-Signature": str(signature),
        "Content-Type": "application/x-www-form-urlencoded",
    }
