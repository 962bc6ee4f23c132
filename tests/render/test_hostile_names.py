"""Spec: an event name is shown literally in every rendering, whoever sent it (issue 23).

Anyone with the public project token can name an event. No name may reverse or hide text
(Unicode format characters), format text (mrkdwn bold, italic, strike, code), become a live
link (a URL or a bare host name, which Slack, mail clients and PDF viewers link by themselves)
or mention anyone. It is done once, in the shared wording (shared/render/wording.py), so the
Slack message, its fallback text and native charts, the terminal text, the HTML preview, the
email subject and parts, and the PDF all inherit it; the report JSON keeps the raw name as data.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import replace
from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import pytest

from devtools.slack_standin import live_markup, slack_rejection
from shared.alerts.evaluate import Finding
from shared.render.alert_message import render_alert, render_resolved
from shared.render.blocks import literal_mrkdwn
from shared.render.charts import chart_blocks
from shared.render.slack import render_message
from shared.render.wording import HIDDEN_MARK, defang, neutral, shown
from shared.report.generator import BreakdownRow, Report
from tests.render.renderings import every_rendering
from tests.render.reports import events_report

RLO = "Refund\u202e1,234"  # U+202E: what follows reads right to left, reversing the figures
ZERO_WIDTH = "Purc\u200bhase"  # passes for 'Purchase'
MARKUP = "*PAYROLL* _update_ https://evil.example/x @here"
MENTION = "<!channel> ~gone~ `rm` www.evil.example"
HOSTILE = [RLO, ZERO_WIDTH, MARKUP, MENTION]
LIVE_HOST = re.compile(r"evil\.example|https?://evil")


def tame(name: str) -> str:
    """The name without anything that could format, mention or link: its harmless twin."""
    return re.sub(r"[*_~`@<>!]|https?://|\.", "", name)


def hostile_report(names: list[str] = HOSTILE) -> Report:
    """A custom report of these events: names as metric labels, top events, changes,
    insights, chart labels; plus a breakdown row and a data-quality line holding them."""
    report = events_report([*names, "Sign Up"])
    first = report.metrics[0]
    rows = tuple(BreakdownRow(name, 5, None) for name in names)
    spec = replace(first.spec, breakdown="country")
    metrics = (replace(first, spec=spec, breakdown=rows), *report.metrics[1:])
    warning = f"{names[2]}: down 50% (10 to 5) vs previous week - tracking may be broken"
    return replace(report, metrics=metrics, warnings=(*report.warnings, warning))


def hidden_characters(text: str) -> list[str]:
    return sorted({f"U+{ord(c):04X}" for c in text if unicodedata.category(c) == "Cf"})


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (RLO, f"Refund{HIDDEN_MARK}1,234"),
        (ZERO_WIDTH, f"Purc{HIDDEN_MARK}hase"),
        ("a\u2066b\u2069\u00adc\ufeff", f"a{HIDDEN_MARK}b{HIDDEN_MARK}{HIDDEN_MARK}c{HIDDEN_MARK}"),
        ("👩\u200d💻 Dev", "👩\u200d💻 Dev"),
        ("Sign Up", "Sign Up"),
    ],
    ids=["right-to-left-override", "zero-width-space", "isolates-soft-hyphen-bom",
         "emoji-joiner-kept", "plain"],
)  # fmt: skip
def test_format_characters_become_a_visible_mark(text: str, expected: str) -> None:
    """Every Cf character is shown as U+FFFD, except a joiner between two emoji."""
    assert neutral(text) == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (MARKUP, "*PAYROLL* _update_ https[:]//evil[.]example/x @here"),
        ("www.evil.example", "www[.]evil[.]example"),
        ("mail me: a@b.co", "mail me: a@b[.]co"),
        ("ftp://x", "ftp[:]//x"),
        ("page.view", "page[.]view"),
        ("e.g. v2.1 costs 1.5 per", "e.g. v2.1 costs 1.5 per"),
        ("Avg. basket", "Avg. basket"),
    ],
    ids=["url", "www-host", "email-address", "any-scheme", "dotted-name", "numbers", "sentence"],
)
def test_urls_and_host_names_are_defanged_numbers_and_sentences_are_not(
    text: str, expected: str
) -> None:
    """'://' and the dots of a host name are bracketed: visible, and never a link anywhere."""
    assert defang(text) == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("*PAYROLL*", "\uff0aPAYROLL\uff0a"),
        ("_update_ ~x~ `y`", "\uff3fupdate\uff3f \uff5ex\uff5e \uff40y\uff40"),
        ("add_to_cart $ae_first_open 2*3", "add_to_cart $ae_first_open 2*3"),
        ("<!here> & <@U1>", "&lt;!here&gt; &amp; &lt;@U1&gt;"),
        (
            "@here @channel @everyone a@b.co @hereby",
            "\uff20here \uff20channel \uff20everyone a@b.co @hereby",
        ),
    ],
    ids=["bold", "italic-strike-code", "inside-a-word-kept", "mentions-escaped", "plain-mentions"],
)
def test_literal_mrkdwn_leaves_no_mark_that_could_format(text: str, expected: str) -> None:
    """A mark that could open or close formatting becomes its full-width twin; one inside a
    word (snake_case names) cannot format and is kept; & < > are escaped as before."""
    assert literal_mrkdwn(text) == expected


def test_shown_is_one_line_with_no_hidden_character_and_no_link() -> None:
    """The one function every renderer's data strings pass through."""
    assert shown("a\nb\u202e https://x.io") == f"a b{HIDDEN_MARK} https[:]//x[.]io"


