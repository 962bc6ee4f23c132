"""A headless Debian chromium for the email tests, driven by playwright (never its own browser).

`make test` installs chromium with apt when it is missing (as root); where it still cannot be
had, the browser tests skip and say why. The integrator may fold this into tests/browser.py.
"""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest

CHROMIUM = Path("/usr/bin/chromium")
FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


def chromium_or_skip() -> Path:
    """Debian's chromium, or skip the test with the reason."""
    if not CHROMIUM.exists() and shutil.which("chromium") is None:
        pytest.skip(
            "Debian chromium is not installed (make test installs it with "
            "`apt-get install -y chromium` when run as root)"
        )
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        pytest.skip("playwright is not installed: run make setup")
    return CHROMIUM if CHROMIUM.exists() else Path(str(shutil.which("chromium")))


@contextmanager
def browser_page(width: int = 800, height: int = 900) -> Iterator[Any]:
    """A fresh page in a fresh headless chromium profile (playwright makes the profile dir)."""
    executable = chromium_or_skip()
    from playwright.sync_api import sync_playwright

    with sync_playwright() as driver:
        browser = driver.chromium.launch(executable_path=str(executable), args=FLAGS)
        try:
            page = browser.new_page(viewport={"width": width, "height": height})
            yield page
        finally:
            browser.close()
