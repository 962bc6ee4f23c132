"""Specs for the one noise model: what reads "in line" and what is beyond chance."""

import pytest

from shared.report.generator import Verdict, judge
from shared.report.metrics import Thresholds
from shared.report.noise import band, beyond_chance, dispersion, far_below, in_line, poisson_cdf

TH = Thresholds()


@pytest.mark.parametrize(
    ("value", "baseline", "expected"),
    [
        (34, 41, Verdict.IN_LINE),
        (41, 34, Verdict.IN_LINE),
        (115, 100, Verdict.IN_LINE),
        (12, 30, Verdict.DOWN),
        (8_900, 10_000, Verdict.DOWN),
        (11_100, 10_000, Verdict.UP),
        (10_500, 10_000, Verdict.IN_LINE),
        (0, 41, Verdict.DROPPED_TO_ZERO),
        (0, 6, Verdict.DROPPED_TO_ZERO),
    ],
    ids=[
        "34-vs-41-is-chance",
        "41-vs-34-is-chance",
        "115-vs-100-is-chance",
        "12-vs-30-is-beyond-chance",
        "large-counts-keep-the-percentage-band-down",
        "large-counts-keep-the-percentage-band-up",
        "large-counts-within-the-band",
        "a-drop-to-zero-from-a-steady-baseline-is-still-flagged",
        "a-drop-to-zero-from-six-is-flagged",
    ],
)
def test_the_digest_calls_a_change_news_only_beyond_chance_and_the_band(value, baseline, expected):
    """Small counts read in line unless beyond chance; large counts keep the +/-10% band."""
    assert judge(value, baseline, TH)[0] is expected


def test_beyond_chance_compares_the_gap_with_the_noise_of_both_counts():
    """34 vs 41 differ by 0.8 sd; 3,400 vs 4,100 by 8 sd."""
    assert not beyond_chance(34, 41)
    assert beyond_chance(3_400, 4_100)
    assert not beyond_chance(7, 7)


def test_in_line_holds_zero_against_zero_and_nothing_else_against_zero():
    """A zero baseline leaves only 0 in line (anything else is new)."""
    assert in_line(0, 0, band=0.1, min_abs_change=5)
    assert not in_line(3, 0, band=0.1, min_abs_change=5)


@pytest.mark.parametrize(
    ("k", "lam", "expected"),
    [(0, 2.0, 0.135335), (2, 2.0, 0.676676), (0, 20.0, 2.061e-09), (100, 100.0, 0.526562)],
    ids=["zero-of-two", "two-of-two", "zero-of-twenty", "mean-of-a-hundred"],
)
def test_poisson_cdf_matches_known_values(k, lam, expected):
    """P(X <= k) for a Poisson, checked against tabulated values."""
    assert poisson_cdf(k, lam) == pytest.approx(expected, rel=1e-3)


def test_far_below_needs_both_a_large_fall_and_one_beyond_chance():
    """0 of an expected 20 is far below; 0 of 2 is chance; 15 of 20 is no fall."""
    assert far_below(0, 20.0, ratio=0.3, alpha=1e-6)
    assert not far_below(0, 2.0, ratio=0.3, alpha=1e-6)
    assert not far_below(15, 20.0, ratio=0.3, alpha=1e-6)


def test_over_dispersed_counts_need_more_evidence():
    """With bursts (dispersion 4) the same silence is less surprising."""
    assert far_below(0, 20.0, ratio=0.3, alpha=1e-6, phi=1.0)
    assert not far_below(0, 20.0, ratio=0.3, alpha=1e-6, phi=4.0)


def test_dispersion_is_one_for_poisson_like_slots_and_larger_for_bursty_ones():
    """Pooled variance over mean across slots, never below 1."""
    assert dispersion([[10, 10, 10, 10], [5, 5, 5, 5]]) == 1.0
    assert dispersion([[0, 20, 0, 20], [0, 20, 0, 20]]) == pytest.approx(13.33, rel=1e-3)
    assert dispersion([[0, 20, 0, 20], [10, 10, 10, 10]]) == pytest.approx(6.67, rel=1e-3)
    assert dispersion([]) == 1.0


def test_the_band_is_median_and_mad_with_a_poisson_floor():
    """A flat low series still allows Poisson noise; one odd week does not widen the band."""
    flat = band([4, 4, 4, 4], z=3.0)
    assert flat.center == 4.0
    assert flat.contains(0.5)
    assert flat.high == pytest.approx(10.0)
    steady = band([1000, 1010, 990, 3000], z=3.0)
    assert steady.center == 1005.0
    assert not steady.contains(1200)
    with pytest.raises(ValueError, match="at least one"):
        band([])
