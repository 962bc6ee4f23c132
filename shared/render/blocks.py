"""Block Kit: Slack's limits as named constants, mrkdwn text tools and block builders; pure.

Every builder enforces its own limits (docs.slack.dev/reference/block-kit), so no message built
from them can be refused for a length; the error texts name the constants. The mrkdwn tools
show data literally: escaped, no mark that could format, no @mention that could notify.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from typing import Any

from shared.render.wording import defang, more_line, neutral, truncate

# Block Kit limits (docs.slack.dev/reference/block-kit); the error texts below reuse them.
MAX_BLOCKS = 50
MAX_HEADER_CHARS = 150
MAX_SECTION_TEXT_CHARS = 3000
MAX_FIELDS = 10
MAX_FIELD_CHARS = 2000
MAX_CONTEXT_ELEMENTS = 10
MAX_MESSAGE_TEXT_CHARS = 12_000  # stay below Slack's undocumented ~13k msg_blocks_too_long
MAX_FALLBACK_TEXT_CHARS = 3000

# mrkdwn has no escape for its formatting marks: one that could open or close bold, italic,
# strike or code (not between two letters or digits, as in add_to_cart) is shown as its
# full-width twin, which Slack never parses, so a name like '*PAYROLL*' stays literal.
_MARKS = {"*": "\uff0a", "_": "\uff3f", "~": "\uff5e", "`": "\uff40"}
_FORMATTING_MARK = re.compile(r"(?<![^\W_])[*_~`]|[*_~`](?![^\W_])")
# Slack parses a plain @here, @channel or @everyone as a mention (text objects without
# verbatim): that '@' is shown full-width. Others (a@b.co, <@U1> once escaped) notify nobody.
_MENTION_AT = re.compile(r"(?<!\w)@(?=(?:here|channel|everyone)\b)")


# --- mrkdwn text tools --------------------------------------------------------------------


def escape_mrkdwn(text: str) -> str:
    """`text` safe inside mrkdwn: & then < and > become entities; not idempotent ('&amp;amp;')."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def _inert(text: str) -> str:
    """`text` with no formatting mark and no mention Slack would parse; same length."""
    return _MENTION_AT.sub("\uff20", _FORMATTING_MARK.sub(lambda m: _MARKS[m.group(0)], text))


def literal_mrkdwn(text: str) -> str:
    """`text` shown literally in mrkdwn: escaped, no mark that could format, no @mention."""
    return escape_mrkdwn(_inert(text))


def escape_truncated(text: str, limit: int, *, suffix: str = "…", defanged: bool = True) -> str:
    """literal_mrkdwn(text) cut to `limit` characters without splitting an entity like '&lt;';
    format characters made visible and (unless not `defanged`) links defanged, as data is."""
    text = neutral(text)
    text = _inert(defang(text) if defanged else text)
    escaped = escape_mrkdwn(text)
    if len(escaped) <= limit:
        return escaped
    room = limit - len(suffix)
    if room <= 0:
        return suffix[:limit]
    kept: list[str] = []
    used = 0
    for char in text:
        piece = escape_mrkdwn(char)
        if used + len(piece) > room:
            break
        kept.append(piece)
        used += len(piece)
    return "".join(kept).rstrip() + suffix


def mrkdwn_words(text: str, *, strong: bool = False, emoji: str = "", link: str = "") -> str:
    """A run of words as mrkdwn: `<link|text>` when linked, else the emoji code before the
    literal words, bold when `strong`; '' when there is nothing to show."""
    if link:
        return f"<{link}|{escape_mrkdwn(text)}>"
    body = " ".join(p for p in (escape_mrkdwn(emoji), literal_mrkdwn(text)) if p)
    return f"*{body}*" if strong and body else body


# --- fitting lines within a limit ---------------------------------------------------------


