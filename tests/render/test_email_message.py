"""Specs for the report email: MIME structure, headers, and the Slack message's own figures."""

from __future__ import annotations

import io
import re
from email import message_from_bytes
from email.headerregistry import Address
from email.message import EmailMessage
from email.policy import default

import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st
from pypdf import PdfReader

from shared.addresses import fingerprint, parse_mailbox, parse_mailboxes
from shared.render.email_message import (
    BAR_MAX_PX,
    MAIL_POLICY,
    MAX_HTML_BYTES,
    MAX_SUBJECT_CHARS,
    bar_cell,
    render_email,
    render_html,
    render_subject,
)
from shared.render.email_pdf import render_pdf
from shared.render.slack import render_message
from shared.render.text import render_text
from shared.render.wording import human_number
from shared.report.generator import Report
from shared.schedule.periods import PeriodKind
from tests.email_fixtures import RECIPIENTS, SENDER, numbers, parts, slack_visible, visible_text
from tests.render.reports import events_report, golden_report

TO = parse_mailboxes(RECIPIENTS)
FROM = parse_mailbox(SENDER)


def email_of(report: Report, *, pdf: bool = False, to: tuple[Address, ...] = TO) -> EmailMessage:
    """The report's email as a mail client receives it: rendered, serialised, parsed back."""
    message = render_email(
        report,
        sender=FROM,
        recipients=to,
        destination=fingerprint(to),
        pdf=render_pdf(report) if pdf else None,
    )
    parsed = message_from_bytes(message.as_bytes(policy=MAIL_POLICY), policy=default)
    assert isinstance(parsed, EmailMessage)
    return parsed


def test_the_email_is_text_and_html_alternatives_in_that_order():
    """multipart/alternative: text/plain first (the fallback), then text/html (preferred)."""
    message = email_of(golden_report())
    assert message.get_content_type() == "multipart/alternative"
    kinds = [p.get_content_type() for p in message.iter_parts()]
    assert kinds == ["text/plain", "text/html"]
    assert all(p.get_content_charset() == "utf-8" for p in message.iter_parts())


def test_with_a_pdf_the_alternatives_and_the_attachment_are_mixed():
    """EMAIL_PDF: multipart/mixed of the alternatives and an application/pdf attachment."""
    message = email_of(golden_report(), pdf=True)
    assert message.get_content_type() == "multipart/mixed"
    alternative, attachment = message.iter_parts()
    assert alternative.get_content_type() == "multipart/alternative"
    assert attachment.get_content_type() == "application/pdf"
    assert attachment.get_filename() == "weekly-report-2026-11-16-to-2026-11-22.pdf"
    assert attachment.get_content_disposition() == "attachment"
    assert attachment.get_content().startswith(b"%PDF-")


def test_the_headers_name_sender_recipients_and_say_it_is_automatic():
    """From, To (Unicode names intact), Date = data as of, fixed Message-ID, Auto-Submitted."""
    message = email_of(golden_report())
    assert message["From"] == "Acme Reports <reports@acme.test>"
    assert [a.display_name for a in message["To"].addresses] == ["Ána Lima", "東京 チーム", ""]
    assert [a.addr_spec for a in message["To"].addresses] == [
        "ana@example.com",
        "tokyo@example.com",
        "bo@example.com",
    ]
    assert message["Date"] == "Wed, 25 Nov 2026 09:00:00 +0000"
    assert message["Auto-Submitted"] == "auto-generated"
    assert re.fullmatch(r"<report\.[0-9a-f]{24}@acme\.test>", message["Message-ID"])
    assert email_of(golden_report())["Message-ID"] == message["Message-ID"]
    other = email_of(golden_report(), to=parse_mailboxes("x@example.com"))
    assert other["Message-ID"] != message["Message-ID"]


def test_the_subject_names_report_window_and_headline_figures():
    """Subject: report, window and the first metrics worded as in Slack's fallback text."""
    assert render_subject(golden_report()) == (
        "Acme weekly report, 16 Nov - 22 Nov 2026: Active users 1,234 ▲ 23%, "
        "New signups 89 in line, Receipts failed 30 ▲ 150%, … and 1 more"
    )
    assert email_of(golden_report())["Subject"] == render_subject(golden_report())


def test_a_long_subject_keeps_the_head_and_says_how_many_figures_are_left_out():
    """Long labels: fewer figures, then '… and N more'; never over MAX_SUBJECT_CHARS."""
    report = events_report(["A" * 70, "B" * 70, "C" * 70, "D"])
    subject = render_subject(report)
    assert len(subject) <= MAX_SUBJECT_CHARS
    assert subject.startswith("Acme weekly report, 16 Nov - 22 Nov 2026: ")
    assert subject.endswith("… and 3 more")


