"""Specs for the terminal preview (shared/render/text.py): plain text, 80 columns, same figures."""

from __future__ import annotations

import re

import pytest

from shared.render.slack import render_message
from shared.render.text import render_text
from tests.render.reports import (
    DAILY,
    PROJECT_URL,
    columns,
    events_report,
    golden_report,
    nasty_names,
    numbers,
    texts,
)

# --- the preview --------------------------------------------------------------------------------


def test_the_preview_shows_the_same_figures_as_the_message() -> None:
    """render_text carries exactly the numbers of the Slack blocks, no more, no fewer."""
    report = golden_report()
    blocks = render_message(report).payload()["blocks"]
    assert numbers("\n".join(texts(blocks))) == numbers(render_text(report))


def test_the_preview_of_a_weekly_report_reads_as_plain_text() -> None:
    """No mrkdwn markers, no emoji codes, no escaping: words and numbers for a terminal."""
    assert render_text(golden_report()) == (
        "📊 Acme weekly report: 16 Nov - 22 Nov 2026\n"
        "===========================================\n"
        "\n"
        "Active users       1,234  🟢 ▲ 23% vs previous week (1,003)\n"
        "New signups           89  in line vs previous week (85)\n"
        "                          █████▁▁\n"
        "Receipts failed       30  🔴 ▲ 150% vs previous week (12)\n"
        "                          ██▁▁▁▁▁\n"
        "Vouchers redeemed      0  ⚠ dropped to 0 from 42\n"
        "                          ▁▁▁▁▁▁▁\n"
        "\n"
        "Top events (vs previous week)\n"
        "1. App Opened 12,345 (was 11,900)\n"
        "2. Email Sent 1,234 (was 800)\n"
        "3. Sign Up 89 (was 85)\n"
        "4. <!channel> & <b> Promo 64 (was 0)\n"
        "5. Receipt Failed 30 (was 12)\n"
        "\n"
        "Notable changes (vs previous week)\n"
        "▲ <!channel> & <b> Promo 64 (new, was 0)\n"
        "▲ Receipt Failed 30 (was 12, +150%)\n"
        "▲ Email Sent 1,234 (was 800, +54%)\n"
        "⚠ ▼ Voucher Redeemed 0 (was 42, dropped to 0)\n"
        "\n"
        "Data quality\n"
        "⚠ Voucher Redeemed: no events this period after 42 vs previous week - tracking\n"
        "   may be broken\n"
        "\n"
        "Insights\n"
        "• Receipts failed rose 150% vs previous week (12 to 30).\n"
        "• Active users rose 23% vs previous week (1,003 to 1,234).\n"
        "• Most frequent event: App Opened (12,345 times).\n"
        "• New this period: <!channel> & <b> Promo (64 times, none before).\n"
        "• Busiest day: Monday 16 Nov (1,969 events).\n"
        "\n" + "-" * 80 + "\n"
        "16 Nov - 22 Nov 2026 (Europe/London)\n"
        "vs previous week: 09 Nov - 15 Nov 2026\n"
        "data as of 25 Nov 2026 09:00 GMT (source: query)\n"
        f"Open in Mixpanel: {PROJECT_URL}\n"
    )


@pytest.mark.parametrize("count", [1, 21, 200], ids=lambda n: f"{n}-events")
def test_the_preview_fits_80_columns(count: int) -> None:
    """Every preview line fits an 80-column terminal, even with 255-character names."""
    preview = render_text(events_report(nasty_names(count), DAILY, company="Acme " * 60))
    assert max(columns(line) for line in preview.splitlines()) <= 80


def test_the_preview_says_and_n_more_where_the_message_does() -> None:
    """The preview leaves out the same metrics as the message and says so the same way."""
    report = events_report(nasty_names(200))
    message_more = re.findall(
        r"… and \d+ more", "\n".join(texts(render_message(report).payload()["blocks"]))
    )
    assert message_more
    assert re.findall(r"… and \d+ more", render_text(report)) == message_more