def fit_count(head: int | None, lengths: Sequence[int], limit: int) -> int | None:
    """How many lines (of `lengths` characters) fit within `limit` characters after a head
    line of `head` characters (None: no head), with a final more_line for the rest; newlines
    between lines count. None when not even the head and the more_line fit."""
    n = len(lengths)
    used = 0 if head is None else head
    started = head is not None
    best: int | None = None
    for k in range(n + 1):
        if k:
            used += lengths[k - 1] + (1 if started else 0)
            started = True
        if used > limit:
            break
        tail = 0 if k == n else len(more_line(n - k)) + (1 if started else 0)
        if used + tail <= limit:
            best = k
    return best


def fit_lines(lines: Sequence[str], limit: int) -> str:
    """The lines joined by newlines within `limit` characters, ending '… and N more' if cut."""
    k = fit_count(None, [len(line) for line in lines], limit)
    if k is None:
        return truncate(more_line(len(lines)), limit)
    shown = list(lines[:k])
    if k < len(lines):
        shown.append(more_line(len(lines) - k))
    return "\n".join(shown)


def chunk_lines(lengths: Sequence[int], limit: int) -> list[int]:
    """Greedy: how many consecutive lines go in each text of at most `limit` characters."""
    sizes: list[int] = []
    used = -1
    for length in lengths:
        if sizes and used + 1 + length <= limit:
            sizes[-1] += 1
            used += 1 + length
        else:
            sizes.append(1)
            used = length
    return sizes


# --- Block Kit builders: each enforces its own limits -----------------------------------


def _mrkdwn(text: str) -> dict[str, Any]:
    if not text:
        raise ValueError("Slack rejects an empty text object")
    return {"type": "mrkdwn", "text": text}


def header_block(text: str) -> dict[str, Any]:
    """A header of plain text (no escaping needed), cut to MAX_HEADER_CHARS."""
    if not text:
        raise ValueError("Slack rejects an empty header")
    return {
        "type": "header",
        "text": {"type": "plain_text", "text": truncate(text, MAX_HEADER_CHARS), "emoji": True},
    }


def section_block(*, text: str | None = None, fields: Sequence[str] = ()) -> dict[str, Any]:
    """A mrkdwn section: text cut to MAX_SECTION_TEXT_CHARS, each field to MAX_FIELD_CHARS."""
    if text is None and not fields:
        raise ValueError("a section needs text or fields")
    if len(fields) > MAX_FIELDS:
        raise ValueError(
            f"a section holds at most MAX_FIELDS={MAX_FIELDS} fields, got {len(fields)}"
        )
    block: dict[str, Any] = {"type": "section"}
    if text is not None:
        block["text"] = _mrkdwn(truncate(text, MAX_SECTION_TEXT_CHARS))
    if fields:
        block["fields"] = [_mrkdwn(truncate(f, MAX_FIELD_CHARS)) for f in fields]
    return block


def context_block(elements: Sequence[str]) -> dict[str, Any]:
    """A context line of mrkdwn elements (1 to MAX_CONTEXT_ELEMENTS, each cut to a section's)."""
    if not 1 <= len(elements) <= MAX_CONTEXT_ELEMENTS:
        raise ValueError(
            f"a context holds 1 to MAX_CONTEXT_ELEMENTS={MAX_CONTEXT_ELEMENTS} elements, "
            f"got {len(elements)}"
        )
    return {
        "type": "context",
        "elements": [_mrkdwn(truncate(e, MAX_SECTION_TEXT_CHARS)) for e in elements],
    }


def divider_block() -> dict[str, Any]:
    """A horizontal rule (it counts toward MAX_BLOCKS)."""
    return {"type": "divider"}


def message_text_chars(blocks: Sequence[Mapping[str, Any]]) -> int:
    """Every character of text in the blocks, as Slack sums it for msg_blocks_too_long."""

    def chars(value: object) -> int:
        if isinstance(value, list | tuple):
            return sum(chars(item) for item in value)
        if isinstance(value, Mapping):
            return sum(
                len(item) if key == "text" and isinstance(item, str) else chars(item)
                for key, item in value.items()
            )
        return 0

    return chars(list(blocks))
