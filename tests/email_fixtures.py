"""Shared pieces of the email tests: a loopback certificate, settings and number extraction."""

from __future__ import annotations

import re
import shutil
import ssl
import subprocess
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from email.message import EmailMessage
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import pytest

from devtools.smtp_standin import SmtpStandIn
from shared.addresses import parse_mailbox, parse_mailboxes
from shared.email_settings import EmailSettings, SmtpSecurity
from shared.settings import Secret

SMTP_PASSWORD = "SMTPPASSWORD-e2e-5d3a"  # recognisable: tests/test_secrets.py scans for it
SMTP_USERNAME = "reports@acme.test"
SENDER = "Acme Reports <reports@acme.test>"
RECIPIENTS = "Ána Lima <ana@example.com>, 東京 チーム <tokyo@example.com>, bo@example.com"
# Figures as the renderers write them: 1,234 / 12,345 / 23% / 09:00 / 2026 ...
NUMBER = re.compile(r"\d[\d,]*(?:\.\d+)?[KM%]?")


@dataclass(frozen=True)
class Tls:
    """A self-signed loopback certificate: the server's context and a client that trusts it."""

    server: ssl.SSLContext
    client: ssl.SSLContext


@pytest.fixture(scope="session")
def tls(tmp_path_factory: pytest.TempPathFactory) -> Tls:
    """A certificate for localhost/127.0.0.1 made by openssl (skips if openssl is missing)."""
    openssl = shutil.which("openssl")
    if openssl is None:
        pytest.skip("openssl is not installed, so no loopback TLS certificate can be made")
    where = tmp_path_factory.mktemp("tls")
    cert, key = where / "cert.pem", where / "key.pem"
    subprocess.run(  # noqa: S603 - fixed argv
        [
            openssl, "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2",
            "-keyout", str(key), "-out", str(cert), "-subj", "/CN=localhost",
            "-addext", "subjectAltName=DNS:localhost,IP:127.0.0.1",
        ],
        check=True,
        capture_output=True,
    )  # fmt: skip
    server = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    server.load_cert_chain(cert, key)
    return Tls(server, ssl.create_default_context(cafile=str(cert)))


def email_settings(
    port: int,
    security: SmtpSecurity = SmtpSecurity.NONE,
    *,
    login: bool = False,
    pdf: bool = False,
    recipients: str = RECIPIENTS,
    password: str = SMTP_PASSWORD,
) -> EmailSettings:
    """Settings pointing at a stand-in on 127.0.0.1:`port`."""
    return EmailSettings(
        smtp_host="127.0.0.1",
        smtp_port=port,
        security=security,
        sender=parse_mailbox(SENDER),
        username=SMTP_USERNAME if login else None,
        password=Secret(password) if login else None,
        recipients=parse_mailboxes(recipients),
        pdf=pdf,
        timeout=5.0,
    )


@pytest.fixture
def smtp() -> Iterator[SmtpStandIn]:
    """A plain SMTP stand-in (no TLS, no login)."""
    with SmtpStandIn() as server:
        yield server


class _Text(HTMLParser):
    """The text a reader sees: no tags, no <title>, entities decoded."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []
        self._skip = 0

    def handle_starttag(self, tag: str, attrs: Any) -> None:
        if tag in {"title", "style", "script"}:
            self._skip += 1
        if tag in {"tr", "p", "div", "h1", "br"}:
            self.parts.append("\n")

    def handle_endtag(self, tag: str) -> None:
        if tag in {"title", "style", "script"}:
            self._skip -= 1

    def handle_data(self, data: str) -> None:
        if not self._skip:
            self.parts.append(data)


def visible_text(document: str) -> str:
    """The visible text of an HTML document."""
    parser = _Text()
    parser.feed(document)
    return " ".join("".join(parser.parts).split(" "))


def numbers(text: str) -> Counter[str]:
    """Every figure in `text`, with how often it appears."""
    return Counter(NUMBER.findall(text))


def slack_visible(payload: dict[str, Any]) -> str:
    """What Slack shows of a payload's blocks: mrkdwn links as their text, entities decoded."""
    found: list[str] = []

    def walk(value: object) -> None:
        if isinstance(value, list):
            for item in value:
                walk(item)
        elif isinstance(value, dict):
            for key, item in value.items():
                if key == "text" and isinstance(item, str):
                    found.append(item)
                else:
                    walk(item)

    walk(payload["blocks"])
    text = "\n".join(found)
    text = re.sub(r"<(https?://[^|>]+)\|([^>]*)>", r"\2", text)
    return text.replace("&lt;", "<").replace("&gt;", ">").replace("&amp;", "&")


def parts(message: EmailMessage) -> dict[str, Any]:
    """The text, HTML and PDF parts of a report email, by content type."""
    found: dict[str, Any] = {}
    for part in message.walk():
        if part.is_multipart():
            continue
        found[part.get_content_type()] = part.get_content()
    return found


def read_out(path: Path) -> str:
    """A file under out/, for messages in assertion failures."""
    return path.read_text(encoding="utf-8") if path.exists() else ""
