"""What every renderer does to a string from event data or settings before showing it; pure.

Event names, property values, labels and reasons reach Slack, the terminal, the HTML preview,
the email and the PDF. Anyone holding the public project token can send any event name, so
`shown` is applied once, where the shared plan words are built, and every renderer inherits it:

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

import re
import unicodedata

HIDDEN_MARK = "\ufffd"  # shown where a format character was: visible, never invisible
_CONTROL = re.compile(r"[\x00-\x1f\x7f\u2028\u2029]+")
_PICTOGRAPH = r"[\u2600-\u27bf\U0001f000-\U0001faff\ufe0f]"
_EMOJI_JOINER = re.compile(rf"(?<={_PICTOGRAPH})\u200d(?={_PICTOGRAPH})")
_KEPT_JOINER = "\x00"  # a placeholder no shown string holds (controls are gone by then)
_SCHEME = re.compile(r"://")
# A host name: labels joined by dots, the last one alphabetic and 2+ long ('evil.example',
# 'www.x.co', 'page.view'); 'e.g.', '1.5' and 'v2.1' are not.
_HOST = re.compile(r"(?<![\w.-])[\w-]+(?:\.[\w-]+)*\.[^\W\d_]{2,}(?![\w-])")


def is_hidden(char: str) -> bool:
    """Whether `char` is a Unicode format character (category Cf): invisible, or reorders text."""
    return unicodedata.category(char) == "Cf"


def neutral(text: str) -> str:
    """`text` with its format characters made visible (U+FFFD), emoji joiners kept."""
    if not any(is_hidden(c) for c in text):
        return text
    kept = _EMOJI_JOINER.sub(_KEPT_JOINER, text)
    return "".join(HIDDEN_MARK if is_hidden(c) else c for c in kept).replace(_KEPT_JOINER, "\u200d")


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
