"""Specs for Block Kit (shared/render/blocks.py): mrkdwn escaping and each limit's boundary."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from shared.render.blocks import (
    MAX_CONTEXT_ELEMENTS,
    MAX_FIELD_CHARS,
    MAX_FIELDS,
    MAX_HEADER_CHARS,
    MAX_SECTION_TEXT_CHARS,
    context_block,
    escape_mrkdwn,
    escape_truncated,
    fit_lines,
    header_block,
    section_block,
)
from tests.render.reports import (
    ENTITY_OR_LINK,
)

# --- escaping ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("<!channel>", "&lt;!channel&gt;"),
        ("Tom & Jerry", "Tom &amp; Jerry"),
        ("a<b>c", "a&lt;b&gt;c"),
        ("&amp;", "&amp;amp;"),
        ("&lt;", "&amp;lt;"),
        ("*bold* _it_ ~s~ `code`", "*bold* _it_ ~s~ `code`"),
        ("<https://x.io|x>", "&lt;https://x.io|x&gt;"),
        ("", ""),
    ],
    ids=[
        "channel-mention",
        "ampersand",
        "angle-brackets",
        "escaped-amp-is-escaped-again",
        "escaped-lt-is-escaped-again",
        "formatting-untouched",
        "link-syntax-neutralised",
        "empty",
    ],
)
def test_escape_mrkdwn_replaces_only_ampersand_and_angle_brackets(text: str, expected: str) -> None:
    """& first, then < and >; nothing else; not idempotent (an escaped string escapes again)."""
    assert escape_mrkdwn(text) == expected


@pytest.mark.parametrize(
    ("text", "limit", "expected"),
    [
        ("a<b", 6, "a&lt;b"),
        ("a<b", 5, "a…"),
        ("<<<", 8, "&lt;…"),
        ("&&", 10, "&amp;&amp;"),
        ("&&", 9, "&amp;…"),
    ],
    ids=["fits", "entity-not-split", "two-entities-do-not-fit", "fits-exactly", "cut-whole"],
)
def test_escape_truncated_never_splits_an_entity(text: str, limit: int, expected: str) -> None:
    """The escaped text is cut between entities, never inside '&lt;'."""
    assert escape_truncated(text, limit) == expected


@given(text=st.text(alphabet="<>&a !", max_size=300), limit=st.integers(0, 400))
def test_escape_truncated_is_always_safe_mrkdwn(text: str, limit: int) -> None:
    """The result fits the limit and every &, <, > in it belongs to a whole entity."""
    result = escape_truncated(text, limit)
    assert len(result) <= limit
    assert not any(c in ENTITY_OR_LINK.sub("", result) for c in "<>&")


# --- boundary pairs at each Block Kit limit ------------------------------------------------------


@pytest.mark.parametrize(
    ("length", "expected_length", "cut"),
    [(MAX_HEADER_CHARS, MAX_HEADER_CHARS, False), (MAX_HEADER_CHARS + 1, MAX_HEADER_CHARS, True)],
    ids=["150-ok", "151-truncated"],
)
def test_a_header_holds_150_characters(length: int, expected_length: int, cut: bool) -> None:
    """A 150-character header is kept; one character more is cut to 150 ending in '…'."""
    text = "h" * length
    shown = header_block(text)["text"]["text"]
    assert len(shown) == expected_length
    assert shown.endswith("…") is cut


@pytest.mark.parametrize(
    ("length", "expected_length"),
    [(MAX_SECTION_TEXT_CHARS, MAX_SECTION_TEXT_CHARS), (MAX_SECTION_TEXT_CHARS + 1, 3000)],
    ids=["3000-ok", "3001-truncated"],
)
def test_a_section_text_holds_3000_characters(length: int, expected_length: int) -> None:
    """Section text of 3000 characters is kept whole; longer text is cut to 3000."""
    shown = section_block(text="s" * length)["text"]["text"]
    assert len(shown) == expected_length
    assert shown.endswith("…") is (length > MAX_SECTION_TEXT_CHARS)


@pytest.mark.parametrize(
    ("lines", "expected"),
    [
        (["a" * 1499, "b" * 1500], "a" * 1499 + "\n" + "b" * 1500),
        (["a" * 1499, "b" * 1501], "a" * 1499 + "\n… and 1 more"),
        (["a" * 3001], "… and 1 more"),
        (["x"] * 3, "x\nx\nx"),
    ],
    ids=["3000-all-shown", "3001-last-line-becomes-more", "one-line-too-long", "short"],
)
def test_fit_lines_ends_with_and_n_more_when_lines_do_not_fit(
    lines: list[str], expected: str
) -> None:
    """Lines that fit in 3000 characters are kept; otherwise the rest becomes '… and N more'."""
    result = fit_lines(lines, MAX_SECTION_TEXT_CHARS)
    assert result == expected
    assert len(result) <= MAX_SECTION_TEXT_CHARS


def test_a_section_holds_10_fields() -> None:
    """Ten fields make one section."""
    assert len(section_block(fields=["f"] * MAX_FIELDS)["fields"]) == MAX_FIELDS


def test_a_section_refuses_11_fields_naming_the_limit() -> None:
    """An eleventh field is a renderer bug, reported with the limit's name and value."""
    with pytest.raises(ValueError, match=r"at most MAX_FIELDS=10 fields, got 11"):
        section_block(fields=["f"] * (MAX_FIELDS + 1))


@pytest.mark.parametrize(
    ("length", "expected_length"),
    [(MAX_FIELD_CHARS, MAX_FIELD_CHARS), (MAX_FIELD_CHARS + 1, MAX_FIELD_CHARS)],
    ids=["2000-ok", "2001-truncated"],
)
def test_a_field_holds_2000_characters(length: int, expected_length: int) -> None:
    """A field of 2000 characters is kept whole; longer is cut to 2000."""
    shown = section_block(fields=["f" * length])["fields"][0]["text"]
    assert len(shown) == expected_length
    assert shown.endswith("…") is (length > MAX_FIELD_CHARS)


def test_a_context_holds_10_elements() -> None:
    """Ten context elements are fine."""
    assert len(context_block(["c"] * MAX_CONTEXT_ELEMENTS)["elements"]) == MAX_CONTEXT_ELEMENTS


def test_a_context_refuses_11_elements_naming_the_limit() -> None:
    """An eleventh element is reported with the limit's name and value."""
    with pytest.raises(ValueError, match=r"1 to MAX_CONTEXT_ELEMENTS=10 elements, got 11"):
        context_block(["c"] * (MAX_CONTEXT_ELEMENTS + 1))
