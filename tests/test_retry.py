"""Backoff is pure: Retry-After wins, else 1, 2, 4, 8 ... s capped, jittered into [50%, 100%)."""

from __future__ import annotations

import math

import pytest

from shared.retry import DELIVERY_POLICY, RetryPolicy, parse_retry_after, sleep_seconds

POLICY = RetryPolicy()  # 5 attempts, 1 s base, 30 s cap


def test_the_default_policy_is_five_attempts_from_one_second_capped_at_thirty() -> None:
    """RetryPolicy() = 5 attempts, base 1 s, cap 30 s."""
    assert (POLICY.max_attempts, POLICY.base_seconds, POLICY.cap_seconds) == (5, 1.0, 30.0)


@pytest.mark.parametrize(
    ("attempt", "full"),
    [(1, 1.0), (2, 2.0), (3, 4.0), (4, 8.0), (5, 16.0), (6, 30.0), (7, 30.0), (20, 30.0)],
    ids=["1", "2", "3", "4", "5", "6-capped", "7-capped", "20-capped"],
)
def test_backoff_doubles_from_the_base_up_to_the_cap(attempt: int, full: float) -> None:
    """With jitter near 1 the wait approaches base * 2**(attempt-1), never beyond the cap."""
    assert sleep_seconds(POLICY, attempt, None, 0.0) == full / 2
    assert sleep_seconds(POLICY, attempt, None, 0.5) == full * 0.75
    assert full / 2 <= sleep_seconds(POLICY, attempt, None, 0.999999) < full


@pytest.mark.parametrize(
    ("jitter", "seconds"),
    [(0.0, 4.0), (0.25, 5.0), (0.5, 6.0), (0.75, 7.0)],
    ids=["0", "0.25", "0.5", "0.75"],
)
def test_jitter_scales_the_backoff_linearly_into_half_to_full(
    jitter: float, seconds: float
) -> None:
    """After attempt 4 the 8 s backoff becomes 4 s + jitter * 4 s."""
    assert sleep_seconds(POLICY, 4, None, jitter) == seconds


def test_every_jittered_wait_lies_in_half_to_full_of_the_backoff() -> None:
    """For any jitter in [0, 1) and any attempt, 50% <= wait < 100% of the capped backoff."""
    for attempt in range(1, 12):
        full = min(POLICY.cap_seconds, POLICY.base_seconds * 2 ** (attempt - 1))
        for step in range(100):
            wait = sleep_seconds(POLICY, attempt, None, step / 100)
            assert full / 2 <= wait < full, (attempt, step, wait)


@pytest.mark.parametrize(
    ("policy", "attempt", "seconds"),
    [
        (RetryPolicy(base_seconds=0.5, cap_seconds=3.0), 1, 0.5),
        (RetryPolicy(base_seconds=0.5, cap_seconds=3.0), 3, 2.0),
        (RetryPolicy(base_seconds=0.5, cap_seconds=3.0), 4, 3.0),
        (RetryPolicy(base_seconds=2.0, cap_seconds=60.0), 5, 32.0),
    ],
    ids=["half-second-base", "third-attempt", "capped-at-3", "two-second-base"],
)
def test_the_policy_sets_the_base_and_the_cap(
    policy: RetryPolicy, attempt: int, seconds: float
) -> None:
    """Other policies scale the same way: min(cap, base * 2**(attempt-1)) before jitter."""
    assert sleep_seconds(policy, attempt, None, 0.0) == seconds / 2


@pytest.mark.parametrize(
    ("retry_after", "attempt", "seconds"),
    [(7.0, 1, 7.0), (0.0, 3, 0.0), (120.0, 5, 120.0), (2.5, 2, 2.5), (-3.0, 1, 0.0)],
    ids=["seven", "zero", "beyond-the-cap", "fractional", "negative-is-zero"],
)
def test_a_servers_retry_after_wins_over_the_backoff(
    retry_after: float, attempt: int, seconds: float
) -> None:
    """Retry-After is waited as given (never negative), unjittered and uncapped."""
    for jitter in (0.0, 0.5, 0.99):
        assert sleep_seconds(POLICY, attempt, retry_after, jitter) == seconds


@pytest.mark.parametrize(
    ("header", "seconds"),
    [
        ("120", 120.0),
        ("0", 0.0),
        (" 5 ", 5.0),
        ("1.5", 1.5),
        (None, None),
        ("", None),
        ("soon", None),
        ("-1", None),
        ("Wed, 21 Oct 2026 07:28:00 GMT", None),
        ("nan", None),
    ],
    ids=[
        "seconds",
        "zero",
        "padded",
        "fractional",
        "absent",
        "empty",
        "word",
        "negative",
        "http-date",
        "nan",
    ],
)
def test_parse_retry_after_reads_delta_seconds_only(
    header: str | None, seconds: float | None
) -> None:
    """Retry-After in seconds; absent, negative, a date or not a number is None."""
    assert parse_retry_after(header) == seconds


@pytest.mark.parametrize("header", ["inf", "Infinity"], ids=str)
def test_parse_retry_after_rejects_infinity(header: str) -> None:
    """An infinite Retry-After is not a number of seconds: None."""
    seconds = parse_retry_after(header)
    assert seconds is None or math.isfinite(seconds)


@pytest.mark.parametrize(
    ("attempt", "seconds"),
    [(1, 2.0), (2, 4.0), (5, 30.0)],
    ids=["first retry", "second retry", "capped"],
)
def test_the_delivery_policy_waits_the_full_backoff_without_jitter(attempt, seconds):
    """Slack and SMTP posters share one policy: 2 s, 4 s, ... capped at 30 s."""
    assert sleep_seconds(DELIVERY_POLICY, attempt, None) == seconds
    assert DELIVERY_POLICY.max_attempts == 3


def test_a_retry_after_longer_than_the_cap_is_not_waited_for():
    """A 429 asking for more than 30 s gives up now; the next timer fire tries again."""
    assert DELIVERY_POLICY.waits_for(30.0)
    assert not DELIVERY_POLICY.waits_for(30.5)
