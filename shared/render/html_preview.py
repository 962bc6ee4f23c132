"""The Slack message as a self-contained HTML page, its charts drawn as inline SVG; pure.

It renders the very blocks that are posted (header, fields, sections, context, charts) so the
preview cannot say anything the message does not. The page loads nothing: no script, no style
sheet, no image, no font from anywhere; it opens in any browser without a network.
"""

from __future__ import annotations

import html
import re
from collections.abc import Mapping, Sequence
from typing import Any

from shared.render.charts import REFERENCE_SUFFIX, is_chart
from shared.render.slack import SlackMessage

WIDTH, HEIGHT = 640, 280
MARGIN_LEFT, MARGIN_RIGHT, MARGIN_TOP, MARGIN_BOTTOM = 64, 16, 16, 64
PALETTE = ("#4E79A7", "#F28E2B", "#59A14F", "#E15759", "#76B7B2", "#B07AA1")
Y_TICKS = 4
# Slack's codes for the emoji the product uses (its renderers, shared/metrics.toml,
# shared/alerts.toml, devtools/sample_reports.toml); any other code stays as text.
EMOJI = {
    ":chart_with_upwards_trend:": "📈",
    ":chart_with_downwards_trend:": "📉",
    ":bar_chart:": "📊",
    ":flag-gb:": "🇬🇧",
    ":iphone:": "📱",
    ":mag:": "🔍",
    ":mega:": "📣",
    ":moneybag:": "💰",
    ":rotating_light:": "🚨",
    ":seedling:": "🌱",
    ":shopping_bags:": "🛍️",
    ":shopping_trolley:": "🛒",
    ":large_green_circle:": "🟢",
    ":red_circle:": "🔴",
    ":warning:": "⚠️",
    ":x:": "❌",
    ":new:": "🆕",
    ":gift:": "🎁",
    ":receipt:": "🧾",
    ":busts_in_silhouette:": "👥",
    ":white_check_mark:": "✅",
    ":earth_africa:": "🌍",
    ":small_blue_diamond:": "🔹",
}
_LINK = re.compile(r"<([^<>|]+)\|([^<>]*)>|<([^<>|]+)>")
_BOLD = re.compile(r"(?<![\w*])\*([^*\n]+)\*(?![\w*])")
_EMOJI = re.compile(r":[a-z0-9_+\-]+:")
_LOOSE_AMP = re.compile(r"&(?!amp;|lt;|gt;)")

STYLE = """
body{font:15px/1.46 -apple-system,'Segoe UI',Helvetica,Arial,sans-serif;color:#1d1c1d;
background:#f8f8f8;margin:0;padding:24px}
.message{max-width:720px;margin:auto;background:#fff;border:1px solid #ddd;border-radius:8px;
padding:16px 20px}
.sender{font-weight:700}.sender .app{font-size:11px;background:#eee;color:#555;padding:1px 4px;
border-radius:3px;margin-left:4px;font-weight:600}
.notification{max-width:720px;margin:0 auto 12px;font-size:13px;color:#555}
h1.header{font-size:18px;margin:8px 0}
.fields{display:grid;grid-template-columns:1fr 1fr;gap:8px 24px;margin:8px 0}
.section{margin:8px 0}.context{font-size:12px;color:#616061;margin:8px 0}
.context span+span:before{content:" · "}
hr{border:0;border-top:1px solid #e8e8e8;margin:12px 0}
figure.chart{margin:12px 0;border:1px solid #e8e8e8;border-radius:6px;padding:8px}
figcaption{font-weight:700;margin-bottom:4px}
.legend{font-size:12px;color:#444;margin-top:4px}
.legend span{margin-right:12px;white-space:nowrap}
.legend i{display:inline-block;width:10px;height:10px;margin-right:4px;border-radius:2px}
svg text{font-size:11px;fill:#616061}
"""


def _plain(text: str) -> str:
    """A chart string (escaped for Slack like all message text) as safe HTML text."""
    return html.escape(html.unescape(text), quote=True)


