"""Email addresses from configuration: parsed, validated and fingerprinted; pure, no I/O.

Anything that goes into a mail header must be one line: a control character (a newline above
all) in a configured name or address is refused, never cleaned up, because it is either a
typo or an attempt to add headers (Bcc:) of its own.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterable, Sequence
from email.headerregistry import Address
from email.policy import default

from shared.text_rules import named_format_characters

MAX_RECIPIENTS = 50
MAX_ADDRESS_CHARS = 254  # RFC 5321's limit on a forward path
MAX_DISPLAY_NAME_CHARS = 100
# Control characters (C0, DEL, C1) and the Unicode line and paragraph separators.
CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f\u2028\u2029]")
# A dot-atom local part and a host name: plain ASCII, so no server needs SMTPUTF8.
_LOCAL = re.compile(r"[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+(\.[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+)*")
HOST_NAME = re.compile(
    r"[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?(\.[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?)*"
)


class AddressError(ValueError):
    """A configured address or list of addresses breaks a rule; the text says which."""


def parse_mailbox(text: str) -> Address:
    """One address, 'Ana Lima <ana@example.com>' or 'ana@example.com'; AddressError if not."""
    [address] = _parse(text, limit=1)
    return address


def parse_mailboxes(text: str) -> tuple[Address, ...]:
    """A comma-separated list of 1 to MAX_RECIPIENTS addresses, without repeats."""
    return _parse(text, limit=MAX_RECIPIENTS)


def parse_recipient_list(
    items: Sequence[str], where: str, problems: list[str]
) -> tuple[Address, ...]:
    """A list of 1 to MAX_RECIPIENTS addresses, one per item, without repeats (a [[report]]'s
    email_to): the rules of EMAIL_TO; every broken rule appended to `problems`, `where` first."""
    before = len(problems)
    if not items:
        problems.append(f"{where} holds no address")
    if len(items) > MAX_RECIPIENTS:
        problems.append(f"{where} holds {len(items)} addresses; at most {MAX_RECIPIENTS} allowed")
    seen: set[str] = set()
    checked: list[Address] = []
    for index, item in enumerate(items, start=1):
        try:
            address = parse_mailbox(item)
        except AddressError as exc:
            problems.append(f"{where} item {index} {exc}")
            continue
        folded = address.addr_spec.lower()
        if folded in seen:
            problems.append(f"{where} lists {address.addr_spec} twice")
        seen.add(folded)
        checked.append(address)
    return tuple(checked) if checked and len(problems) == before else ()


def _parse(text: str, *, limit: int) -> tuple[Address, ...]:
    if CONTROL.search(text):
        raise AddressError("contains a control character (a newline?); header injection refused")
    try:
        header = default.header_factory("To", text)
    except ValueError:  # an RFC 2047 encoded word that decodes to CR or LF, among others
        raise AddressError(
            "contains a control character (a newline?) once decoded; header injection refused"
        ) from None
    if header.defects:
        raise AddressError(f"is not a list of addresses like Ana <ana@example.com> ({text[:80]!r})")
    addresses = [a for group in header.groups for a in group.addresses]
    if not addresses:
        raise AddressError("holds no address")
    if len(addresses) > limit:
        raise AddressError(
            f"holds {len(addresses)} addresses; at most {limit} allowed"
            if limit > 1
            else "must be a single address"
        )
    seen: set[str] = set()
    checked: list[Address] = []
    for address in addresses:
        checked.append(check_mailbox(address.display_name, address.addr_spec))
        folded = address.addr_spec.lower()
        if folded in seen:
            raise AddressError(f"lists {address.addr_spec} twice")
        seen.add(folded)
    return tuple(checked)


def check_mailbox(display_name: str, addr_spec: str) -> Address:
    """An Address after checking both parts (ASCII addr-spec, one-line name of sane length)."""
    if CONTROL.search(display_name) or CONTROL.search(addr_spec):
        raise AddressError("contains a control character (a newline?); header injection refused")
    if found := named_format_characters(display_name + addr_spec):  # e.g. hidden in an encoded word
        raise AddressError(f"contains an invisible Unicode format character ({found})")
    if len(display_name) > MAX_DISPLAY_NAME_CHARS:
        raise AddressError(f"has a name longer than {MAX_DISPLAY_NAME_CHARS} characters")
    if len(addr_spec) > MAX_ADDRESS_CHARS:
        raise AddressError(f"has an address longer than {MAX_ADDRESS_CHARS} characters")
    local, at, domain = addr_spec.rpartition("@")
    if not at or not _LOCAL.fullmatch(local) or not HOST_NAME.fullmatch(domain):
        raise AddressError(f"{addr_spec!r} is not an address like ana@example.com")
    return Address(display_name=display_name.strip(), username=local, domain=domain)


def fingerprint(addresses: Iterable[Address]) -> str:
    """'email-' and a short hash of the sorted, lower-cased addresses: the ledger destination.

    Names do not count: renaming a recipient must not send a window's report again.
    """
    specs = sorted({a.addr_spec.lower() for a in addresses})
    return "email-" + hashlib.sha256("\n".join(specs).encode()).hexdigest()[:12]
