"""A real headless browser for tests: Debian's chromium driven by selenium and chromium-driver.

Shared by every test that must see a page as a person would (the HTML preview, HTML email).
`make test` installs the browser when it can (apt-get, as root); where it cannot, `headless()`
skips the calling test and says why. Nothing is downloaded at run time: Selenium Manager is never
asked for a browser or a driver, both paths are given.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest

CHROMIUM = os.environ.get("CHROMIUM_BIN", "/usr/bin/chromium")
CHROMEDRIVER = os.environ.get("CHROMEDRIVER_BIN", "/usr/bin/chromedriver")
# Flags that work in a container with no GPU, no sandbox privileges and no network.
FLAGS = (
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-dev-shm-usage",
)
WINDOW = (900, 1400)


def missing() -> str | None:
    """Why no headless browser can run here, or None when one can."""
    for path, package in ((CHROMIUM, "chromium"), (CHROMEDRIVER, "chromium-driver")):
        if not (os.path.isfile(path) and os.access(path, os.X_OK)):
            return (
                f"{path} is missing: install Debian's {package} package "
                "(make test does so when run as root)"
            )
    try:
        import selenium  # noqa: F401
    except ImportError:
        return "the selenium package is missing: run make setup"
    return None


@contextmanager
def headless(*, window: tuple[int, int] = WINDOW) -> Iterator[Any]:
    """A selenium WebDriver on headless chromium with a fresh profile; skips if impossible."""
    reason = missing()
    if reason:
        pytest.skip(f"no headless browser: {reason}")
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    profile = tempfile.mkdtemp(prefix="chromium-profile-")
    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for flag in FLAGS:
        options.add_argument(flag)
    options.add_argument(f"--user-data-dir={profile}")
    options.add_argument(f"--window-size={window[0]},{window[1]}")
    driver = webdriver.Chrome(options=options, service=Service(CHROMEDRIVER))
    try:
        yield driver
    finally:
        driver.quit()
        shutil.rmtree(profile, ignore_errors=True)


def screenshot(html_file: Path, png_file: Path) -> None:
    """Open `html_file` in the headless browser and save what it shows as `png_file`."""
    with headless() as driver:
        driver.get(html_file.resolve().as_uri())
        png_file.parent.mkdir(parents=True, exist_ok=True)
        driver.save_screenshot(str(png_file))
