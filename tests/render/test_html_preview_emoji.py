"""Spec: the HTML preview shows every emoji code the product uses as its emoji, as Slack does
(issue 23, item 12): the codes in the metrics, alerts and sample report files and the ones the
renderers write. An unknown code stays as text."""

from __future__ import annotations

import re
import tomllib
from pathlib import Path
from typing import Any

import pytest

from shared.render.html_preview import EMOJI, mrkdwn_to_html, render_html
from shared.render.slack import render_message
from shared.render.wording import SLACK_MOOD
from tests.render.reports import golden_report

ROOT = Path(__file__).parents[2]
CONFIG_FILES = ["shared/metrics.toml", "shared/alerts.toml", "devtools/sample_reports.toml"]
CODE = re.compile(r":[a-z0-9_+\-]+:")


def emoji_values(value: Any) -> list[str]:
    """Every `emoji = "..."` value in a parsed TOML document, at any depth."""
    if isinstance(value, dict):
        found = [v for k, v in value.items() if k == "emoji" and isinstance(v, str)]
        return found + [e for v in value.values() for e in emoji_values(v)]
    if isinstance(value, list):
        return [e for v in value for e in emoji_values(v)]
    return []


def product_codes() -> set[str]:
    codes = {c for f in CONFIG_FILES for c in emoji_values(tomllib.loads((ROOT / f).read_text()))}
    return codes | set(SLACK_MOOD.values()) | {":x:"}  # render_failure's mark


def test_the_product_uses_the_codes_this_spec_reads() -> None:
    """The files hold the codes the issue names, so the spec below has teeth."""
    assert {":iphone:", ":moneybag:", ":warning:"} <= product_codes()


@pytest.mark.parametrize("code", sorted(product_codes()))
def test_every_emoji_code_the_product_uses_is_shown_as_its_emoji(code: str) -> None:
    """No ':moneybag:' left as text in the preview."""
    shown = mrkdwn_to_html(f"{code} Revenue")
    assert shown == f"{EMOJI[code]} Revenue"
    assert not CODE.search(EMOJI[code])


def test_an_unknown_code_stays_as_text() -> None:
    """Only codes in the table are replaced; a time like 09:00:00 is not a code either."""
    assert mrkdwn_to_html(":not_an_emoji: at 09:00:00") == ":not_an_emoji: at 09:00:00"


def test_the_preview_of_a_report_shows_no_known_code_as_text() -> None:
    """The whole page of the golden report: every code the message uses became an emoji."""
    page = render_html(render_message(golden_report()))
    assert [c for c in CODE.findall(page) if c in EMOJI] == []
