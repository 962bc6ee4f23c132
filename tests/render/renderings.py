"""Every rendering of one report, as the reader gets it, for specs that hold for all of them."""

from __future__ import annotations

import io
import json
from email import message_from_bytes
from email.message import EmailMessage
from email.policy import default

from pypdf import PdfReader

from shared.addresses import fingerprint, parse_mailbox, parse_mailboxes
from shared.render.email_message import MAIL_POLICY, render_email
from shared.render.email_pdf import render_pdf
from shared.render.html_preview import render_html
from shared.render.report_json import report_to_json
from shared.render.slack import render_message
from shared.render.text import render_text
from shared.report.generator import Report
from tests.email_fixtures import RECIPIENTS, SENDER


def pdf_lines(pdf: bytes) -> list[str]:
    """Every line of text in the PDF, as pypdf reads it back."""
    reader = PdfReader(io.BytesIO(pdf))
    return [line for page in reader.pages for line in page.extract_text().splitlines()]


def every_rendering(report: Report) -> dict[str, str]:
    """Slack payload (JSON, strict), terminal text, HTML preview, email subject, text and HTML
    parts (parsed back as a client gets them), PDF text, and the report JSON (strict)."""
    to = parse_mailboxes(RECIPIENTS)
    pdf = render_pdf(report)
    email = render_email(
        report, sender=parse_mailbox(SENDER), recipients=to, destination=fingerprint(to), pdf=pdf
    )
    parsed = message_from_bytes(email.as_bytes(policy=MAIL_POLICY), policy=default)
    assert isinstance(parsed, EmailMessage)
    found = {p.get_content_type(): p.get_content() for p in parsed.walk() if not p.is_multipart()}
    message = render_message(report)
    return {
        "slack": json.dumps(message.payload(), ensure_ascii=False, allow_nan=False),
        "text": render_text(report),
        "html preview": render_html(message),
        "email subject": str(parsed["Subject"]),
        "email text": found["text/plain"],
        "email html": found["text/html"],
        "pdf": "\n".join(pdf_lines(pdf)),
        "json": json.dumps(report_to_json(report), ensure_ascii=False, allow_nan=False),
    }
