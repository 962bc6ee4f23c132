"""The words every renderer shares: untrusted-name wording, number formats, phrases; pure.

One place for how a figure, a change and a name read, whether in Slack, the terminal, the HTML
preview, the email or the PDF (the render plan, shared/render/plan.py, builds its lines here).

Untrusted names: what every renderer does to a string from event data or settings before
showing it. Event names, property values, labels and reasons reach Slack, the terminal, the
HTML preview, the email and the PDF. Anyone holding the public project token can send any event
name, so `shown` is applied once, where the plan's words are built, and every renderer inherits
it:

- control characters and line separators become spaces (one line: no forged header or row);
- Unicode format characters (category Cf: U+202E right-to-left override, zero-width spaces and
  joiners, bidi isolates, soft hyphens, tag characters) become a visible U+FFFD, so a name can
  neither reverse the figures after it nor pass for another name ('Purc\u200bhase'). A
  zero-width joiner inside an emoji sequence (👩‍💻) is kept: that is what it is for;
- URLs and host names are defanged ('https[:]//evil[.]example/x'): Slack, mail clients and PDF
  viewers turn bare URLs and domains into live links, and no event name may become one.
  Visible brackets, not invisible breaks, so the reader sees what was sent.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from datetime import UTC, datetime, tzinfo
from enum import StrEnum
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from shared.report.generator import Change, Report, Verdict
from shared.report.units import COUNT, Unit, UnitKind, format_points, format_value
from shared.schedule.periods import PeriodKind
from shared.text_rules import format_characters

HIDDEN_MARK = "\ufffd"  # shown where a format character was: visible, never invisible
_CONTROL = re.compile(r"[\x00-\x1f\x7f\u2028\u2029]+")
_PICTOGRAPH = r"[\u2600-\u27bf\U0001f000-\U0001faff\ufe0f]"
_EMOJI_JOINER = re.compile(rf"(?<={_PICTOGRAPH})\u200d(?={_PICTOGRAPH})")
_KEPT_JOINER = "\x00"  # a placeholder no shown string holds (controls are gone by then)
_SCHEME = re.compile(r"://")
# A host name: labels joined by dots, the last one alphabetic and 2+ long ('evil.example',
# 'www.x.co', 'page.view'); 'e.g.', '1.5' and 'v2.1' are not.
_HOST = re.compile(r"(?<![\w.-])[\w-]+(?:\.[\w-]+)*\.[^\W\d_]{2,}(?![\w-])")


def neutral(text: str) -> str:
    """`text` with its format characters made visible (U+FFFD), emoji joiners kept."""
    if not format_characters(text):
        return text
    kept = _EMOJI_JOINER.sub(_KEPT_JOINER, text)
    hidden = {position for position, _ in format_characters(kept)}
    shown = (HIDDEN_MARK if i in hidden else c for i, c in enumerate(kept, start=1))
    return "".join(shown).replace(_KEPT_JOINER, "\u200d")


def defang(text: str) -> str:
    """`text` with no URL or host name any client would link: '://' and host dots bracketed."""
    text = _SCHEME.sub("[:]//", text)
    return _HOST.sub(lambda m: m.group(0).replace(".", "[.]"), text)


def one_line(text: str) -> str:
    """`text` on one line with no format characters, links left as they are (our own errors)."""
    return neutral(_CONTROL.sub(" ", text))


def shown(text: str) -> str:
    """`text` as every renderer shows data: one line, no format characters, no live link."""
    return defang(one_line(text))


# --- house caps: how much of a name or a line any renderer shows ---------------------------

# With them a report of 200 metrics named by 255-character events still reads in ten seconds
# and fits every Slack limit (shared/render/blocks.py). Caps count characters before escaping.
MAX_NAME_CHARS = 80
MAX_LINE_CHARS = 300
MAX_EMOJI_CHARS = 40
MAX_TIMEZONE_CHARS = 64
MAX_URL_CHARS = 500
MAX_ERROR_CHARS = 500


def truncate(text: str, limit: int, *, suffix: str = "…") -> str:
    """`text` if it fits in `limit` characters, else cut to end in `suffix`; never longer."""
    if limit < 0:
        raise ValueError(f"limit must be >= 0, got {limit}")
    if len(text) <= limit:
        return text
    if len(suffix) >= limit:
        return suffix[:limit]
    return text[: limit - len(suffix)].rstrip() + suffix


def clean(text: str, limit: int) -> str:
    """One line of at most `limit` characters as every renderer shows data (`shown`):
    control characters become spaces, format characters a visible mark, links defanged."""
    return truncate(shown(text).strip(), limit)


def more_line(n: int) -> str:
    """The line that stands for `n` items left out: '… and 12 more'."""
    return f"… and {n:,} more"


# --- number formats ------------------------------------------------------------------------


def human_number(n: int) -> str:
    """A count, exact with thousands separators: '29,843', never '29.8K'.

    The one number rule of every rendering (Slack blocks, fallback text, text preview, email,
    PDF): counts are exact, as the insights the report model writes are, so no message mixes
    '29.8K' with '29,843'; changes are whole percents (`percent`).
    """
    return f"{n:,}"


def unit_value(value: float, unit: Unit = COUNT) -> str:
    """A figure in its metric's unit: counts as human_number, the rest by shared/report/units."""
    if unit.kind is UnitKind.COUNT and unit.decimals == 0:
        return human_number(round(value))
    return format_value(value, unit)