def mrkdwn_to_html(text: str) -> str:
    """Slack mrkdwn (already &-escaped) as HTML: links, *bold*, emoji codes, line breaks."""
    out: list[str] = []
    last = 0
    for match in _LINK.finditer(text):
        out.append(_inline(text[last : match.start()]))
        url = html.unescape(match.group(1) or match.group(3))
        label = match.group(2) if match.group(1) else html.escape(url)
        out.append(f'<a href="{html.escape(url, quote=True)}">{_inline(label)}</a>')
        last = match.end()
    out.append(_inline(text[last:]))
    return "".join(out).replace("\n", "<br>")


def _inline(text: str) -> str:
    safe = _LOOSE_AMP.sub("&amp;", text).replace("<", "&lt;").replace(">", "&gt;")
    safe = safe.replace('"', "&quot;")
    safe = _BOLD.sub(r"<strong>\1</strong>", safe)
    return _EMOJI.sub(lambda m: EMOJI.get(m.group(0), m.group(0)), safe)


def _nice_top(high: float) -> float:
    """A round axis top at or above `high` (1, 2, 2.5 or 5 times a power of ten)."""
    if high <= 0:
        return 1.0
    step = 10 ** len(str(int(high))) / 100
    for unit in (1, 2, 2.5, 5, 10):
        for k in range(1, 101):
            top = unit * step * k
            if top >= high and k <= 10:
                return float(top)
    return float(high)


def _tick(value: float) -> str:
    return f"{value:,.0f}" if value == int(value) else f"{value:,.1f}"


def series_styles(names: Sequence[str]) -> list[tuple[str, str]]:
    """Colour and dash per series; a reference series takes its metric's colour, dashed."""
    styles: list[tuple[str, str]] = []
    used = 0
    for n, name in enumerate(names):
        if n and name.endswith(REFERENCE_SUFFIX):
            styles.append((styles[-1][0], "5 4"))
        else:
            styles.append((PALETTE[used % len(PALETTE)], ""))
            used += 1
    return styles


def chart_svg(block: Mapping[str, Any]) -> str:
    """A line, area or bar data_visualization block as an inline SVG figure with a legend."""
    chart = block["chart"]
    kind = chart["type"]
    categories: Sequence[str] = chart["axis_config"]["categories"]
    series: Sequence[Mapping[str, Any]] = chart["series"]
    values = [float(p["value"]) for s in series for p in s["data"]]
    low = min(0.0, *values)
    top = _nice_top(max(values))
    plot_w = WIDTH - MARGIN_LEFT - MARGIN_RIGHT
    plot_h = HEIGHT - MARGIN_TOP - MARGIN_BOTTOM
    slot = plot_w / len(categories)

    def y(value: float) -> float:
        return MARGIN_TOP + plot_h * (1 - (value - low) / (top - low))

    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{WIDTH}" height="{HEIGHT}" '
        f'viewBox="0 0 {WIDTH} {HEIGHT}" role="img" aria-label="{_plain(block["title"])}">'
    ]
    for i in range(Y_TICKS + 1):
        value = low + (top - low) * i / Y_TICKS
        parts.append(
            f'<line x1="{MARGIN_LEFT}" x2="{WIDTH - MARGIN_RIGHT}" y1="{y(value):.1f}" '
            f'y2="{y(value):.1f}" stroke="#eee"/>'
            f'<text x="{MARGIN_LEFT - 6}" y="{y(value) + 4:.1f}" text-anchor="end">'
            f"{_tick(value)}</text>"
        )
    rotate = len(categories) > 7
    for i, category in enumerate(categories):
        cx = MARGIN_LEFT + slot * (i + 0.5)
        base = HEIGHT - MARGIN_BOTTOM + 14
        turn = f' transform="rotate(-35 {cx:.1f} {base})"' if rotate else ""
        anchor = "end" if rotate else "middle"
        parts.append(
            f'<text x="{cx:.1f}" y="{base}" text-anchor="{anchor}"{turn}>{_plain(category)}</text>'
        )
    legend = []
    styles = series_styles([s["name"] for s in series])
    for n, one in enumerate(series):
        name = one["name"]
        colour, dash = styles[n]
        legend.append(f'<span><i style="background:{colour}"></i>{_plain(name)}</span>')
        attrs = f'data-series="{_plain(name)}"'
        if kind == "bar":
            width = slot * 0.8 / len(series)
            for i, point in enumerate(one["data"]):
                x = MARGIN_LEFT + slot * i + slot * 0.1 + width * n
                y0, y1 = sorted((y(0.0), y(float(point["value"]))))
                parts.append(
                    f'<rect class="point" {attrs} data-label="{_plain(point["label"])}" '
                    f'data-value="{point["value"]}" x="{x:.1f}" y="{y0:.1f}" width="{width:.1f}" '
                    f'height="{max(y1 - y0, 0.5):.1f}" fill="{colour}">'
                    f"<title>{_plain(name)}, {_plain(point['label'])}: "
                    f"{point['value']:,}</title></rect>"
                )
            continue
        coords = [
            (MARGIN_LEFT + slot * (i + 0.5), y(float(p["value"])))
            for i, p in enumerate(one["data"])
        ]
        path = " ".join(f"{x:.1f},{yy:.1f}" for x, yy in coords)
        if kind == "area":
            floor = y(max(low, 0.0))
            parts.append(
                f'<polygon points="{coords[0][0]:.1f},{floor:.1f} {path} '
                f'{coords[-1][0]:.1f},{floor:.1f}" fill="{colour}" fill-opacity="0.25"/>'
            )
        dashing = f' stroke-dasharray="{dash}"' if dash else ""
        parts.append(
            f'<polyline {attrs} points="{path}" fill="none" stroke="{colour}" '
            f'stroke-width="2"{dashing}/>'
        )
        for (x, yy), point in zip(coords, one["data"], strict=True):
            parts.append(
                f'<circle class="point" {attrs} data-label="{_plain(point["label"])}" '
                f'data-value="{point["value"]}" cx="{x:.1f}" cy="{yy:.1f}" r="3" '
                f'fill="{colour}"><title>{_plain(name)}, {_plain(point["label"])}: '
                f"{point['value']:,}</title></circle>"
            )
    parts.append("</svg>")
    axis = chart["axis_config"]
    caption = " · ".join(_plain(axis[k]) for k in ("x_label", "y_label") if axis.get(k))
    return (
        f'<figure class="chart" data-block-id="{html.escape(block.get("block_id", ""))}">'
        f"<figcaption>{_plain(block['title'])}</figcaption>{''.join(parts)}"
        f'<div class="legend">{"".join(legend)}'
        f"{f'<span>{caption}</span>' if caption else ''}</div></figure>"
    )