@pytest.mark.parametrize(
    "name",
    ["Sign Up\r\nBcc: evil@example.com", "Sign Up\nX-Injected: 1", "Sign\u2028Up\x00"],
    ids=["crlf-bcc", "lf-header", "separator-nul"],
)
def test_a_newline_in_an_event_name_never_becomes_a_header(name: str):
    """Names from events are neutralised (control characters become spaces) in the subject."""
    message = email_of(events_report([name]))
    raw = message.as_bytes(policy=MAIL_POLICY)
    head = raw.split(b"\r\n\r\n", 1)[0]
    header_names = re.findall(rb"^([^\s:]+):", head, flags=re.MULTILINE)
    assert b"Bcc" not in header_names
    assert b"X-Injected" not in header_names
    assert message["Bcc"] is None
    assert message["X-Injected"] is None
    assert "\n" not in message["Subject"]
    assert "\r" not in message["Subject"]


def test_a_newline_in_a_company_name_never_becomes_a_header():
    """The company name from configuration is one line in the subject, whatever it holds."""
    report = events_report(["Sign Up"], company="Acme\r\nBcc: evil@example.com")
    message = email_of(report)
    assert message["Bcc"] is None
    # the address is defanged like any host name in data, so no client makes it a mailto link
    assert message["Subject"].startswith("Acme Bcc: evil@example[.]com weekly report")


def test_the_text_part_is_the_terminal_preview():
    """The plain-text alternative is render_text, character for character."""
    report = golden_report()
    text = parts(email_of(report))["text/plain"]
    assert text.replace("\r\n", "\n") == render_text(report)


def test_the_html_shows_exactly_the_figures_of_the_slack_message():
    """Every number Slack shows, as often as Slack shows it, and no other, is in the HTML."""
    report = golden_report()
    html = parts(email_of(report))["text/html"]
    assert numbers(visible_text(html)) == numbers(slack_visible(render_message(report).payload()))


def test_each_metric_row_holds_the_reports_value_and_its_change():
    """Row by row: label, the report's value as human_number, and the Slack change phrase."""
    report = golden_report()
    html = render_html(report)
    rows = re.findall(r'<tr class="metric">(.*?)</tr>', html)
    assert len(rows) == len(report.metrics)
    for metric, row in zip(report.metrics, rows, strict=True):
        text = visible_text(row)
        assert metric.spec.label in text
        assert metric.value is not None
        assert human_number(metric.value) in text
    assert "▲ 23% vs previous week (1,003)" in visible_text(rows[0])
    assert "dropped to 0 from 42" in visible_text(rows[3])


def test_an_unavailable_figure_reads_unavailable_with_its_reason_never_zero():
    """A metric Mixpanel could not give says 'unavailable' and why, as in Slack."""
    report = golden_report()
    metric = report.metrics[0]
    broken = type(metric)(metric.spec, None, metric.changes, unavailable="Mixpanel 503")
    report = type(report)(**{**_fields(report), "metrics": (broken, *report.metrics[1:])})
    row = re.findall(r'<tr class="metric">(.*?)</tr>', render_html(report))[0]
    assert "unavailable" in visible_text(row)
    assert "Mixpanel 503" in visible_text(row)
    assert ">0<" not in row


def _fields(report: Report) -> dict[str, object]:
    return {name: getattr(report, name) for name in report.__dataclass_fields__}


def test_the_footer_gives_window_timezone_data_as_of_and_the_mixpanel_link():
    """The footer matches Slack's: window (timezone), comparison, data as of, a real link."""
    html = render_html(golden_report())
    text = visible_text(html)
    assert "16 Nov - 22 Nov 2026 (Europe/London)" in text
    assert "vs previous week: 09 Nov - 15 Nov 2026" in text
    assert "data as of 25 Nov 2026 09:00 GMT" in text
    assert '<a href="https://eu.mixpanel.com/project/12345"' in html


def test_the_html_is_self_contained_and_script_free():
    """No script, no stylesheet link, no remote image or font, no event handler: inline only."""
    html = render_html(golden_report()).lower()
    for banned in ("<script", "<link", "<img", "@import", "@font-face", "url(", " on", "<style"):
        if banned == " on":
            assert not re.search(r"\son[a-z]+\s*=", html)
        else:
            assert banned not in html
    assert re.findall(r'(?:src|href)="([^"]+)"', html) == ["https://eu.mixpanel.com/project/12345"]


def test_hostile_names_are_escaped_in_the_html():
    """'<!channel> & <b>' in an event name is text, never markup."""
    html = render_html(golden_report())
    assert "&lt;!channel&gt; &amp; &lt;b&gt; Promo" in html
    assert "<b>" not in html


