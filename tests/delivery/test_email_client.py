"""Specs for SmtpEmail against a real SMTP server on the loopback (aiosmtpd)."""

from __future__ import annotations

import pytest

from devtools.smtp_standin import SmtpStandIn
from shared.addresses import fingerprint, parse_mailboxes
from shared.delivery.email_client import SmtpEmail
from shared.email_settings import SmtpSecurity
from shared.errors import EmailError
from shared.pipeline import render_report_email
from tests.azurite import free_port
from tests.email_fixtures import SMTP_PASSWORD, SMTP_USERNAME, Tls, email_settings, parts
from tests.render.reports import golden_report

NO_WAIT: list[float] = []


def mail_of(email: SmtpEmail):
    """The golden report's email for this transport's recipients (rendered by the caller)."""
    return render_report_email(
        golden_report(), settings=email.settings, recipients=email.recipients
    )


def client(settings, tls: Tls | None = None, **kw) -> SmtpEmail:
    waits: list[float] = kw.pop("waits", NO_WAIT)
    return SmtpEmail(settings, ssl_context=tls.client if tls else None, sleep=waits.append, **kw)


def test_the_report_reaches_every_recipient_once_over_plain_smtp(smtp: SmtpStandIn):
    """One message, sender and all three recipients in the envelope, parts intact."""
    email = client(email_settings(smtp.port))
    email.post(mail_of(email))
    [received] = smtp.received
    assert received.mail_from == "reports@acme.test"
    assert received.rcpt_tos == ("ana@example.com", "tokyo@example.com", "bo@example.com")
    message = received.message()
    assert set(parts(message)) == {"text/plain", "text/html"}
    assert message["Subject"].startswith("Acme weekly report, 16 Nov - 22 Nov 2026")


@pytest.mark.parametrize(
    ("security", "implicit"),
    [(SmtpSecurity.STARTTLS, False), (SmtpSecurity.TLS, True)],
    ids=["starttls", "implicit-tls"],
)
def test_tls_and_login_are_used_as_configured(tls: Tls, security, implicit):
    """STARTTLS (587) or TLS from the first byte (465), then AUTH with the configured login."""
    with SmtpStandIn(
        tls=tls.server, implicit_tls=implicit, username=SMTP_USERNAME, password=SMTP_PASSWORD
    ) as server:
        email = client(email_settings(server.port, security, login=True, pdf=True), tls)
        email.post(mail_of(email))
        [received] = server.received
    assert received.tls
    assert received.authenticated_as == SMTP_USERNAME
    assert "application/pdf" in parts(received.message())


def test_an_untrusted_certificate_is_refused(tls: Tls):
    """TLS verifies the server: a certificate nobody vouches for fails, nothing is sent."""
    with SmtpStandIn(tls=tls.server) as server:
        email = SmtpEmail(email_settings(server.port, SmtpSecurity.STARTTLS), sleep=NO_WAIT.append)
        with pytest.raises(EmailError, match="TLS failed"):
            email.post(mail_of(email))
        assert server.received == []


def test_a_wrong_password_is_refused_without_showing_it(tls: Tls):
    """535: the error says to check the settings and never holds the password."""
    with SmtpStandIn(tls=tls.server, username=SMTP_USERNAME, password="the-right-one") as server:
        email = client(email_settings(server.port, SmtpSecurity.STARTTLS, login=True), tls)
        with pytest.raises(EmailError) as raised:
            email.post(mail_of(email))
    assert "login refused: check SMTP_USERNAME and SMTP_PASSWORD" in str(raised.value)
    assert SMTP_PASSWORD not in repr(raised.value.__dict__) + str(raised.value)
    assert raised.value.__context__ is None
    assert not raised.value.maybe_posted


def test_a_refused_recipient_is_named_and_the_others_get_the_report(smtp: SmtpStandIn):
    """550 for one address: the others receive it; the error names the refused address."""
    smtp.refuse.add("tokyo@example.com")
    email = client(email_settings(smtp.port))
    with pytest.raises(EmailError) as raised:
        email.post(mail_of(email))
    assert raised.value.maybe_posted  # never sent again to the two who have it
    assert raised.value.refused == (
        "tokyo@example.com (550 5.1.1 <tokyo@example.com>: recipient unknown)",
    )
    assert "tokyo@example.com" in str(raised.value)
    [received] = smtp.received
    assert received.rcpt_tos == ("ana@example.com", "bo@example.com")


def test_when_every_recipient_is_refused_nothing_is_sent(smtp: SmtpStandIn):
    """All refused: an error listing each address, nothing delivered, safe to retry."""
    smtp.refuse.update({"ana@example.com", "tokyo@example.com", "bo@example.com"})
    email = client(email_settings(smtp.port))
    with pytest.raises(EmailError, match="every recipient was refused") as raised:
        email.post(mail_of(email))
    assert len(raised.value.refused) == 3
    assert not raised.value.maybe_posted
    assert smtp.received == []


def test_a_temporary_failure_is_retried_and_delivered_once(smtp: SmtpStandIn):
    """451 on the data: nothing was taken, so the next attempt sends it, exactly once."""
    smtp.fail_next("451 4.3.0 try again later", times=1)
    waits: list[float] = []
    email = client(email_settings(smtp.port), waits=waits)
    email.post(mail_of(email))
    assert len(smtp.received) == 1
    assert waits == [2.0]


def test_a_permanent_failure_is_not_retried(smtp: SmtpStandIn):
    """554 on the data: raised at once, marked as not delivered."""
    smtp.fail_next("554 5.7.1 rejected as spam", times=3)
    email = client(email_settings(smtp.port))
    with pytest.raises(EmailError, match="554") as raised:
        email.post(mail_of(email))
    assert not raised.value.maybe_posted
    assert smtp.received == []


def test_a_connection_lost_after_the_data_may_have_delivered_it(smtp: SmtpStandIn):
    """Dropped after DATA: maybe delivered, so it is not retried (no second copy)."""
    smtp.drop_next()
    email = client(email_settings(smtp.port))
    with pytest.raises(EmailError, match="may or may not have been delivered") as raised:
        email.post(mail_of(email))
    assert raised.value.maybe_posted
    assert len(smtp.dropped) == 1
    assert smtp.received == []


def test_an_unreachable_server_is_tried_three_times_then_named():
    """Connection refused: nothing sent, retried with backoff, the error names host:port."""
    port = free_port()
    waits: list[float] = []
    email = client(email_settings(port), waits=waits)
    with pytest.raises(EmailError, match=f"could not reach the mail server 127.0.0.1:{port}"):
        email.post(mail_of(email))
    assert waits == [2.0, 4.0]


def test_the_destination_is_a_hash_of_the_sorted_recipients():
    """Order and names do not matter; the list does; no address shows in the fingerprint."""
    a = client(email_settings(25, recipients="Ana <ana@example.com>, bo@example.com"))
    b = client(email_settings(25, recipients="bo@example.com, ana@example.com"))
    c = client(email_settings(25, recipients="ana@example.com"))
    assert a.destination == b.destination != c.destination
    assert a.destination == fingerprint(parse_mailboxes("ana@example.com, bo@example.com"))
    assert "example" not in a.destination


def test_a_report_may_name_its_own_recipients():
    """recipients= overrides EMAIL_TO (the per-report lists of the reports config)."""
    mine = parse_mailboxes("cfo@example.com")
    email = client(email_settings(25), recipients=mine)
    assert email.recipients == mine
    with pytest.raises(ValueError, match="at least one recipient"):
        client(email_settings(25), recipients=())