def _block_html(block: Mapping[str, Any]) -> str:
    kind = block.get("type")
    if kind == "header":
        return f'<h1 class="header">{html.escape(block["text"]["text"])}</h1>'
    if kind == "divider":
        return "<hr>"
    if kind == "context":
        spans = "".join(f"<span>{mrkdwn_to_html(e['text'])}</span>" for e in block["elements"])
        return f'<div class="context">{spans}</div>'
    if kind == "section":
        out = ""
        if "text" in block:
            out += f'<div class="section">{mrkdwn_to_html(block["text"]["text"])}</div>'
        if "fields" in block:
            fields = "".join(
                f'<div class="field">{mrkdwn_to_html(f["text"])}</div>' for f in block["fields"]
            )
            out += f'<div class="fields">{fields}</div>'
        return out
    if is_chart(block) and block["chart"]["type"] != "pie":
        return chart_svg(block)
    return f"<pre>{html.escape(str(kind))} block</pre>"


def render_html(message: SlackMessage, *, sender: str = "Analytics Reporter") -> str:
    """A whole HTML page showing `message` as Slack would: notification text, then the blocks."""
    header = next((b for b in message.blocks if b.get("type") == "header"), None)
    title = header["text"]["text"] if header else message.text[:80]
    body = "".join(_block_html(b) for b in message.blocks)
    return (
        "<!DOCTYPE html>\n"
        '<html lang="en"><head><meta charset="utf-8">'
        f"<title>{html.escape(title)}</title><style>{STYLE}</style></head><body>"
        f'<div class="notification">Notification: <span id="fallback-text">'
        f"{mrkdwn_to_html(message.text)}</span></div>"
        f'<div class="message"><div class="sender">{html.escape(sender)}'
        f'<span class="app">APP</span></div>{body}</div></body></html>\n'
    )
