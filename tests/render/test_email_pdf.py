"""Spec: the PDF never splits a figure across lines (issue 23, item 11).

Every figure the plan shows (each metric's value, baselines and changes in its words) is read
back from the PDF with pypdf and must appear whole on one line, for currency, long, negative
and decimal figures, with DejaVu and with reportlab's own Vera font.
"""

from __future__ import annotations

import re
from dataclasses import replace

import pytest

import shared.render.email_pdf as email_pdf
from shared.render.email_pdf import render_pdf
from shared.render.plan import plan
from shared.report.generator import MetricResult, Report, Verdict
from shared.report.units import Unit, UnitKind
from tests.render.renderings import pdf_lines
from tests.render.reports import SIGNUPS, report_of, weekly_change

FIGURE = re.compile(r"-?(?:[£€$]|CHF )?\d[\d,]*(?:\.\d+)?(?:%| XYZ)?")
GBP = Unit(UnitKind.CURRENCY, "GBP", 2)
VALUES = [
    (37_316.86, GBP),
    (-1_234_567.5, GBP),
    (9_007_199_254_740_992, GBP),
    (12_345_678.123456, Unit(UnitKind.NUMBER, None, 6)),
    (99.95, Unit(UnitKind.PERCENT, None, 2)),
    (1_234_567_890, Unit()),
    (-9_007_199_254_740_992, Unit(UnitKind.CURRENCY, "CHF", 6)),  # the widest figure there is
    (-9_007_199_254_740_991.5, Unit(UnitKind.CURRENCY, "XYZ", 6)),
]


def figures_report() -> Report:
    """One metric per awkward figure, each with a long label and an up change."""
    metrics = []
    for n, (value, unit) in enumerate(VALUES):
        spec = replace(
            SIGNUPS, key=f"m{n}", label=f"Revenue from the spring campaign {n}", unit=unit
        )
        change = weekly_change(int(value) // 2 or 1, Verdict.UP, 1.0, True)
        metrics.append(MetricResult(spec, value, (change,)))
    return report_of(*metrics)


def shown_figures(report: Report) -> list[str]:
    """Every figure the plan shows in the metrics table (value and the words beside it)."""
    found = []
    for row in plan(report).metric_rows:
        found += [row.value, *FIGURE.findall(row.change.words)]
    return found


@pytest.mark.parametrize("fonts", ["system", "reportlab-vera"])
def test_every_figure_in_the_pdf_appears_whole_on_one_line(
    fonts: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """'£37,316.86' is one line of the PDF, never '£37,316.8' and then '6'."""
    if fonts == "reportlab-vera":
        monkeypatch.setattr(email_pdf, "_FONT_CANDIDATES", ())
    report = figures_report()
    lines = pdf_lines(render_pdf(report))
    figures = shown_figures(report)
    assert "£37,316.86" in figures
    for figure in figures:
        assert any(figure in line for line in lines), (figure, lines)
