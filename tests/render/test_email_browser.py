"""The HTML part in a real headless browser: it renders, fetches nothing, and shows the figures."""

from __future__ import annotations

from pathlib import Path

from shared.render.email_message import render_html
from shared.render.slack_message import human_number, render_message
from tests.browser_email import browser_page
from tests.email_fixtures import numbers, slack_visible
from tests.render.test_slack_message import golden_report

OUT = Path("out")


def test_the_email_renders_in_chromium_without_fetching_anything():
    """Loaded in headless chromium: no request leaves the page; the screenshot is in out/."""
    report = golden_report()
    requests: list[str] = []
    with browser_page() as page:
        page.route("**/*", lambda route: (requests.append(route.request.url), route.abort()))
        page.set_content(render_html(report), wait_until="load")
        shown = page.inner_text("body")
        rows = page.locator("tr.metric")
        assert rows.count() == len(report.metrics)
        first = rows.nth(0).bounding_box()
        OUT.mkdir(exist_ok=True)
        page.screenshot(path=str(OUT / "email-browser.png"), full_page=True)
        errors = page.evaluate("() => document.querySelectorAll('script').length")
    assert requests == []
    assert errors == 0
    assert first is not None
    assert first["height"] > 0
    assert first["width"] > 300
    assert (OUT / "email-browser.png").stat().st_size > 10_000
    for metric in report.metrics:
        assert metric.spec.label in shown
        assert metric.value is not None
        assert human_number(metric.value) in shown
    assert numbers(shown) == numbers(slack_visible(render_message(report).payload()))


def test_the_email_fits_a_phone_screen_without_sideways_scrolling():
    """At 375 px wide (a phone), the layout shrinks to fit: nothing wider than the screen."""
    with browser_page(width=375, height=800) as page:
        page.set_content(render_html(golden_report()), wait_until="load")
        overflow = page.evaluate(
            "() => document.documentElement.scrollWidth - document.documentElement.clientWidth"
        )
        page.screenshot(path=str(OUT / "email-browser-phone.png"), full_page=True)
    assert overflow <= 0
