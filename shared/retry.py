"""When to try a request again (Mixpanel, Slack, SMTP), and how long to wait first; pure, no
sleeping. Each transport keeps its own rule about WHAT may be retried (a delivery: only what
cannot have been posted); this module says how often and how long."""

from __future__ import annotations

import math
from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class RetryPolicy:
    """Bounded exponential backoff with jitter; a server's Retry-After always wins."""

    max_attempts: int = 5
    base_seconds: float = 1.0
    cap_seconds: float = 30.0

    def waits_for(self, retry_after: float) -> bool:
        """Whether a server's Retry-After is short enough to wait for (else give up now)."""
        return retry_after <= self.cap_seconds


# Slack (webhook and bot) and SMTP posts: three tries, 2 s then 4 s apart, and a Retry-After
# of at most 30 s honoured. One post per destination: no crowd to spread, so no jitter.
DELIVERY_POLICY = RetryPolicy(max_attempts=3, base_seconds=2.0, cap_seconds=30.0)


def sleep_seconds(
    policy: RetryPolicy, attempt: int, retry_after: float | None, jitter: float | None = None
) -> float:
    """Seconds to wait before attempt `attempt + 1` (attempts count from 1).

    `jitter` is a number in [0, 1) from the caller's random source, so the result is
    reproducible in tests: a full backoff scaled into [50%, 100%) spreads concurrent retries.
    None: the full backoff (a single poster has no crowd to spread).
    """
    if retry_after is not None:
        return max(0.0, retry_after)
    backoff: float = min(policy.cap_seconds, policy.base_seconds * 2.0 ** (attempt - 1))
    return backoff if jitter is None else backoff * (0.5 + jitter / 2)


def parse_retry_after(value: str | None) -> float | None:
    """Retry-After in seconds (the delta-seconds form); None if absent or not a number."""
    if value is None:
        return None
    try:
        seconds = float(value.strip())
    except ValueError:
        return None
    return seconds if math.isfinite(seconds) and seconds >= 0 else None
