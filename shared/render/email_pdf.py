"""The report as a one-document PDF (the email's optional attachment), drawn by reportlab.

The same render plan (shared/render/plan.py) as the Slack message, the preview and the HTML
part: same rows, words and cut-offs.
Nothing is fetched: the fonts are files on disk (DejaVu Sans where the system has it, else the
Bitstream Vera that ships inside reportlab); a letter neither has becomes '?', a pictograph
is left out.
reportlab is imported inside the function, so deployments that never attach a PDF never load it.
"""

from __future__ import annotations

import html
import io
import re
from pathlib import Path
from typing import Any

from shared.render.email_message import MOOD_COLOUR, render_subject
from shared.render.plan import Line, plan
from shared.render.wording import TEXT_MOOD, Mood, more_line
from shared.report.generator import Report

# Coloured mood dots become a plain dot (coloured by the line); where the TTF lacks a mark,
# the PDF's standard ZapfDingbats font draws it.
_SUBSTITUTES = {"🟢": "●", "🔴": "●"}
_DINGBATS = {"▲": "s", "▼": "t", "●": "l", "⚠": "u"}
_GLYPH_MOOD = {glyph: mood for mood, glyph in TEXT_MOOD.items()}
# A currency code before or after an amount is part of the figure: never a line break there.
_FIGURE_SPACE = re.compile(r"(?<=\b[A-Z]{3}) (?=[-(]?\d)|(?<=\d) (?=[A-Z]{3}\b)")
_MARGIN = 18  # mm, left and right
_CELL_PADDING = 6  # points: reportlab's default left and right padding of a table cell
# With the widest figure there is (MAX_FIGURE, 6 decimals, a currency code: about 70 mm) as
# value and as baseline, a label column this wide still fits the page.
_MIN_LABEL_WIDTH = 28
_FONT_CANDIDATES = (
    (
        "/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf",
        "/usr/share/fonts/truetype/dejavu/DejaVuSans-Bold.ttf",
    ),
)


def _register_fonts() -> tuple[str, str, Any]:
    """(regular, bold, TTFont): DejaVu Sans if installed, else reportlab's own Vera; once each."""
    import reportlab
    from reportlab.lib.fonts import addMapping
    from reportlab.pdfbase import pdfmetrics
    from reportlab.pdfbase.ttfonts import TTFont

    vera = Path(reportlab.__file__).parent / "fonts"
    pairs = [*_FONT_CANDIDATES, (str(vera / "Vera.ttf"), str(vera / "VeraBd.ttf"))]
    regular, bold = next((r, b) for r, b in pairs if Path(r).exists() and Path(b).exists())
    name = f"Report-{Path(regular).stem}"
    if name not in pdfmetrics.getRegisteredFontNames():
        pdfmetrics.registerFont(TTFont(name, regular))
        pdfmetrics.registerFont(TTFont(f"{name}-Bold", bold))
        for italic in (0, 1):
            addMapping(name, 0, italic, name)
            addMapping(name, 1, italic, f"{name}-Bold")
    return name, f"{name}-Bold", pdfmetrics.getFont(name)


def _unbroken(text: str) -> str:
    """`text` with the space inside a figure ('CHF 12.00', '12.00 XYZ') made non-breaking."""
    return _FIGURE_SPACE.sub("\u00a0", text)


def _markup(text: str, font: Any) -> str:
    """`text` as reportlab paragraph markup: escaped; a glyph the TTF lacks is drawn in
    ZapfDingbats (arrows, marks), left out (pictographs) or shown as '?' (letters)."""
    out = []
    for char in _unbroken(text):
        char = _SUBSTITUTES.get(char, char)
        if ord(char) < 0x80 or ord(char) in font.face.charToGlyph:
            out.append(html.escape(char, quote=False))
        elif char in _DINGBATS:
            out.append(f'<font name="ZapfDingbats">{_DINGBATS[char]}</font>')
        elif char in "\ufe0f\u200d" or ord(char) >= 0x1F000 or 0x2600 <= ord(char) < 0x2800:
            continue  # a pictograph the font lacks (📊) is decoration: left out
        else:
            out.append("?")
    return "".join(out)


def _line_markup(line: Line, font: Any) -> str:
    parts = []
    mood: Mood | None = None
    for span in line:
        if span.glyph in _GLYPH_MOOD:
            mood = _GLYPH_MOOD[span.glyph]
        text = " ".join(p for p in (span.glyph, span.text) if p)
        if not text:
            continue
        piece = _markup(text, font)
        if span.link:
            piece = f'<link href="{html.escape(span.link)}" color="#0969da">{piece}</link>'
        elif span.glyph and mood:
            piece = f'<font color="{MOOD_COLOUR[mood]}">{piece}</font>'
        if span.strong:
            piece = f"<b>{piece}</b>"
        parts.append(piece)
    return " ".join(parts)


