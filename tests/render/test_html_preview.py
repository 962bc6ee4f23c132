"""Spec of out/preview.html: the posted blocks as a page, charts as inline SVG, no network."""

from __future__ import annotations

import json
import re
from datetime import date
from pathlib import Path
from typing import Any

import pytest

from devtools import demo
from shared.render.html_preview import mrkdwn_to_html, render_html
from shared.render.slack import render_message
from shared.render.wording import human_number
from shared.schedule.periods import PeriodKind, report_period
from shared.sources.mixpanel_client import PROCESS_NAMES_CACHE
from tests.browser import headless
from tests.render.test_charts import counted_report

REPO_OUT = Path(__file__).resolve().parents[2] / "out"
WEEKLY = report_period(PeriodKind.WEEKLY, date(2026, 11, 23))
NASTY = '<script>alert("x")</script> & <!channel>'


def points(page: str) -> list[tuple[str, str, int]]:
    """(series, label, value) of every drawn point, in document order."""
    found = re.findall(
        r'class="point" data-series="([^"]*)" data-label="([^"]*)" data-value="(-?\d+)"', page
    )
    return [(s, label, int(v)) for s, label, v in found]


def test_every_chart_point_is_drawn_with_its_value() -> None:
    """Each data point of each chart block is one SVG mark carrying the same value."""
    message = render_message(counted_report(WEEKLY))
    page = render_html(message)
    expected = [
        (s["name"], p["label"], p["value"])
        for b in message.blocks
        if b["type"] == "data_visualization"
        for s in b["chart"]["series"]
        for p in s["data"]
    ]
    assert points(page) == expected
    assert page.count("<svg") == 2


def test_the_page_loads_nothing_from_anywhere() -> None:
    """No script, style sheet, image, frame or font: it opens offline."""
    page = render_html(render_message(counted_report(WEEKLY, (NASTY,))))
    for needle in ("<script", "src=", "<link", "@import", "url(", "<iframe", "<img"):
        assert needle not in page.lower()


def test_caller_text_is_inert_in_the_page() -> None:
    """An event named like markup shows as text, in the list and in the chart."""
    page = render_html(render_message(counted_report(WEEKLY, (NASTY,))))
    assert "&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt; &amp; &lt;!channel&gt;" in page
    assert "<!channel>" not in page


@pytest.mark.parametrize(
    ("mrkdwn", "html"),
    [
        ("*89* in line", "<strong>89</strong> in line"),
        ("a &amp; b &lt;c&gt;", "a &amp; b &lt;c&gt;"),
        (
            "<https://x.example/p?a=1&amp;b=2|Open>",
            '<a href="https://x.example/p?a=1&amp;b=2">Open</a>',
        ),
        (":red_circle: ▲ 5%\nnext", "🔴 ▲ 5%<br>next"),
        ('say "hi"', "say &quot;hi&quot;"),
    ],
    ids=["bold", "entities", "link", "emoji-newline", "quotes"],
)
def test_mrkdwn_becomes_the_html_slack_would_show(mrkdwn: str, html: str) -> None:
    """Bold, links, emoji codes and line breaks; Slack's entities stay entities."""
    assert mrkdwn_to_html(mrkdwn) == html


# --- in a real browser ----------------------------------------------------------------------


@pytest.fixture
def demo_out(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """`make demo` on the bundled sample, in an empty directory: its out/ folder."""
    monkeypatch.chdir(tmp_path)
    PROCESS_NAMES_CACHE.clear()
    for name in ("MIXPANEL_USERNAME", "MIXPANEL_SECRET", "SLACK_WEBHOOK_URL", "METRICS_FILE"):
        monkeypatch.delenv(name, raising=False)
    assert demo.main(["--period", "weekly", "--days", "40", "--users", "400"]) == 0
    return tmp_path / "out"


def test_the_demo_preview_renders_in_a_headless_browser_with_the_reports_figures(
    demo_out: Path,
) -> None:
    """Chromium shows every metric's value and sparkline, and draws each chart point at the
    report's own figure; the page fetched nothing; a screenshot is kept under out/."""
    report: dict[str, Any] = json.loads((demo_out / "report.json").read_text(encoding="utf-8"))
    with headless() as browser:
        browser.get((demo_out / "preview.html").resolve().as_uri())
        fields = [e.text for e in browser.find_elements("css selector", ".fields .field")]
        drawn = browser.execute_script(
            "return Array.from(document.querySelectorAll('figure.chart')).map(f => ["
            " f.dataset.blockId,"
            " Array.from(f.querySelectorAll('.point')).map(p => ["
            "  p.dataset.series, p.dataset.label, Number(p.dataset.value),"
            "  p.getBoundingClientRect().width > 0])])"
        )
        fetched = browser.execute_script(
            "return performance.getEntriesByType('resource').map(r => r.name)"
        )
        REPO_OUT.mkdir(exist_ok=True)
        shot = REPO_OUT / "preview-weekly.png"
        browser.save_screenshot(str(shot))
    assert fetched == []
    metrics = report["metrics"]
    assert len(fields) == len(metrics)
    for field, metric in zip(fields, metrics, strict=True):
        assert metric["label"] in field
        assert human_number(metric["value"]) in field
        assert metric["trend"]["sparkline"] in field
    charts = dict(drawn)
    assert set(charts) == {"trend", "top_events"}
    assert all(visible for *_, visible in charts["trend"] + charts["top_events"])
    by_series: dict[str, list[int]] = {}
    for series, _label, value, _ in charts["trend"]:
        by_series.setdefault(series, []).append(value)
    plotted = list(by_series.values())
    figures = {
        m["key"]: (
            [p["value"] for p in m["trend"]["points"]],
            [p["value"] for p in m["trend"]["reference"]["points"]],
        )
        for m in metrics
    }
    first = metrics[0]["key"]
    assert (plotted[0], plotted[1]) == figures[first]
    for i in range(0, len(plotted), 2):
        assert (plotted[i], plotted[i + 1]) in figures.values()
    top = report["top_events"]
    bars = [(label, value) for _series, label, value, _ in charts["top_events"]]
    assert [v for _, v in bars] == [e["count"] for e in top] + [e["previous"] for e in top]
    assert shot.stat().st_size > 10_000