def percent(ratio: float) -> str:
    """The size of a relative change, '23%' (as the insights write it, with thousands commas)."""
    if not math.isfinite(ratio):  # never 'inf%' (the report holds no such ratio)
        return "unavailable"
    return f"{abs(ratio):,.0%}"


# --- phrases -------------------------------------------------------------------------------


class Mood(StrEnum):
    """How a change reads at a glance; only notable changes have one."""

    GOOD = "good"
    BAD = "bad"
    WARNING = "warning"


SLACK_MOOD = {
    Mood.GOOD: ":large_green_circle:",
    Mood.BAD: ":red_circle:",
    Mood.WARNING: ":warning:",
}
TEXT_MOOD = {Mood.GOOD: "🟢", Mood.BAD: "🔴", Mood.WARNING: "⚠"}

_KIND_WORDS = {
    PeriodKind.DAILY: "daily report",
    PeriodKind.WEEKLY: "weekly report",
    PeriodKind.BIWEEKLY: "bi-weekly report",
    PeriodKind.MONTHLY: "monthly report",
    PeriodKind.CUSTOM: "report",
}


@dataclass(frozen=True, slots=True)
class Phrase:
    """The words for a change (unescaped) and its mood, rendered by each renderer its own way."""

    words: str
    mood: Mood | None = None


def good_or_bad(good: bool | None) -> Mood | None:
    """The mood of a change that is good (True), bad (False) or neither (None)."""
    if good is None:
        return None
    return Mood.GOOD if good else Mood.BAD


def change_size(change: Change) -> str:
    """How big a change is: '23%', or for a rate '3.2 pts' (percentage points)."""
    if change.points is not None:
        return format_points(change.points)
    return percent(change.ratio or 0.0)


def change_phrase(change: Change, unit: Unit = COUNT) -> Phrase:
    """The reference change in full: '▲ 23% vs previous week (1,003)', 'in line ...', 'new ...'."""
    baseline = "none" if change.baseline is None else unit_value(change.baseline, unit)
    verdict = change.verdict
    if verdict in (Verdict.UP, Verdict.DOWN):
        arrow = "▲" if verdict is Verdict.UP else "▼"
        return Phrase(
            f"{arrow} {change_size(change)} {change.label} ({baseline})",
            good_or_bad(change.good),
        )
    if verdict is Verdict.IN_LINE:
        return Phrase(f"in line {change.label} ({baseline})")
    if verdict is Verdict.NEW:
        return Phrase(f"new (none {change.label})", good_or_bad(change.good))
    if verdict is Verdict.DROPPED_TO_ZERO:
        return Phrase(f"dropped to {unit_value(0, unit)} from {baseline}", Mood.WARNING)
    return Phrase(f"{change.label}: unavailable")


def short_change(change: Change) -> str:
    """A change in a word or two: '▲ 15%', '▼ 15%', 'in line', 'new', 'dropped to 0'."""
    verdict = change.verdict
    if verdict in (Verdict.UP, Verdict.DOWN):
        arrow = "▲" if verdict is Verdict.UP else "▼"
        return f"{arrow} {change_size(change)}"
    return {
        Verdict.IN_LINE: "in line",
        Verdict.NEW: "new",
        Verdict.DROPPED_TO_ZERO: "dropped to 0",
    }.get(verdict, "unavailable")


def report_name(report: Report) -> str:
    """'Acme weekly report' (or 'Weekly report' without a company name)."""
    company = clean(report.company, MAX_NAME_CHARS)
    kind = _KIND_WORDS[report.period.kind]
    if report.title:  # a named report: 'Acme Growth daily report'
        kind = f"{clean(report.title, MAX_NAME_CHARS)} {kind}"
    return f"{company} {kind}" if company else kind[:1].upper() + kind[1:]


def local_time(moment: datetime, timezone: str) -> str:
    """'25 Nov 2026 09:00 GMT': `moment` in the IANA `timezone` (UTC if unknown or naive)."""
    try:
        zone: tzinfo = ZoneInfo(timezone)
    except (ZoneInfoNotFoundError, ValueError):
        zone = UTC
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return f"{moment.astimezone(zone):%d %b %Y %H:%M %Z}"