def render_pdf(report: Report) -> bytes:
    """The digest as an A4 PDF: title, metrics table, each section, footer; reproducible bytes."""
    from reportlab.lib import colors
    from reportlab.lib.pagesizes import A4
    from reportlab.lib.styles import ParagraphStyle
    from reportlab.lib.units import mm
    from reportlab.pdfbase.pdfmetrics import stringWidth
    from reportlab.platypus import Paragraph, SimpleDocTemplate, Spacer, Table, TableStyle

    regular, bold, font = _register_fonts()
    shown = plan(report)
    body = ParagraphStyle("body", fontName=regular, fontSize=9.5, leading=12.5)
    # Figures' cells: a word (a figure) too long for the rest of a line moves to the next line
    # whole, never split (the columns are sized so that it fits there). Labels may still split.
    figures = ParagraphStyle("figures", parent=body, splitLongWords=0)
    small = ParagraphStyle("small", parent=body, fontSize=8, leading=10.5, textColor="#59636e")
    value = ParagraphStyle("value", parent=figures, alignment=2)  # right-aligned figures
    title = ParagraphStyle("title", parent=body, fontName=bold, fontSize=15, leading=19)
    heading = ParagraphStyle("heading", parent=body, fontName=bold, fontSize=11, leading=15)
    story: list[Any] = [Paragraph(_markup(shown.header, font), title), Spacer(1, 4 * mm)]

    rows = shown.metric_rows
    if rows:
        data = []
        for row in rows:
            change = row.change
            glyph = f"{TEXT_MOOD[change.mood]} " if change.mood else ""
            words = _markup(glyph + change.words, font)
            if change.mood:
                words = f'<font color="{MOOD_COLOUR[change.mood]}">{words}</font>'
            others = "".join(f"<br/>{_markup(o, font)}" for o in row.others)
            data.append(
                [
                    Paragraph(f"<b>{_markup(row.label, font)}</b>", body),
                    Paragraph(f"<b>{_markup(row.value, font)}</b>", value),
                    Paragraph(words + others, figures),
                ]
            )
        # The value column fits the widest figure on one line: a Paragraph splits a word wider
        # than its column ('£37,316.8' / '6'), and a figure must never be split.
        # Likewise the words column fits its widest word (a baseline such as '(£18,658.00)');
        # the label column, whose words may wrap, gives up the room.
        pad = 2 * _CELL_PADDING + 2
        widest = max(stringWidth(_unbroken(row.value), bold, value.fontSize) for row in rows)
        value_width = max(24 * mm, widest + pad)
        tokens = [
            w
            for row in rows
            for t in (row.change.words, *row.others)
            for w in _unbroken(t).split(" ")
        ]
        longest = max((stringWidth(w, regular, body.fontSize) for w in tokens), default=0.0)
        room = A4[0] - 2 * _MARGIN * mm - value_width - (longest + pad)
        label_width = max(min(55 * mm, room), _MIN_LABEL_WIDTH * mm)
        table = Table(data, colWidths=[label_width, value_width, None], repeatRows=0)
        table.setStyle(
            TableStyle(
                [
                    ("VALIGN", (0, 0), (-1, -1), "TOP"),
                    ("ALIGN", (1, 0), (1, -1), "RIGHT"),
                    ("LINEBELOW", (0, 0), (-1, -1), 0.5, colors.HexColor("#d1d9e0")),
                ]
            )
        )
        story.append(table)
    if shown.metrics_more:
        story.append(Paragraph(_markup(more_line(shown.metrics_more), font), body))
    for part in shown.parts:
        story += [Spacer(1, 3 * mm), Paragraph(_line_markup(part.title, font), heading)]
        story += [Paragraph(_line_markup(line, font), body) for line in part.lines]
        if part.more:
            story.append(Paragraph(_markup(more_line(part.more), font), body))
    story.append(Spacer(1, 5 * mm))
    story += [Paragraph(_line_markup(line, font), small) for line in shown.footer]

    out = io.BytesIO()
    document = SimpleDocTemplate(
        out,
        pagesize=A4,
        title=render_subject(report),
        author=report.company or "analytics-reporter",
        creator="analytics-reporter",
        leftMargin=_MARGIN * mm,
        rightMargin=_MARGIN * mm,
        topMargin=16 * mm,
        bottomMargin=16 * mm,
        invariant=1,  # no creation date or random id: the same report gives the same bytes
    )
    document.build(story)
    return out.getvalue()