def test_top_events_carry_bars_proportional_to_their_counts():
    """The top events chart: table-cell bars, the largest BAR_MAX_PX wide."""
    html = render_html(golden_report())
    widths = [int(w) for w in re.findall(r'<td width="(\d+)" height="10"', html)]
    assert widths[0] == BAR_MAX_PX
    assert widths == sorted(widths, reverse=True)
    assert bar_cell(0, 10).count('width="0"') == 1
    assert 'width="1"' in bar_cell(1, 10_000)


@pytest.mark.parametrize("kind", [PeriodKind.WEEKLY, PeriodKind.DAILY], ids=["weekly", "daily"])
def test_a_huge_report_fits_the_size_limit_and_says_and_n_more(kind: PeriodKind):
    """200 long Unicode metric names: under Gmail's clip size, '… and N more' as in Slack."""
    from shared.schedule.periods import report_period
    from tests.render.reports import TODAY

    names = [f"événement 東京 {i:03d} " + "x" * 230 for i in range(200)]
    report = events_report(names, period=report_period(kind, TODAY))
    html = render_html(report)
    assert len(html.encode()) <= MAX_HTML_BYTES
    slack_text = slack_visible(render_message(report).payload())
    more = re.search(r"… and (\d+) more", slack_text)
    assert more is not None
    assert f"… and {more.group(1)} more" in visible_text(html)
    assert numbers(visible_text(html)) == numbers(slack_text)


def test_the_pdf_holds_the_same_figures_and_words():
    """The PDF's text carries the HTML's figures and the same lines."""
    report = golden_report()
    pdf = parts(email_of(report, pdf=True))["application/pdf"]
    reader = PdfReader(io.BytesIO(pdf))
    text = "\n".join(page.extract_text() for page in reader.pages)
    html_numbers = numbers(visible_text(render_html(report)))
    assert numbers(text) == html_numbers
    for line in ("Top events (vs previous week)", "1. App Opened 12,345 (was 11,900)", "Insights"):
        assert line in text
    assert reader.metadata is not None
    assert reader.metadata.title == render_subject(report)


def test_the_pdf_is_reproducible_and_handles_unicode_and_length():
    """Same report, same bytes; 200 long Unicode names render on a few pages."""
    assert render_pdf(golden_report()) == render_pdf(golden_report())
    report = events_report([f"événement 東京 {i} " + "x" * 230 for i in range(200)])
    reader = PdfReader(io.BytesIO(render_pdf(report)))
    assert 1 <= len(reader.pages) <= 10
    assert "… and" in "".join(page.extract_text() for page in reader.pages)


def test_an_email_without_recipients_is_refused():
    """Rendering for nobody is a bug, not an empty To header."""
    with pytest.raises(ValueError, match="at least one recipient"):
        render_email(golden_report(), sender=FROM, recipients=(), destination="email-x")


@settings(max_examples=60, deadline=None)
@given(
    names=st.lists(
        st.text(min_size=1, max_size=120).filter(lambda t: t.strip()), min_size=1, max_size=8
    ),
    company=st.text(max_size=60),
)
@example(names=["000000000"], company="00000000")  # CPython folded after 'Subject:' here
@example(names=["Active users ▲"], company="Ána")  # and left two spaces before '▲' here
def test_any_names_give_one_line_subject_that_survives_the_wire(names: list[str], company: str):
    """Random Unicode and control characters: headers parse back exactly, no header is added."""
    report = events_report(list(dict.fromkeys(names)), company=company)
    message = email_of(report)
    assert message["Subject"] == render_subject(report)
    assert not re.search(r"[\r\n]", message["Subject"])
    names_seen = {k.lower() for k in message}
    assert names_seen <= {
        "subject", "from", "to", "date", "message-id", "auto-submitted",
        "x-auto-response-suppress", "mime-version", "content-type",
    }  # fmt: skip
    assert len(render_html(report).encode()) <= MAX_HTML_BYTES


def test_without_system_fonts_the_pdf_uses_reportlabs_own_and_keeps_the_figures(monkeypatch):
    """On a host with no DejaVu (Azure), Vera from reportlab draws it: same figures, arrows kept."""
    import shared.render.email_pdf as email_pdf

    monkeypatch.setattr(email_pdf, "_FONT_CANDIDATES", ())
    report = golden_report()
    reader = PdfReader(io.BytesIO(render_pdf(report)))
    text = "\n".join(page.extract_text() for page in reader.pages)
    assert numbers(text) == numbers(visible_text(render_html(report)))
    fonts = {
        str(font.get_object()["/BaseFont"])
        for page in reader.pages
        for font in page["/Resources"]["/Font"].values()
    }
    assert any("Vera" in f for f in fonts)
    assert "/ZapfDingbats" in fonts  # the arrows Vera lacks
