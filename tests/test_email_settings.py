"""The email settings: SMTP_* and EMAIL_* read with the rest, every problem at once, no secret."""

from __future__ import annotations

import base64

import pytest

from shared.addresses import AddressError, parse_mailbox, parse_mailboxes
from shared.email_settings import SmtpSecurity
from shared.errors import ConfigError
from shared.settings import Secret, Settings

PASSWORD = "SMTPPW-settings-91f2"
BASE = {
    "MIXPANEL_USERNAME": "svc",
    "MIXPANEL_SECRET": "s",
    "MIXPANEL_PROJECT_ID": "1",
    "SLACK_WEBHOOK_URL": "https://example.com/hook",
}
EMAIL = {
    "SMTP_HOST": "smtp.example.com",
    "SMTP_SENDER": "Acme Reports <reports@acme.test>",
    "SMTP_USERNAME": "reports@acme.test",
    "SMTP_PASSWORD": PASSWORD,
    "EMAIL_TO": "Ána Lima <ana@example.com>, bo@example.com",
}


def problems(**env: str) -> list[str]:
    with pytest.raises(ConfigError) as raised:
        Settings.from_env({**BASE, **env})
    return raised.value.problems


def test_without_smtp_host_or_email_to_there_is_no_email():
    """Email is optional: the four Slack/Mixpanel settings alone give email=None."""
    assert Settings.from_env(BASE).email is None


def test_a_full_email_configuration_is_parsed_into_types():
    """Host, port by security (587 for STARTTLS), sender, login, a Secret, recipients, PDF."""
    email = Settings.from_env({**BASE, **EMAIL, "EMAIL_PDF": "true"}).email
    assert email is not None
    assert (email.smtp_host, email.smtp_port, email.security) == (
        "smtp.example.com",
        587,
        SmtpSecurity.STARTTLS,
    )
    assert email.sender == parse_mailbox("Acme Reports <reports@acme.test>")
    assert email.password == Secret(PASSWORD)
    assert [a.display_name for a in email.recipients] == ["Ána Lima", ""]
    assert email.pdf is True


@pytest.mark.parametrize(
    ("security", "port"), [("starttls", 587), ("tls", 465), ("TLS", 465)], ids=str
)
def test_the_port_defaults_by_security(security: str, port: int):
    """starttls: 587, tls (implicit): 465, unless SMTP_PORT says otherwise."""
    email = Settings.from_env({**BASE, **EMAIL, "SMTP_SECURITY": security}).email
    assert email is not None
    assert email.smtp_port == port
    other = Settings.from_env({**BASE, **EMAIL, "SMTP_SECURITY": security, "SMTP_PORT": "2525"})
    assert other.email is not None
    assert other.email.smtp_port == 2525


def test_every_email_problem_is_reported_at_once_without_the_password():
    """One ConfigError naming each bad variable; the password appears nowhere."""
    found = problems(
        EMAIL_TO="ana@example.com\r\nBcc: evil@example.com",
        SMTP_PASSWORD=PASSWORD,
        SMTP_SECURITY="ssl3",
        SMTP_PORT="70000",
        EMAIL_PDF="maybe",
    )
    text = "; ".join(found)
    assert "SMTP_HOST is required when EMAIL_TO is set" in text
    assert "SMTP_SECURITY must be one of starttls, tls, none" in text
    assert "SMTP_PORT must be a port number from 1 to 65535" in text
    assert "SMTP_SENDER is required" in text
    assert "EMAIL_TO contains a control character (a newline?); header injection refused" in text
    assert "SMTP_USERNAME and SMTP_PASSWORD go together" in text
    assert "EMAIL_PDF must be true or false" in text
    assert PASSWORD not in text


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("SMTP_SENDER", "Reports\n<reports@acme.test>"),
        ("SMTP_SENDER", "Reports <reports@acme.test>\rBcc: x@example.com"),
        ("EMAIL_TO", "Ana <ana@example.com>\nBcc: evil@example.com"),
        ("EMAIL_TO", "Ana\x00 <ana@example.com>"),
        ("SMTP_HOST", "smtp.example.com\r\nRCPT TO:<x@y.z>"),
    ],
    ids=["sender-lf", "sender-cr-bcc", "to-lf-bcc", "to-nul", "host-crlf"],
)
def test_a_control_character_in_a_configured_name_or_address_is_refused(name: str, value: str):
    """Header (and SMTP command) injection from configuration: a config error naming it."""
    found = problems(**{**EMAIL, name: value})
    assert any(p.startswith(name) for p in found)


