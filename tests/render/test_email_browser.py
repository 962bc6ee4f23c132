"""The HTML part in a real headless browser: it renders, fetches nothing, and shows the figures."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from shared.render.email_message import render_html
from shared.render.slack import render_message
from shared.render.wording import human_number
from tests.browser import headless
from tests.email_fixtures import numbers, slack_visible
from tests.render.reports import golden_report

OUT = Path("out")


def _open(driver: Any, html: str, name: str) -> None:
    """Load `html` from a file under out/ (as a mail client shows a saved message)."""
    OUT.mkdir(exist_ok=True)
    page = OUT / name
    page.write_text(html, encoding="utf-8")
    driver.get(page.resolve().as_uri())


def test_the_email_renders_in_chromium_without_fetching_anything():
    """Loaded in headless chromium: no request leaves the page; the screenshot is in out/."""
    from selenium.webdriver.common.by import By

    report = golden_report()
    with headless(window=(800, 2400)) as driver:
        _open(driver, render_html(report), "email-browser.html")
        shown = driver.find_element(By.TAG_NAME, "body").text
        rows = driver.find_elements(By.CSS_SELECTOR, "tr.metric")
        assert len(rows) == len(report.metrics)
        first = rows[0].rect
        fetched = driver.execute_script(
            "return performance.getEntriesByType('resource').map(r => r.name)"
        )
        scripts = driver.execute_script("return document.querySelectorAll('script').length")
        driver.save_screenshot(str(OUT / "email-browser.png"))
    assert fetched == []
    assert scripts == 0
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
    with headless() as driver:
        driver.execute_cdp_cmd(
            "Emulation.setDeviceMetricsOverride",
            {"width": 375, "height": 800, "deviceScaleFactor": 1, "mobile": True},
        )
        _open(driver, render_html(golden_report()), "email-browser-phone.html")
        overflow = driver.execute_script(
            "return document.documentElement.scrollWidth - document.documentElement.clientWidth"
        )
        width = driver.execute_script("return document.documentElement.clientWidth")
        driver.save_screenshot(str(OUT / "email-browser-phone.png"))
    assert width == 375
    assert overflow <= 0
