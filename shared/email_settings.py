"""The email settings (SMTP_* and EMAIL_*), read from the same mapping as every other setting."""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Mapping
from dataclasses import dataclass
from email.headerregistry import Address
from enum import StrEnum

from shared.addresses import (
    CONTROL,
    HOST_NAME,
    AddressError,
    parse_mailbox,
    parse_mailboxes,
)
from shared.secret import Secret

_PORT = re.compile(r"[0-9]{1,5}")
DEFAULT_PORTS = {"starttls": 587, "tls": 465, "none": 25}


class SmtpSecurity(StrEnum):
    """How the connection to the mail server is protected."""

    STARTTLS = "starttls"  # plain connect, then STARTTLS before anything else (port 587)
    TLS = "tls"  # TLS from the first byte, "implicit TLS" (port 465)
    NONE = "none"  # no encryption: only for a relay on the same host or network


@dataclass(frozen=True, slots=True)
class EmailSettings:
    """Where and how report emails are sent; `recipients` is EMAIL_TO (may be empty)."""

    smtp_host: str
    smtp_port: int
    security: SmtpSecurity
    sender: Address
    username: str | None = None
    password: Secret | None = None
    recipients: tuple[Address, ...] = ()
    pdf: bool = False
    timeout: float = 30.0


def parse_email_settings(env: Mapping[str, str], problems: list[str]) -> EmailSettings | None:
    """EmailSettings when SMTP_HOST or EMAIL_TO is set, else None; appends every problem."""
    host = env.get("SMTP_HOST", "")
    to = env.get("EMAIL_TO", "")
    if not host and not to:
        for name in ("SMTP_SENDER", "SMTP_USERNAME", "SMTP_PASSWORD", "EMAIL_PDF"):
            if env.get(name):
                problems.append(f"{name} is set but SMTP_HOST is not")
        return None
    before = len(problems)
    if not host:
        problems.append("SMTP_HOST is required when EMAIL_TO is set")
    elif CONTROL.search(host) or not _host_ok(host):
        problems.append(f"SMTP_HOST must be a host name or IP address, got {host[:80]!r}")
    raw_security = env.get("SMTP_SECURITY", "") or "starttls"
    try:
        security = SmtpSecurity(raw_security.lower())
    except ValueError:
        problems.append(
            f"SMTP_SECURITY must be one of starttls, tls, none, got {raw_security[:40]!r}"
        )
        security = SmtpSecurity.STARTTLS
    port = DEFAULT_PORTS[security]
    if env.get("SMTP_PORT"):
        raw = env["SMTP_PORT"]
        if _PORT.fullmatch(raw) and 0 < int(raw) < 65536:  # ASCII: isdigit() accepts '²'
            port = int(raw)
        else:
            problems.append(f"SMTP_PORT must be a port number from 1 to 65535, got {raw[:20]!r}")
    sender = Address(addr_spec="nobody@invalid")
    if not env.get("SMTP_SENDER"):
        problems.append("SMTP_SENDER is required when SMTP_HOST is set (e.g. Reports <r@acme.com>)")
    else:
        try:
            sender = parse_mailbox(env["SMTP_SENDER"])
        except AddressError as exc:
            problems.append(f"SMTP_SENDER {exc}")
    recipients: tuple[Address, ...] = ()
    if to:
        try:
            recipients = parse_mailboxes(to)
        except AddressError as exc:
            problems.append(f"EMAIL_TO {exc}")
    username = env.get("SMTP_USERNAME") or None
    password = Secret(env["SMTP_PASSWORD"]) if env.get("SMTP_PASSWORD") else None
    if username and CONTROL.search(username):
        problems.append("SMTP_USERNAME contains a control character")
    if (username is None) != (password is None):
        problems.append("SMTP_USERNAME and SMTP_PASSWORD go together: set both or neither")
    if password is not None and security is SmtpSecurity.NONE and not _loopback(host):
        problems.append(
            "SMTP_PASSWORD needs SMTP_SECURITY starttls or tls: a password is never sent in clear"
        )
    pdf = False
    if env.get("EMAIL_PDF"):
        raw = env["EMAIL_PDF"].lower()
        if raw not in {"true", "false", "1", "0", "yes", "no"}:
            problems.append(f"EMAIL_PDF must be true or false, got {env['EMAIL_PDF'][:20]!r}")
        pdf = raw in {"true", "1", "yes"}
    if len(problems) > before:
        return None
    return EmailSettings(
        smtp_host=host,
        smtp_port=port,
        security=security,
        sender=sender,
        username=username,
        password=password,
        recipients=recipients,
        pdf=pdf,
    )


def _host_ok(host: str) -> bool:
    return bool(HOST_NAME.fullmatch(host)) or _is_ip(host.strip("[]"))


def _is_ip(host: str) -> bool:
    try:
        ipaddress.ip_address(host)
    except ValueError:
        return False
    return True


def _loopback(host: str) -> bool:
    if host.lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False