def test_a_password_is_never_sent_in_clear_to_a_remote_server():
    """SMTP_SECURITY=none with a login is refused, except to a relay on the same host."""
    assert any("never sent in clear" in p for p in problems(**EMAIL, SMTP_SECURITY="none"))
    local = Settings.from_env({**BASE, **EMAIL, "SMTP_SECURITY": "none", "SMTP_HOST": "127.0.0.1"})
    assert local.email is not None


def test_the_password_never_shows_in_the_settings_repr():
    """EmailSettings holds the password as a Secret."""
    settings = Settings.from_env({**BASE, **EMAIL})
    assert PASSWORD not in repr(settings)
    assert PASSWORD not in str(settings.email)


@pytest.mark.parametrize(
    ("text", "rule"),
    [
        ("ana@example.com, ANA@example.com", "twice"),
        ("ana", "is not a list of addresses"),
        ("ana@exa mple.com", "is not"),
        ("ana@[127.0.0.1]", "is not an address"),
        ("ána@example.com", "is not"),
        (", ".join(f"u{i}@example.com" for i in range(51)), "at most 50"),
        ("A" * 101 + " <a@example.com>", "name longer than 100"),
    ],
    ids=["repeat", "no-domain", "space", "literal", "non-ascii-local", "51", "long-name"],
)
def test_recipient_lists_follow_the_rules(text: str, rule: str):
    """1-50 distinct plain addresses with one-line names of at most 100 characters."""
    with pytest.raises(AddressError, match=rule):
        parse_mailboxes(text)


def test_quoted_names_with_commas_and_unicode_are_kept():
    """'"Lima, Ana" <ana@example.com>' is one recipient; Unicode names are fine."""
    [one, two] = parse_mailboxes('"Lima, Ana" <ana@example.com>, 東京 チーム <tokyo@example.com>')
    assert (one.display_name, one.addr_spec) == ("Lima, Ana", "ana@example.com")
    assert two.display_name == "東京 チーム"


def test_variables_without_smtp_host_are_flagged():
    """SMTP_PASSWORD alone does nothing silently: it is reported."""
    assert problems(SMTP_PASSWORD=PASSWORD) == ["SMTP_PASSWORD is set but SMTP_HOST is not"]


def _encoded(text: str) -> str:
    return "=?utf-8?b?" + base64.b64encode(text.encode()).decode() + "?="


@pytest.mark.parametrize(
    ("value", "problem"),
    [
        (
            _encoded("Ana\r\nBcc: evil@example.com") + " <ana@example.com>",
            "EMAIL_TO contains a control character (a newline?) once decoded; "
            "header injection refused",
        ),
        (
            _encoded("Ana\u202e") + " <ana@example.com>",
            "EMAIL_TO contains an invisible Unicode format character "
            "(U+202E RIGHT-TO-LEFT OVERRIDE)",
        ),
    ],
    ids=["encoded-crlf", "encoded-rtl-override"],
)
def test_an_rfc2047_encoded_name_hiding_crlf_or_format_characters_is_a_config_error(
    value: str, problem: str
):
    """=?utf-8?b?...?= decoding to CR/LF was a ValueError (every CustomReport a 500): now named."""
    assert problems(**{**EMAIL, "EMAIL_TO": value}) == [problem]


@pytest.mark.parametrize("port", ["²", "٣٣", "5 87", "+587", "0", "65536"], ids=repr)
def test_smtp_port_is_ascii_digits_from_1_to_65535(port: str):
    """str.isdigit() accepts '²' (and int() then fails): only ASCII digits in range pass."""
    assert problems(**{**EMAIL, "SMTP_PORT": port}) == [
        f"SMTP_PORT must be a port number from 1 to 65535, got {port!r}"
    ]
