"""Unicode format characters (category Cf): the one definition every check and renderer uses.

They are invisible: U+202E reverses the text after it, U+200B hides inside a name. Settings and
report files refuse them by name, requests refuse them by position, renderers show U+FFFD in
their place. The zero-width non-joiner and joiner (U+200C, U+200D) shape emoji sequences and
Persian or Indic words: configuration allows them (`joiners_allowed=True`); requests refuse
them; renderers keep a joiner only inside an emoji sequence.
"""

from __future__ import annotations

import unicodedata

JOINERS = frozenset("\u200c\u200d")


def format_characters(text: str, *, joiners_allowed: bool = False) -> list[tuple[int, str]]:
    """Each Unicode format character in `text` with its 1-based position, in order."""
    return [
        (position, char)
        for position, char in enumerate(text, start=1)
        if unicodedata.category(char) == "Cf" and not (joiners_allowed and char in JOINERS)
    ]


def named_format_characters(text: str) -> str:
    """The Unicode format characters (category Cf: U+202E, U+200B...) in `text`, named; or "".

    They are invisible: a right-to-left override or a zero-width space in a name or an id makes
    what is shown differ from what is used, so configuration refuses them (never strips them).
    """
    found = dict.fromkeys(c for _, c in format_characters(text, joiners_allowed=True))
    return ", ".join(f"U+{ord(c):04X} {unicodedata.name(c, 'FORMAT CHARACTER')}" for c in found)
