"""Specs for the shared wording (shared/render/wording.py): one number rule, cutting text."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from shared.render.wording import human_number, truncate

# --- human_number, truncate ----------------------------------------------------------------


@pytest.mark.parametrize(
    ("n", "expected"),
    [
        (0, "0"),
        (999, "999"),
        (1234, "1,234"),
        (9999, "9,999"),
        (10_000, "10,000"),
        (29_843, "29,843"),
        (999_999, "999,999"),
        (1_234_567, "1,234,567"),
        (2_345_678_901, "2,345,678,901"),
        (-1500, "-1,500"),
        (-12_345, "-12,345"),
    ],
    ids=["zero", "999", "thousands-comma", "last-four-digits", "ten-thousand", "no-29.8K",
         "no-1M", "millions", "billions", "negative", "negative-large"],
)  # fmt: skip
def test_human_number_is_exact_with_thousands_separators(n: int, expected: str) -> None:
    """One number rule per message: every count exact, with commas, never abbreviated."""
    assert human_number(n) == expected


@pytest.mark.parametrize(
    ("text", "limit", "suffix", "expected"),
    [
        ("abc", 3, "…", "abc"),
        ("abcd", 3, "…", "ab…"),
        ("ab cd", 4, "…", "ab…"),
        ("abcdef", 5, "...", "ab..."),
        ("abcd", 1, "…", "…"),
        ("abcd", 0, "…", ""),
        ("", 0, "…", ""),
    ],
    ids=["fits", "cut", "no-space-before-suffix", "custom-suffix", "suffix-only", "zero", "empty"],
)
def test_truncate_cuts_to_the_limit_ending_in_the_suffix(
    text: str, limit: int, suffix: str, expected: str
) -> None:
    """Text that fits is unchanged; longer text ends in the suffix within the limit."""
    assert truncate(text, limit, suffix=suffix) == expected


def test_truncate_rejects_a_negative_limit() -> None:
    """A negative limit is a bug in the caller."""
    with pytest.raises(ValueError, match="limit must be >= 0, got -1"):
        truncate("abc", -1)


@given(text=st.text(max_size=300), limit=st.integers(min_value=0, max_value=320))
def test_truncate_never_exceeds_the_limit(text: str, limit: int) -> None:
    """Whatever the text, the result fits, and text that fits comes back unchanged."""
    result = truncate(text, limit)
    assert len(result) <= limit
    assert (result == text) == (len(text) <= limit)
