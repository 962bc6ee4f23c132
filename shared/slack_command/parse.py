"""What a slash command says: Slack's form body and the words after /analytics; pure.

The words reuse CustomReport's rules (shared/web/custom_request.py): a period word, a
[[report]] name or two dates become CustomReport parameters and go through the same parser,
so `/analytics 2026-11-01 2026-11-22` and `from_date=2026-11-01&to_date=2026-11-22` cover
the same window or fail with the same rule.
"""

from __future__ import annotations

import difflib
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date
from urllib.parse import parse_qsl, urlsplit

from shared.errors import InvalidRequest
from shared.schedule.periods import PeriodKind, ReportPeriod
from shared.settings import Secret
from shared.web.custom_request import PERIODS, parse_custom_request

MAX_BODY_BYTES = 16 * 1024  # Slack's command bodies are a few hundred bytes
MAX_TEXT_CHARS = 500
MAX_SHOWN_CHARS = 40
REQUIRED_FIELDS = ("team_id", "channel_id", "user_id", "command", "response_url")
SHARE_WORD = "share"
KEYWORDS = ("help", "status", SHARE_WORD)
# Where a response_url may point: Slack's hooks host, or a loopback stand-in (tests, demo).
SLACK_HOOK_HOSTS = ("hooks.slack.com", "hooks.slack-gov.com")
LOOPBACK_HOSTS = ("127.0.0.1", "localhost")
# What CustomReport calls a parameter, as the words of a command read.
_FIELD_WORDS = {
    "from_date": "the first date",
    "to_date": "the second date",
}


class BadForm(ValueError):
    """The signed body is not a slash command Slack would send (a bug or a foreign caller)."""


@dataclass(frozen=True, slots=True)
class CommandForm:
    """The fields of Slack's slash command request this app reads."""

    team_id: str
    channel_id: str
    user_id: str
    command: str
    text: str
    response_url: Secret

    @property
    def identity(self) -> str:
        """The command's identity: the same for Slack's retries and replays of one command."""
        return self.response_url.fingerprint()


@dataclass(frozen=True, slots=True)
class Help:
    """`/analytics help` (or nothing after the command)."""


@dataclass(frozen=True, slots=True)
class Status:
    """`/analytics status`: what was delivered in the last days, and what failed."""


@dataclass(frozen=True, slots=True)
class ReportAsk:
    """A report, for a period or date range, answered privately unless `share`."""

    period: ReportPeriod
    report: str | None
    share: bool


@dataclass(frozen=True, slots=True)
class NotUnderstood:
    """Words the command does not take, and why (one line, safe to show the asker)."""

    reason: str


Command = Help | Status | ReportAsk | NotUnderstood


def parse_form(body: bytes) -> CommandForm:
    """The command fields of a form body; BadForm when a field is missing, repeated or odd."""
    if len(body) > MAX_BODY_BYTES:
        raise BadForm(f"body larger than {MAX_BODY_BYTES} bytes")
    try:
        text = body.decode("utf-8")
        pairs = parse_qsl(text, keep_blank_values=True, errors="strict")
    except (UnicodeDecodeError, ValueError):
        raise BadForm("body is not a UTF-8 form") from None
    fields: dict[str, str] = {}
    for name, value in pairs:
        if name in fields:
            raise BadForm(f"field {name[:MAX_SHOWN_CHARS]!r} given twice")
        fields[name] = value
    missing = [name for name in REQUIRED_FIELDS if not fields.get(name)]
    if missing:
        raise BadForm(f"missing {', '.join(missing)}")
    if not response_url_ok(fields["response_url"]):
        raise BadForm("response_url is not a Slack hooks URL")
    words = fields.get("text", "")
    if len(words) > MAX_TEXT_CHARS or "\x00" in words:
        raise BadForm("text too long or holds NUL")
    return CommandForm(
        team_id=fields["team_id"],
        channel_id=fields["channel_id"],
        user_id=fields["user_id"],
        command=fields["command"],
        text=words,
        response_url=Secret(fields["response_url"]),
    )


def response_url_ok(url: str) -> bool:
    """True for https on Slack's hooks host, or http(s) on the loopback (stand-ins)."""
    try:
        parts = urlsplit(url)
        host = parts.hostname or ""
        port_ok = parts.port is None or parts.port > 0
    except ValueError:
        return False
    if not port_ok or not url.isascii() or any(c.isspace() for c in url):
        return False
    if parts.scheme == "https" and host in SLACK_HOOK_HOSTS:
        return True
    return parts.scheme in {"http", "https"} and host in LOOPBACK_HOSTS


def refusal(form: CommandForm, *, team_id: str, channels: frozenset[str] | None) -> str | None:
    """A polite no for a command from outside the team or an allowed channel; None: go on."""
    if form.team_id != team_id:
        return "Sorry, this reporter only answers its own Slack workspace."
    if channels is not None and form.channel_id not in channels:
        return (
            "Sorry, reports are not available in this channel. "
            "Ask in one of the channels the reporter is set up for."
        )
    return None


def parse_command(text: str, *, today: date, reports: Mapping[str, PeriodKind]) -> Command:
    """The command the words mean, for the local date `today` (reports are its [[report]]s)."""
    words = text.split()
    lowered = [w.lower() if w.isascii() else w for w in words]
    if not words or lowered == ["help"]:
        return Help()
    if lowered == ["status"]:
        return Status()
    by_name = {name.lower(): name for name in reports}
    share = SHARE_WORD in lowered
    periods, names, others = [], [], []
    for word, low in zip(words, lowered, strict=True):
        if low == SHARE_WORD:
            continue
        if low in PERIODS:
            periods.append(low)
        elif word in reports or low in by_name:
            names.append(word if word in reports else by_name[low])
        elif low in ("help", "status"):
            return NotUnderstood(f"`{low}` goes alone: `/analytics {low}`.")
        else:
            others.append(word)
    if len(periods) > 1 or len(names) > 1:
        return NotUnderstood("Give one period or one report at a time.")
    params: dict[str, str] = {}
    if periods:
        params["period"] = periods[0]
    if names:
        params["report"] = names[0]
    if len(others) == 2:
        params["from_date"], params["to_date"] = others
    elif others:
        return NotUnderstood(_unknown(others[0], reports))
    try:
        request = parse_custom_request("GET", params, b"", today=today, reports=reports)
    except InvalidRequest as exc:
        return NotUnderstood(_in_words(exc.message))
    return ReportAsk(period=request.period, report=request.report, share=share)


def shown(word: str) -> str:
    """A word of the asker's, clipped and printable, safe inside a reply."""
    clipped = word if len(word) <= MAX_SHOWN_CHARS else word[:MAX_SHOWN_CHARS] + "…"
    return "".join(c if c.isprintable() else "?" for c in clipped).replace("`", "'")


def _unknown(word: str, reports: Mapping[str, PeriodKind]) -> str:
    vocabulary = [*PERIODS, *reports, *KEYWORDS]
    close = difflib.get_close_matches(word.lower(), vocabulary, n=3, cutoff=0.6)
    hint = f" Did you mean {', '.join(f'`{c}`' for c in close)}?" if close else ""
    return f"I don't know `{shown(word)}`.{hint} Try `/analytics help`."


def _in_words(message: str) -> str:
    for name, words in _FIELD_WORDS.items():
        message = message.replace(name, words)
    message = message[:1].upper() + message[1:]
    return message if message.endswith(".") else message + "."
