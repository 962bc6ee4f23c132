"""The shared headless-browser helper says exactly why it cannot run, instead of passing."""

from __future__ import annotations

import pytest

from tests import browser


def test_a_missing_browser_is_named_with_the_package_to_install(monkeypatch) -> None:
    """No chromium binary: the reason names the path and Debian's package."""
    monkeypatch.setattr(browser, "CHROMIUM", "/nonexistent/chromium")
    assert browser.missing() == (
        "/nonexistent/chromium is missing: install Debian's chromium package "
        "(make test does so when run as root)"
    )


def test_a_test_that_needs_the_browser_skips_with_that_reason(monkeypatch) -> None:
    """headless() skips (never a silent pass) when the driver is missing."""
    monkeypatch.setattr(browser, "CHROMEDRIVER", "/nonexistent/chromedriver")
    with (
        pytest.raises(
            pytest.skip.Exception, match="no headless browser: /nonexistent/chromedriver"
        ),
        browser.headless(),
    ):
        pass  # pragma: no cover - never reached
