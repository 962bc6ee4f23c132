"""Spec: a property value anyone can send never crashes a report, never shifts a figure and never
puts Infinity or NaN in front of a reader (issue 23).

A sum or average holding a value (or a total) beyond MAX_FIGURE reads "unavailable" with a
data-quality line naming the property; NaN and Infinity, as numbers or as text, are skipped and
counted like any non-numeric value; a formula that overflows reads "unavailable"; every renderer
and every JSON writer then runs to the end.
"""

from __future__ import annotations

import math
import re
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from shared.report.facts import Facts, UniqueCounts
from shared.report.figures import MAX_FIGURE, FigureTally, as_number
from shared.report.filters import exact
from shared.report.formulas import FormulaError, FormulaOverflow, evaluate, parse_formula
from shared.report.generator import Report, Verdict, build_report
from shared.report.metrics import parse_metrics
from shared.report.trends import trend_windows
from shared.schedule.periods import PeriodKind, report_period
from shared.web.http_api import json_result
from tests.render.renderings import every_rendering

WEEKLY = report_period(PeriodKind.WEEKLY, date(2026, 11, 25))  # 16-22 Nov vs 9-15 Nov
THIS, LAST = WEEKLY.current, WEEKLY.comparisons[0].window
WINDOWS = WEEKLY.windows + trend_windows(WEEKLY)
FETCHED = datetime(2026, 11, 25, 9, 0, tzinfo=UTC)
CONFIG = parse_metrics(
    {
        "metric": [
            {"key": "basket", "label": "Basket value", "events": ["Receipt Uploaded"],
             "measure": "sum", "property": "amount", "unit": "currency", "currency": "GBP"},
            {"key": "average", "label": "Average basket", "events": ["Receipt Uploaded"],
             "measure": "average", "property": "amount"},
            {"key": "receipts", "label": "Receipts", "events": ["Receipt Uploaded"],
             "where": [{"property": "amount", "gte": 50}]},
            {"key": "points", "label": "Points", "events": ["Points Added"],
             "measure": "sum", "property": "points"},
            {"key": "per_receipt", "label": "Points per receipt",
             "formula": "points / receipts"},
        ]
    }
)  # fmt: skip
INF_OR_NAN = re.compile(r"\b(inf|infinity|nan)\b", re.IGNORECASE)


def tally(this: list[object], last: list[object] = (10, 20)) -> FigureTally:  # type: ignore[assignment]
    """Receipts with these amounts on the first day of each window, one 'Points Added' each."""
    figures = FigureTally(CONFIG.computed, WINDOWS, qualifying=lambda _: True)
    for window, amounts in ((THIS, this), (LAST, last)):
        for n, amount in enumerate(amounts):
            figures.add(window.start, "Receipt Uploaded", f"u{n}", {"amount": amount})
        figures.add(window.start, "Points Added", "p", {"points": 7})
    return figures


def report_of(figures: FigureTally) -> Report:
    facts = Facts(
        counts={},
        uniques=UniqueCounts({}, frozenset(), 0),  # no unique metric here
        event_names=frozenset(),
        fetched_at=FETCHED,
        figures=figures.result(),
        source="export",
    )
    return build_report(
        CONFIG, WEEKLY, facts, company="Acme", timezone="Europe/London", project_url="https://x"
    )


def metric(report: Report, key: str) -> Any:
    return next(m for m in report.metrics if m.spec.key == key)


HUGE = [
    pytest.param(1e308, id="float-1e308"),
    pytest.param(-1e308, id="float-minus-1e308"),
    pytest.param(10**309, id="integer-10-to-309"),
    pytest.param(Decimal("1E+309"), id="json-1e309-read-exactly"),
    pytest.param(int(MAX_FIGURE) + 1, id="one-past-the-limit"),
]


@pytest.mark.parametrize("amount", HUGE)
def test_one_huge_value_makes_its_sum_and_average_unavailable_and_names_the_property(
    amount: object,
) -> None:
    """The report is built; sum and average read unavailable, a data-quality line says why."""
    report = report_of(tally([12, amount, 30]))
    for key in ("basket", "average"):
        m = metric(report, key)
        assert m.value is None
        assert m.unavailable == f"amount values beyond ±{MAX_FIGURE:,} (see data quality)"
    assert metric(report, "points").value == 7  # the other metrics are untouched
    assert [w for w in report.warnings if "beyond" in w] == [
        f"Basket value: amount has values (or a total) beyond ±{MAX_FIGURE:,} in "
        f"{THIS.label()}, which no figure can show exactly; it reads unavailable there. "
        "Check what sends amount",
        f"Average basket: amount has values (or a total) beyond ±{MAX_FIGURE:,} in "
        f"{THIS.label()}, which no figure can show exactly; it reads unavailable there. "
        "Check what sends amount",
    ]


