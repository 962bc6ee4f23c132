"""The email part of `make demo`: out/email.eml, out/email.html (and .pdf), sent to a stand-in.

With email settings in .env (SMTP_HOST, SMTP_SENDER, EMAIL_TO) the message is built for them,
and sent only with --post; otherwise it is addressed to a sample list and handed to a real SMTP
server on the loopback (devtools/smtp_standin.py), which shows that a server accepts it.
"""

from __future__ import annotations

from dataclasses import replace
from email.headerregistry import Address
from pathlib import Path

from devtools.smtp_standin import SmtpStandIn
from shared.addresses import parse_mailbox, parse_mailboxes
from shared.delivery.email_client import SmtpEmail
from shared.email_settings import EmailSettings, SmtpSecurity
from shared.pipeline import render_report_email
from shared.render.email_message import MAIL_POLICY, render_html
from shared.render.email_pdf import render_pdf
from shared.report.generator import Report

SAMPLE_SENDER = "Analytics Reports <reports@example.com>"
SAMPLE_TO = "Ana Lima <ana@example.com>, Leadership <leadership@example.com>"


def email_demo(
    report: Report,
    settings: EmailSettings | None,
    *,
    out: Path,
    post: bool,
    stem: str = "email",
    recipients: tuple[Address, ...] = (),
) -> list[str]:
    """Write the email files under `out` (`stem`.eml, .html, .pdf) and send it as described
    above; lines to print. `recipients`: a [[report]]'s email_to instead of EMAIL_TO."""
    standin: SmtpStandIn | None = None
    if settings is not None and recipients:
        settings = replace(settings, recipients=recipients)
    if settings is None or not settings.recipients:
        standin = SmtpStandIn()
        standin.start()
        settings = EmailSettings(
            smtp_host=standin.host,
            smtp_port=standin.port,
            security=SmtpSecurity.NONE,
            sender=parse_mailbox(SAMPLE_SENDER),
            recipients=recipients or parse_mailboxes(SAMPLE_TO),
            pdf=True,
        )
    try:
        poster = SmtpEmail(settings)
        message = render_report_email(report, settings=settings, recipients=poster.recipients)
        out.mkdir(exist_ok=True)
        eml, html, pdf = (out / f"{stem}.{ext}" for ext in ("eml", "html", "pdf"))
        eml.write_bytes(message.as_bytes(policy=MAIL_POLICY))
        html.write_text(render_html(report), encoding="utf-8")
        pdf.write_bytes(render_pdf(report))
        lines = [
            f"Email: {eml} (open it in a mail client), {html}, {pdf}",
            f"  Subject: {message['Subject']}",
            f"  To: {message['To']}",
        ]
        if standin is not None:
            poster.post(message)
            got = standin.wait_for(1)
            lines.append(
                f"  A real SMTP server on the loopback accepted it for {len(got[0].rcpt_tos)} "
                "recipients."
            )
        elif post:
            poster.post(message)
            lines.append(f"  Sent through {settings.smtp_host}:{settings.smtp_port}.")
        else:
            lines.append("  Not sent (add ARGS=--post to send it with the SMTP settings in .env).")
        return lines
    finally:
        if standin is not None:
            standin.stop()
