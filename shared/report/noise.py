"""The one noise model: when a count differs from what was expected by more than chance.

Event counts are (over-dispersed) Poisson: a count of 40 moves by about sqrt(40) = 6 from one
window to the next with nothing changed, so 34 against 41 is noise, while 34,000 against 41,000
is not. The digest's "in line" (`in_line`), the alerts' anomaly band (`band`) and the tracking
watch (`far_below`) all read change through this module, so they agree on what is news.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from statistics import median

# Two counts differ "beyond chance" when their gap exceeds this many standard deviations of the
# gap (two-sided, about 1 in 20 by chance for Poisson counts).
CHANCE_Z = 1.96
# Median absolute deviation to standard deviation, for normally distributed data.
MAD_TO_SD = 1.4826


def beyond_chance(value: int, baseline: int, *, z: float = CHANCE_Z) -> bool:
    """True when `value` and `baseline`, two independent counts, differ by more than chance.

    Under "nothing changed" both are Poisson with one rate, so their difference has variance
    value + baseline: the gap is news only when it exceeds z standard deviations of it.
    """
    if value == baseline:
        return False
    return abs(value - baseline) > z * math.sqrt(value + baseline)


def in_line(value: int, baseline: int, *, band: float, min_abs_change: int) -> bool:
    """The digest's "in line": within the % band, below the minimum change, or within chance.

    Small counts are in line unless the change is beyond chance; large counts keep the
    percentage band (their chance band is narrower than it).
    """
    if baseline == 0:
        return value == 0
    if abs(value - baseline) / baseline <= band or abs(value - baseline) < min_abs_change:
        return True
    return not beyond_chance(value, baseline)


def poisson_cdf(k: float, lam: float) -> float:
    """P(X <= k) for X ~ Poisson(lam); k may be fractional (scaled counts), floored."""
    if lam <= 0:
        return 1.0
    if k < 0:
        return 0.0
    n = math.floor(k)
    # Sum the terms in log space: lam may be in the thousands.
    log_term = -lam
    total = math.exp(log_term)
    for i in range(1, n + 1):
        log_term += math.log(lam) - math.log(i)
        total += math.exp(log_term)
        if total >= 1.0:
            return 1.0
    return min(total, 1.0)


def dispersion(samples: Sequence[Sequence[int]]) -> float:
    """How much more than Poisson the counts vary: pooled variance over mean, at least 1.

    `samples` holds, per slot (e.g. an hour of the day), that slot's counts over past weeks.
    Users fire events in bursts (several product views a visit), so counts vary more than a
    Poisson of their mean; dividing by this factor puts them back on the Poisson scale. The
    pooled estimate (squared deviations over mean-weighted degrees of freedom, slots with a
    mean of at least 1) is steadier than any one slot's ratio.
    """
    squares = weight = 0.0
    for values in samples:
        if len(values) < 2:
            continue
        mean = sum(values) / len(values)
        if mean < 1:
            continue
        squares += sum((v - mean) ** 2 for v in values)
        weight += mean * (len(values) - 1)
    if weight == 0:
        return 1.0
    return min(max(squares / weight, 1.0), 20.0)


def far_below(seen: int, expected: float, *, ratio: float, alpha: float, phi: float = 1.0) -> bool:
    """True when `seen` is under `ratio` of `expected` and that low only by a 1-in-1/alpha chance.

    `phi` is the dispersion of the counts (see `dispersion`): both sides are scaled by it.
    """
    if expected <= 0 or seen > ratio * expected:
        return False
    return poisson_cdf(seen / phi, expected / phi) <= alpha


@dataclass(frozen=True, slots=True)
class Band:
    """The range a value is expected in, learned from its history."""

    center: float
    low: float
    high: float

    def contains(self, value: float) -> bool:
        """Whether `value` is inside the band (edges included)."""
        return self.low <= value <= self.high


def band(history: Sequence[float], *, z: float = 3.0) -> Band:
    """A median/MAD band around `history`, never narrower than Poisson noise of its median.

    The MAD ignores one odd week (a holiday); the Poisson floor keeps a low-volume series that
    happened to be flat (4, 4, 4, 4) from calling 2 an anomaly.
    """
    if not history:
        raise ValueError("a band needs at least one past value")
    center = float(median(history))
    mad = float(median(abs(v - center) for v in history)) * MAD_TO_SD
    spread = max(mad, math.sqrt(max(center, 1.0)))
    return Band(center, max(0.0, center - z * spread), center + z * spread)