def test_a_sum_exactly_at_the_limit_is_shown_one_past_it_is_not() -> None:
    """Boundary pair: 2**53 is a figure (exact); 2**53 + 1 reads unavailable."""
    at = report_of(tally([int(MAX_FIGURE) - 5, 5]))
    past = report_of(tally([int(MAX_FIGURE) - 5, 6]))
    assert metric(at, "basket").value == 2**53
    assert metric(past, "basket").value is None


def test_values_each_within_the_limit_whose_total_passes_it_read_unavailable() -> None:
    """Three values of 2**52 each: no single one is too large, the total is."""
    report = report_of(tally([2**52, 2**52, 2**52]))
    assert metric(report, "basket").value is None
    assert metric(report, "average").value == 2**52  # the average itself is within the limit
    assert metric(report, "average").unavailable is None


def test_a_huge_value_in_the_baseline_makes_only_that_change_unavailable() -> None:
    """This week's sum stands; the comparison with last week cannot be made and says so."""
    report = report_of(tally([12, 30], last=[1e308]))
    basket = metric(report, "basket")
    assert basket.value == 42
    assert basket.changes[0].verdict is Verdict.UNAVAILABLE
    assert any(LAST.label() in w and "beyond" in w for w in report.warnings)


@pytest.mark.parametrize(
    "bad",
    [float("nan"), float("inf"), float("-inf"), "NaN", "Infinity", "-Infinity", "1e309",
     Decimal("NaN"), Decimal("Infinity"), True, None],
    ids=["nan", "inf", "minus-inf", "text-NaN", "text-Infinity", "text-minus-Infinity",
         "text-1e309", "decimal-nan", "decimal-infinity", "true", "null"],
)  # fmt: skip
def test_nan_and_infinity_in_any_form_are_skipped_never_a_figure(bad: object) -> None:
    """The sum is the exact sum of the numbers; the bad value is counted as skipped."""
    report = report_of(tally([12.5, bad, 0.1, 0.2]))
    assert metric(report, "basket").value == 12.8
    assert metric(report, "average").value == pytest.approx(12.8 / 3)
    assert any("1 of 4 Receipt Uploaded events had no numeric amount" in w for w in report.warnings)


@pytest.mark.parametrize(
    ("value", "matches"),
    [(10**309, True), (1e308, True), (Decimal("1E+309"), True), (-(10**309), False),
     (float("inf"), False), (float("nan"), False), ("Infinity", False), (49.99, False)],
    ids=["huge-int", "huge-float", "huge-decimal", "huge-negative", "inf", "nan", "text", "below"],
)  # fmt: skip
def test_numeric_filters_compare_huge_values_exactly_and_never_match_inf_or_nan(
    value: object, matches: bool
) -> None:
    """'amount gte 50' on a 310-digit integer answers, no OverflowError; Infinity is no number."""
    figures = FigureTally(CONFIG.computed, WINDOWS, qualifying=lambda _: True)
    figures.add(THIS.start, "Receipt Uploaded", "u", {"amount": value})
    assert figures.result().values[("receipts", THIS)].value == int(matches)


@pytest.mark.parametrize(
    ("text", "values"),
    [("a * b", {"a": 1e200, "b": 1e200}), ("a / b", {"a": 1e300, "b": 1e-300}),
     ("a * 1000000000000", {"a": 1e300}), ("a - b", {"a": 1.7e308, "b": -1.7e308}),
     ("a", {"a": 10**400})],
    ids=["product", "quotient", "largest-constant", "difference", "huge-integer-input"],
)  # fmt: skip
def test_a_formula_that_overflows_raises_formula_overflow_never_returns_inf(
    text: str, values: dict[str, float]
) -> None:
    """Every step is checked: no Infinity (or NaN from inf - inf) leaves evaluate()."""
    with pytest.raises(FormulaOverflow, match="is too large to compute"):
        evaluate(parse_formula(text), values)


