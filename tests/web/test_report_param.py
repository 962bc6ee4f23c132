"""Specs for CustomReport's `report=<name>` parameter (pure parsing)."""

from __future__ import annotations

from datetime import date

import pytest

from shared.errors import InvalidRequest
from shared.schedule.periods import PeriodKind, report_period
from shared.web.custom_request import parse_custom_request

TODAY = date(2026, 11, 24)
REPORTS = {"growth": PeriodKind.DAILY, "exec": PeriodKind.WEEKLY}


def parse(**params: str):
    return parse_custom_request("GET", params, b"", today=TODAY, reports=REPORTS)


def test_a_named_report_defaults_to_its_own_cadence() -> None:
    """report=exec without period is the exec report's weekly period."""
    request = parse(report="exec")
    assert request.report == "exec"
    assert request.period == report_period(PeriodKind.WEEKLY, TODAY)


def test_a_named_report_takes_an_explicit_period_or_range() -> None:
    """period= or from_date/to_date still choose the window."""
    assert parse(report="exec", period="monthly").period.kind is PeriodKind.MONTHLY
    ranged = parse(report="growth", from_date="2026-11-01", to_date="2026-11-07")
    assert ranged.period.kind is PeriodKind.CUSTOM


@pytest.mark.parametrize(
    ("params", "reports", "code", "message"),
    [
        ({"report": "grwoth"}, REPORTS, "unknown_report",
         "report 'grwoth' is not defined; did you mean 'growth'? configured: growth, exec"),
        ({"report": "sales"}, REPORTS, "unknown_report",
         "report 'sales' is not defined; configured: growth, exec"),
        ({"report": "growth"}, {}, "unknown_report",
         "report: this deployment defines no [[report]]s in its metrics file"),
        ({"report": "growth", "events": "Sign Up"}, REPORTS, "conflicting_parameters",
         "report cannot be combined with events; a report is its own list of metrics"),
    ],
    ids=["typo", "unknown", "none-defined", "with-events"],
)  # fmt: skip
def test_report_refusals_name_the_field(params, reports, code, message) -> None:
    """Each refusal is field `report` with a stable code and message."""
    with pytest.raises(InvalidRequest) as caught:
        parse_custom_request("GET", params, b"", today=TODAY, reports=reports)
    assert (caught.value.field, caught.value.code, caught.value.message) == (
        "report",
        code,
        message,
    )


def test_a_hostile_report_name_is_clipped_and_escaped_in_the_message() -> None:
    """A name is the caller's data: at most 64 characters, no control characters echoed."""
    with pytest.raises(InvalidRequest) as caught:
        parse(report="<!channel>\n" + "x" * 500)
    assert len(caught.value.message) < 200
    assert "\n" not in caught.value.message