def test_no_rendering_carries_a_format_character_from_an_event_name() -> None:
    """Slack, terminal, HTML preview, email subject/text/HTML, PDF: no Cf character at all."""
    report = hostile_report()
    for name, output in every_rendering(report).items():
        if name == "json":
            continue
        assert hidden_characters(output) == [], name
        assert HIDDEN_MARK in output or name == "email subject", name


def test_the_report_json_keeps_raw_names_but_its_sentences_are_safe_to_show() -> None:
    """Names are data (raw); warnings, insights and notes are sentences shown as they are."""
    report = hostile_report()
    rendered = every_rendering(report)["json"]
    assert "Refund\\u202e" in rendered or RLO in rendered  # the raw name, as data
    import json

    document = json.loads(rendered)
    for line in [*document["warnings"], *document["insights"], *document["notes"]]:
        assert hidden_characters(line) == []
        assert not LIVE_HOST.search(line)


def test_no_rendering_links_a_url_or_host_from_an_event_name() -> None:
    """'evil.example' appears only defanged: no client can make it a link."""
    report = hostile_report()
    for name, output in every_rendering(report).items():
        if name == "json":
            continue
        assert not LIVE_HOST.search(output), name
        assert "evil[.]example" in output or name == "email subject", name
    links = re.findall(r'<a href="([^"]*)"', every_rendering(report)["email html"])
    assert links == ["https://eu.mixpanel.com/project/12345"]  # our own link only


def test_slack_shows_the_names_with_no_live_link_mention_or_formatting() -> None:
    """What Slack would make of the message: only our own link, our own bold, no mention."""
    payload = render_message(hostile_report()).payload()
    assert slack_rejection(payload) is None
    markup = live_markup(payload)
    assert markup.links == ["https://eu.mixpanel.com/project/12345"]
    assert markup.mentions == []
    twin = live_markup(render_message(hostile_report([tame(n) for n in HOSTILE])).payload())
    assert [kind for kind, _ in markup.formatted] == [kind for kind, _ in twin.formatted]
    assert {kind for kind, _ in markup.formatted} == {"bold"}  # only the renderer's own bold


def test_native_chart_labels_carry_no_hidden_character_or_link() -> None:
    """Chart series names are metric labels, here event names: shown like every other string."""
    blocks = chart_blocks(hostile_report())
    assert blocks
    text = repr(blocks)
    assert hidden_characters(str(blocks)) == []
    assert not LIVE_HOST.search(text)


def test_an_alert_about_a_hostile_event_shows_its_name_literally() -> None:
    """Alert and resolved posts build their words with escape_truncated: the same wording."""
    finding = Finding(
        key="k",
        title=f"{MARKUP} fell",
        since="09:00",
        expected=40.0,
        seen=0.0,
        detail=f"{RLO} seen 0 times, expected 40",
    )
    now = datetime(2026, 11, 25, 9, tzinfo=UTC)
    for message in (
        render_alert(finding, company="Acme", now=now, tz=ZoneInfo("Europe/London")),
        render_resolved(finding.title, company="Acme", now=now, tz=ZoneInfo("Europe/London")),
    ):
        payload = message.payload()
        assert slack_rejection(payload) is None
        markup = live_markup(payload)
        assert (markup.links, markup.mentions) == ([], [])
        assert {kind for kind, _ in markup.formatted} == {"bold"}
        assert hidden_characters(repr(payload)) == []
        assert not LIVE_HOST.search(repr(payload))