def test_a_formula_with_a_400_digit_constant_is_refused_when_the_file_is_read() -> None:
    """Such a constant never reaches evaluate(): parsing names it (a scale factor, not a figure)."""
    with pytest.raises(FormulaError):
        parse_formula("a + 1" + "0" * 400)


def test_a_formula_of_huge_figures_reads_unavailable_in_the_report() -> None:
    """points / receipts with points near the limit and receipts 0 < r: beyond MAX_FIGURE."""
    figures = FigureTally(CONFIG.computed, WINDOWS, qualifying=lambda _: True)
    for window in (THIS, LAST):
        figures.add(window.start, "Points Added", "p", {"points": int(MAX_FIGURE)})
        figures.add(window.start, "Receipt Uploaded", "u", {"amount": 60})
    report = report_of(figures)
    assert metric(report, "per_receipt").value == 2**53  # at the limit: shown
    figures.add(THIS.start, "Points Added", "p", {"points": 1})  # total now past it
    report = report_of(figures)
    assert metric(report, "points").value is None
    per = metric(report, "per_receipt")
    assert per.value is None
    assert per.unavailable is not None
    assert "Points is unavailable" in per.unavailable


def test_a_change_against_a_vanishingly_small_baseline_is_unavailable_never_infinite() -> None:
    """1 against 1e-320 is a ratio no float holds: the change reads unavailable, not 'inf%'."""
    report = report_of(tally([1], last=[1e-320]))
    change = metric(report, "basket").changes[0]
    assert change.verdict is Verdict.UNAVAILABLE
    assert change.ratio is None


@pytest.mark.parametrize("amount", HUGE[:4])
def test_every_renderer_and_json_writer_finishes_without_inf_or_nan(amount: object) -> None:
    """Slack, terminal, HTML, email, PDF and JSON (allow_nan=False) all render the report."""
    report = report_of(tally([12, amount], last=[1e-320]))
    for name, output in every_rendering(report).items():
        assert not INF_OR_NAN.search(output), name
        assert "unavailable" in output, name


def test_the_api_json_writer_refuses_nan_rather_than_write_invalid_json() -> None:
    """json_result is strict (allow_nan=False): NaN would be invalid for strict parsers."""
    assert json_result(200, {"x": 1.5}).json() == {"x": 1.5}
    with pytest.raises(ValueError, match="Out of range float values are not JSON compliant"):
        json_result(200, {"x": float("nan")})


@pytest.mark.parametrize(
    ("value", "expected"),
    [(1e308, Decimal("1E+308")), (10**309, Decimal(10**309)), (Decimal("-1E+309"),
     Decimal("-1E+309")), (Decimal("NaN"), None), (float("inf"), None), (True, None),
     ("12", None)],
    ids=["float", "integer", "decimal", "decimal-nan", "inf", "bool", "text"],
)  # fmt: skip
def test_exact_reads_every_finite_json_number_exactly_and_nothing_else(
    value: object, expected: Decimal | None
) -> None:
    """The one reading of a property as a number, shared by sums, averages and filters."""
    assert exact(value) == expected


JSON_VALUES = st.one_of(
    st.integers(min_value=-(10**320), max_value=10**320),
    st.floats(allow_nan=True, allow_infinity=True),
    st.decimals(allow_nan=True, allow_infinity=True),
    st.sampled_from(["NaN", "Infinity", "1e309", "12", True, None]),
)


@settings(max_examples=300, deadline=None)
@given(values=st.lists(JSON_VALUES, max_size=12))
def test_a_sum_is_the_exact_sum_of_its_finite_values_or_unavailable_never_inf_or_nan(
    values: list[object],
) -> None:
    """Any mix of what JSON (and lenient decoders) can carry: exact, or None and too large."""
    figures = FigureTally(CONFIG.computed, WINDOWS, qualifying=lambda _: True)
    for n, value in enumerate(values):
        figures.add(THIS.start, "Receipt Uploaded", f"u{n}", {"amount": value})
    figure = figures.result().values[("basket", THIS)]
    numbers = [d for v in values if (d := exact(v)) is not None]
    total = sum(numbers, Decimal(0))
    if any(abs(d) > MAX_FIGURE for d in numbers) or abs(total) > MAX_FIGURE:
        assert figure.value is None
        assert figure.too_large
    else:
        assert figure.value is not None
        assert not figure.too_large
        assert figure.value == as_number(total)  # the exact total (nearest float if not whole)
        assert math.isfinite(figure.value)
    assert figure.skipped == len(values) - len(numbers)
