"""A strict loopback stand-in for a Slack incoming webhook that enforces Block Kit limits."""

import json
import re
import threading
import time
import uuid
from collections import deque
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler
from typing import Any, cast
from urllib.parse import parse_qs, urlsplit

from devtools.loopback import LoopbackServer, LoopbackService

MAX_BLOCKS = 50
MAX_HEADER_CHARS = 150
MAX_SECTION_TEXT_CHARS = 3000
MAX_FIELDS = 10
MAX_FIELD_CHARS = 2000
MAX_CONTEXT_ELEMENTS = 10
MAX_BLOCK_ID_CHARS = 255
# Slack's undocumented `msg_blocks_too_long`: all text inside the blocks, summed (bolt-js#2509).
MAX_MESSAGE_TEXT_CHARS = 13_000
MAX_IMAGE_URL_CHARS = 3000
MAX_ALT_TEXT_CHARS = 2000
MAX_ACTIONS_ELEMENTS = 25
MAX_MARKDOWN_BLOCK_CHARS = 12_000
# data_visualization (docs.slack.dev data-visualization-block; the official SDK branches).
MAX_CHARTS = 2
MAX_CHART_SERIES = 6
MAX_CHART_POINTS = 20
MAX_CHART_LABEL_CHARS = 20
MAX_CHART_TITLE_CHARS = 50
MAX_CHART_AXIS_LABEL_CHARS = 50
CHART_TYPES = frozenset({"line", "bar", "area", "pie"})

DEFAULT_PATH = "/services/T00000000/B00000000/standin-webhook-token"
API_POST_PATH = "/api/chat.postMessage"  # the Web API method a bot token posts with
DEFAULT_BOT_TOKEN = "xoxb-fake-standin-bot-token"
API_ERRORS_NEEDING_AUTH = ("not_authed", "invalid_auth")
BLOCK_TYPES = frozenset(
    {
        "header",
        "section",
        "divider",
        "context",
        "actions",
        "image",
        "rich_text",
        "markdown",
        "data_visualization",
    }
)
TEXT_TYPES = frozenset({"plain_text", "mrkdwn"})


class _Rejected(Exception):
    """Slack's error string for a payload, with a human explanation for test failures."""

    def __init__(self, error: str, detail: str) -> None:
        super().__init__(f"{error}: {detail}")
        self.error = error
        self.detail = detail


def _invalid(detail: str) -> _Rejected:
    return _Rejected("invalid_blocks", detail)


def _check_length(text: str, limit: int, limit_name: str, where: str) -> None:
    if len(text) > limit:
        raise _invalid(f"{where} has {len(text)} characters; {limit_name} is {limit}")


def _check_text_object(
    value: object, where: str, *, limit: int, limit_name: str, plain_only: bool = False
) -> None:
    if not isinstance(value, dict):
        raise _invalid(f"{where} must be a text object")
    allowed = {"plain_text"} if plain_only else TEXT_TYPES
    if value.get("type") not in allowed:
        raise _invalid(f"{where}.type must be one of {sorted(allowed)}, got {value.get('type')!r}")
    text = value.get("text")
    if not isinstance(text, str) or not text:
        raise _invalid(f"{where}.text must be a non-empty string")
    _check_length(text, limit, limit_name, f"{where}.text")


def _check_elements(block: dict[str, Any], where: str, limit: int, limit_name: str) -> list[Any]:
    elements = block.get("elements")
    if not isinstance(elements, list) or not 1 <= len(elements) <= limit:
        raise _invalid(f"{where}.elements must be a list of 1 to {limit} items ({limit_name})")
    return elements


def _check_image(block: dict[str, Any], where: str) -> None:
    url = block.get("image_url")
    if url is None and not isinstance(block.get("slack_file"), dict):
        raise _invalid(f"{where} needs image_url or slack_file")
    if url is not None:
        if not isinstance(url, str) or not url:
            raise _invalid(f"{where}.image_url must be a non-empty string")
        _check_length(url, MAX_IMAGE_URL_CHARS, "MAX_IMAGE_URL_CHARS", f"{where}.image_url")
    alt_text = block.get("alt_text")
    if not isinstance(alt_text, str) or not alt_text:
        raise _invalid(f"{where}.alt_text must be a non-empty string")
    _check_length(alt_text, MAX_ALT_TEXT_CHARS, "MAX_ALT_TEXT_CHARS", f"{where}.alt_text")


def _check_label(value: object, where: str, limit: int = MAX_CHART_LABEL_CHARS) -> str:
    if not isinstance(value, str) or not value:
        raise _invalid(f"{where} must be a non-empty string")
    _check_length(value, limit, "the chart label limit", where)
    return value


def _check_number(value: object, where: str) -> None:
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise _invalid(f"{where} must be a number, got {value!r}")


def _check_chart(block: dict[str, Any], where: str) -> None:
    """Every data_visualization rule: title, type, series, points, categories, numbers."""
    title = block.get("title")
    if not isinstance(title, str) or not title:
        raise _invalid(f"{where}.title must be a non-empty plain string")
    _check_length(title, MAX_CHART_TITLE_CHARS, "MAX_CHART_TITLE_CHARS", f"{where}.title")
    chart = block.get("chart")
    if not isinstance(chart, dict) or chart.get("type") not in CHART_TYPES:
        raise _invalid(f"{where}.chart.type must be one of {sorted(CHART_TYPES)}")
    if chart["type"] == "pie":
        segments = chart.get("segments")
        if not isinstance(segments, list) or not 1 <= len(segments) <= MAX_CHART_SERIES:
            raise _invalid(f"{where}.chart.segments must hold 1 to {MAX_CHART_SERIES} segments")
        for n, segment in enumerate(segments):
            at = f"{where}.chart.segments[{n}]"
            if not isinstance(segment, dict):
                raise _invalid(f"{at} must be an object")
            _check_label(segment.get("label"), f"{at}.label")
            _check_number(segment.get("value"), f"{at}.value")
            if not segment["value"] > 0:
                raise _invalid(f"{at}.value must be > 0")
        return
    axis = chart.get("axis_config")
    if not isinstance(axis, dict):
        raise _invalid(f"{where}.chart.axis_config is required")
    categories = axis.get("categories")
    if not isinstance(categories, list) or not 1 <= len(categories) <= MAX_CHART_POINTS:
        raise _invalid(f"{where}.chart.axis_config.categories must hold 1 to {MAX_CHART_POINTS}")
    for n, category in enumerate(categories):
        _check_label(category, f"{where}.chart.axis_config.categories[{n}]")
    if len(set(categories)) != len(categories):
        raise _invalid(f"{where}.chart.axis_config.categories repeat a label")
    for name in ("x_label", "y_label"):
        if name in axis:
            _check_label(
                axis[name], f"{where}.chart.axis_config.{name}", MAX_CHART_AXIS_LABEL_CHARS
            )
    series = chart.get("series")
    if not isinstance(series, list) or not 1 <= len(series) <= MAX_CHART_SERIES:
        raise _invalid(f"{where}.chart.series must hold 1 to {MAX_CHART_SERIES} series")
    names: list[str] = []
    for n, one in enumerate(series):
        at = f"{where}.chart.series[{n}]"
        if not isinstance(one, dict):
            raise _invalid(f"{at} must be an object")
        names.append(_check_label(one.get("name"), f"{at}.name"))
        data = one.get("data")
        if not isinstance(data, list) or not 1 <= len(data) <= MAX_CHART_POINTS:
            raise _invalid(f"{at}.data must hold 1 to {MAX_CHART_POINTS} points")
        labels = []
        for m, point in enumerate(data):
            if not isinstance(point, dict):
                raise _invalid(f"{at}.data[{m}] must be an object")
            labels.append(_check_label(point.get("label"), f"{at}.data[{m}].label"))
            _check_number(point.get("value"), f"{at}.data[{m}].value")
        # Exactly one point per category, in the categories' order.
        if labels != categories:
            raise _invalid(f"{at}.data labels {labels} do not match the categories {categories}")
    if len(set(names)) != len(names):
        raise _invalid(f"{where}.chart.series names repeat")


def _check_block(block: object, where: str) -> None:
    if not isinstance(block, dict):
        raise _invalid(f"{where} must be an object")
    kind = block.get("type")
    if kind not in BLOCK_TYPES:
        raise _invalid(f"{where}.type {kind!r} is not a known block type")
    if "block_id" in block:
        block_id = block["block_id"]
        if not isinstance(block_id, str) or not block_id:
            raise _invalid(f"{where}.block_id must be a non-empty string")
        _check_length(block_id, MAX_BLOCK_ID_CHARS, "MAX_BLOCK_ID_CHARS", f"{where}.block_id")
    if kind == "header":
        _check_text_object(
            block.get("text"),
            f"{where}.text",
            limit=MAX_HEADER_CHARS,
            limit_name="MAX_HEADER_CHARS",
            plain_only=True,
        )
    elif kind == "section":
        if "text" not in block and "fields" not in block:
            raise _invalid(f"{where} needs text or fields")
        if "text" in block:
            _check_text_object(
                block["text"],
                f"{where}.text",
                limit=MAX_SECTION_TEXT_CHARS,
                limit_name="MAX_SECTION_TEXT_CHARS",
            )
        if "fields" in block:
            fields = block["fields"]
            if not isinstance(fields, list) or not 1 <= len(fields) <= MAX_FIELDS:
                raise _invalid(f"{where}.fields must be a list of 1 to MAX_FIELDS={MAX_FIELDS}")
            for n, field in enumerate(fields):
                _check_text_object(
                    field,
                    f"{where}.fields[{n}]",
                    limit=MAX_FIELD_CHARS,
                    limit_name="MAX_FIELD_CHARS",
                )
    elif kind == "context":
        elements = _check_elements(block, where, MAX_CONTEXT_ELEMENTS, "MAX_CONTEXT_ELEMENTS")
        for n, element in enumerate(elements):
            if isinstance(element, dict) and element.get("type") == "image":
                _check_image(element, f"{where}.elements[{n}]")
            else:
                # Slack documents no per-element limit; the whole-message limit still applies.
                _check_text_object(
                    element,
                    f"{where}.elements[{n}]",
                    limit=MAX_MESSAGE_TEXT_CHARS,
                    limit_name="MAX_MESSAGE_TEXT_CHARS",
                )
    elif kind == "image":
        _check_image(block, where)
        if "title" in block:
            _check_text_object(
                block["title"],
                f"{where}.title",
                limit=MAX_ALT_TEXT_CHARS,
                limit_name="MAX_ALT_TEXT_CHARS",
                plain_only=True,
            )
    elif kind == "actions":
        for n, element in enumerate(
            _check_elements(block, where, MAX_ACTIONS_ELEMENTS, "MAX_ACTIONS_ELEMENTS")
        ):
            if not isinstance(element, dict) or not isinstance(element.get("type"), str):
                raise _invalid(f"{where}.elements[{n}] must be an interactive element")
    elif kind == "rich_text":
        rich = block.get("elements")
        if not isinstance(rich, list) or not all(isinstance(item, dict) for item in rich):
            raise _invalid(f"{where}.elements must be a list of rich text objects")
    elif kind == "data_visualization":
        _check_chart(block, where)
    elif kind == "markdown":
        text = block.get("text")
        if not isinstance(text, str) or not text:
            raise _invalid(f"{where}.text must be a non-empty string")
        _check_length(text, MAX_MARKDOWN_BLOCK_CHARS, "MAX_MARKDOWN_BLOCK_CHARS", f"{where}.text")


def _text_chars(value: object) -> int:
    """Total length of every string stored under a "text" key, at any depth."""
    if isinstance(value, list):
        return sum(_text_chars(item) for item in value)
    if isinstance(value, dict):
        total = 0
        for key, item in value.items():
            total += len(item) if key == "text" and isinstance(item, str) else _text_chars(item)
        return total
    return 0


def _check_payload(payload: object) -> None:
    if not isinstance(payload, dict):
        raise _Rejected("invalid_payload", "the payload must be a JSON object")
    text = payload.get("text")
    if "text" in payload and not isinstance(text, str):
        raise _Rejected("invalid_payload", "text must be a string")
    blocks = payload.get("blocks")
    if "blocks" in payload and not isinstance(blocks, list):
        raise _invalid("blocks must be a list")
    if not text and not blocks:
        raise _Rejected("no_text", "the message needs a non-empty text or non-empty blocks")
    if not blocks:
        return
    if len(blocks) > MAX_BLOCKS:
        raise _invalid(f"the message has {len(blocks)} blocks; MAX_BLOCKS is {MAX_BLOCKS}")
    for n, block in enumerate(blocks):
        _check_block(block, f"blocks[{n}]")
    charts = sum(1 for b in blocks if b.get("type") == "data_visualization")
    if charts > MAX_CHARTS:
        raise _invalid(f"the message has {charts} data_visualization blocks; MAX_CHARTS is 2")
    total = _text_chars(blocks)
    if total > MAX_MESSAGE_TEXT_CHARS:
        raise _Rejected(
            "msg_blocks_too_long",
            f"the blocks hold {total} characters of text; "
            f"MAX_MESSAGE_TEXT_CHARS is {MAX_MESSAGE_TEXT_CHARS}",
        )


def explain_slack_rejection(payload: object) -> str | None:
    """Slack's error string plus which rule broke (e.g. "invalid_blocks: ..."), or None if ok."""
    try:
        _check_payload(payload)
    except _Rejected as rejected:
        return str(rejected)
    return None


def slack_rejection(payload: object) -> str | None:
    """The error string Slack would answer for this payload, or None if Slack would accept it."""
    try:
        _check_payload(payload)
    except _Rejected as rejected:
        return rejected.error
    return None


# --- what Slack would make of a message's mrkdwn (for specs; Slack itself is the authority) ---
#
# Slack parses mrkdwn text objects: <url|text> links and <!here>/<@U1> mentions always; with
# "verbatim" unset (the default) it also links bare URLs, www. and host names, and parses plain
# @here/@channel/@everyone (docs.slack.dev text-object: "URLs will be auto-converted into
# links ... certain mentions will be automatically parsed"). Formatting marks open only where
# no letter or digit precedes them and close only where none follows (so add_to_cart stays).
_MANUAL = re.compile(r"<([^<>|]+)(?:\|[^<>]*)?>")
_BARE_URL = re.compile(r"\b(?:https?|ftp)://[^\s<>|]+|\bwww\.[^\s<>|]+")
_BARE_HOST = re.compile(r"(?<![\w.@/-])(?:[\w-]+@)?[\w-]+(?:\.[\w-]+)*\.[^\W\d_]{2,}(?![\w-])")
_PLAIN_MENTION = re.compile(r"(?<!\w)@(?:here|channel|everyone)\b")
_RUNS = {
    "bold": re.compile(r"(?<![^\W_])\*(?=\S)([^*\n]+?)(?<=\S)\*(?![^\W_])"),
    "italic": re.compile(r"(?<![^\W_])_(?=\S)([^_\n]+?)(?<=\S)_(?![^\W_])"),
    "strike": re.compile(r"(?<![^\W_])~(?=\S)([^~\n]+?)(?<=\S)~(?![^\W_])"),
    "code": re.compile(r"`([^`\n]+)`"),
}


@dataclass(frozen=True, slots=True)
class Markup:
    """What Slack would render live in a message: links, mentions, formatted runs (kind, text)."""

    links: list[str]
    mentions: list[str]
    formatted: list[tuple[str, str]]


def _mrkdwn_objects(value: object) -> list[dict[str, Any]]:
    if isinstance(value, list):
        return [o for item in value for o in _mrkdwn_objects(item)]
    if isinstance(value, dict):
        if value.get("type") == "mrkdwn" and isinstance(value.get("text"), str):
            return [value]
        return [o for item in value.values() for o in _mrkdwn_objects(item)]
    return []


def live_markup(payload: Mapping[str, Any]) -> Markup:
    """Every link, mention and formatted run Slack would render from the payload's blocks."""
    links: list[str] = []
    mentions: list[str] = []
    formatted: list[tuple[str, str]] = []
    for obj in _mrkdwn_objects(payload.get("blocks", [])):
        text: str = obj["text"]
        for target in _MANUAL.findall(text):
            (mentions if target[:1] in "!@#" else links).append(target)
        rest = _MANUAL.sub(" ", text)
        if not obj.get("verbatim"):
            links += _BARE_URL.findall(rest)
            links += _BARE_HOST.findall(_BARE_URL.sub(" ", rest))
            mentions += _PLAIN_MENTION.findall(rest)
        for kind, pattern in _RUNS.items():
            formatted += [(kind, run) for run in pattern.findall(rest)]
    return Markup(links, mentions, formatted)


# How often the serving thread checks for stop(); small so tests tear down quickly.


@dataclass(frozen=True, slots=True)
class _Failure:
    status: int
    body: str
    retry_after: str | None


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def do_POST(self) -> None:
        self._dispatch()

    def do_GET(self) -> None:
        self._dispatch()

    def do_PUT(self) -> None:
        self._dispatch()

    def log_message(self, format: str, *args: Any) -> None:
        """Keep test and demo output quiet."""

    def _dispatch(self) -> None:
        app = cast(SlackStandIn, cast(LoopbackServer, self.server).app)
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        status, text, headers = app._answer(
            self.command,
            self.path,
            self.headers.get("Content-Type", ""),
            body,
            authorization=self.headers.get("Authorization", ""),
        )
        encoded = text.encode()
        self.send_response(status)
        if not any(name.lower() == "content-type" for name, _ in headers):
            self.send_header("Content-Type", "text/plain; charset=utf-8")
        self.send_header("Content-Length", str(len(encoded)))
        for name, value in headers:
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(encoded)


def _parse_body(content_type: str, body: bytes) -> object:
    """The JSON payload of a webhook request (JSON body, or form field `payload`)."""
    text = body.decode()
    if content_type.split(";")[0].strip().lower() == "application/x-www-form-urlencoded":
        text = parse_qs(text).get("payload", [""])[-1]
    return json.loads(text, parse_constant=_refuse_constant)


def _refuse_constant(name: str) -> object:
    """NaN and Infinity are not JSON (RFC 8259): Slack's parser refuses the payload."""
    raise ValueError(f"{name} is not valid JSON")


class SlackStandIn(LoopbackService):
    """An incoming-webhook URL on loopback that accepts only what Slack would accept.

    It also answers chat.postMessage at /api/chat.postMessage as the Web API does (HTTP 200 with
    {"ok": false, "error": ...} for a refusal) for `bot_token`. With `refuse_charts` it refuses
    any message holding a data_visualization block, as a destination that does not take charts
    might. How a webhook refuses is `chart_refusal` (status, body): 400 invalid_blocks by
    default; (500, "") is how webhooks refused the markdown block, the closest analogue found
    (shared/reference/real-service-behaviour.md, fact 3), and (400, "") the empty 400 some
    webhook refusals are. chat.postMessage always answers ok:false invalid_blocks.
    """

    service_name = "Slack stand-in"
    handler = _Handler

    def __init__(
        self,
        *,
        path: str = DEFAULT_PATH,
        refuse_charts: bool = False,
        chart_refusal: tuple[int, str] = (HTTPStatus.BAD_REQUEST, "invalid_blocks"),
        bot_token: str = DEFAULT_BOT_TOKEN,
    ) -> None:
        super().__init__()
        self.path = path
        self.refuse_charts = refuse_charts
        self.chart_refusal = chart_refusal
        self.bot_token = bot_token
        self._lock = threading.Lock()
        self._posts: list[dict[str, Any]] = []
        self._rejections: list[tuple[int, str]] = []
        self._received: list[bytes] = []
        self._failures: deque[_Failure] = deque()

    def start(self, *, port: int = 0) -> str:
        """Serve on 127.0.0.1:`port` (0 = any free port) in a daemon thread; return the URL."""
        self._listen(port)
        return self.url

    @property
    def url(self) -> str:
        """The full webhook URL, http://127.0.0.1:PORT<path>."""
        return f"http://127.0.0.1:{self.port}{self.path}"

    @property
    def posts(self) -> list[dict[str, Any]]:
        """Accepted payloads, in arrival order (a copy)."""
        with self._lock:
            return list(self._posts)

    @property
    def rejections(self) -> list[tuple[int, str]]:
        """(status, body) of every request not answered 200 ok, in arrival order (a copy)."""
        with self._lock:
            return list(self._rejections)

    @property
    def received(self) -> list[bytes]:
        """The raw body of every request received, accepted or not (a copy)."""
        with self._lock:
            return list(self._received)

    def fail_next(
        self,
        status: int,
        *,
        times: int = 1,
        body: str = "rollup_error",
        retry_after: str | None = None,
    ) -> None:
        """Answer the next `times` webhook posts with `status` and `body`, whatever they hold."""
        with self._lock:
            self._failures.extend([_Failure(status, body, retry_after)] * times)

    def clear_failures(self) -> None:
        """Forget every queued failure: the outage is over."""
        with self._lock:
            self._failures.clear()

    @property
    def api_url(self) -> str:
        """The origin to use as SLACK_API_URL (chat.postMessage lives under /api/)."""
        return f"http://127.0.0.1:{self.port}"

    def _answer(
        self, method: str, raw_path: str, content_type: str, body: bytes, *, authorization: str = ""
    ) -> tuple[int, str, tuple[tuple[str, str], ...]]:
        if urlsplit(raw_path).path == API_POST_PATH:
            status, text, headers, accepted = self._decide_api(method, authorization, body)
        else:
            status, text, headers, accepted = self._decide(method, raw_path, content_type, body)
        status = int(status)
        with self._lock:
            self._received.append(body)
            if accepted is not None:
                self._posts.append(accepted)
            else:
                self._rejections.append((status, text))
        return status, text, headers

    def _decide(
        self, method: str, raw_path: str, content_type: str, body: bytes
    ) -> tuple[int, str, tuple[tuple[str, str], ...], dict[str, Any] | None]:
        if urlsplit(raw_path).path != self.path:
            return HTTPStatus.NOT_FOUND, "no_service", (), None
        if method != "POST":
            return HTTPStatus.METHOD_NOT_ALLOWED, "invalid_method", (), None
        with self._lock:
            failure = self._failures.popleft() if self._failures else None
        if failure is not None:
            headers = () if failure.retry_after is None else (("Retry-After", failure.retry_after),)
            return failure.status, failure.body, headers, None
        try:
            payload = _parse_body(content_type, body)
        except ValueError:  # covers UnicodeDecodeError and json.JSONDecodeError
            return HTTPStatus.BAD_REQUEST, "invalid_payload", (), None
        error = slack_rejection(payload)
        if error is not None:
            return HTTPStatus.BAD_REQUEST, error, (), None
        if self._chart_refusal(payload) is not None:
            status, text = self.chart_refusal
            return status, text, (), None
        return HTTPStatus.OK, "ok", (), cast(dict[str, Any], payload)

    def _chart_refusal(self, payload: object) -> str | None:
        blocks = payload.get("blocks") if isinstance(payload, dict) else None
        charted = isinstance(blocks, list) and any(
            isinstance(b, dict) and b.get("type") == "data_visualization" for b in blocks
        )
        return "invalid_blocks" if self.refuse_charts and charted else None

    def _decide_api(
        self, method: str, authorization: str, body: bytes
    ) -> tuple[int, str, tuple[tuple[str, str], ...], dict[str, Any] | None]:
        """chat.postMessage: HTTP 200 and {"ok": ...} whatever the outcome, as Slack answers."""
        json_type = (("Content-Type", "application/json; charset=utf-8"),)

        def refuse(
            error: str, status: int = HTTPStatus.OK, extra: tuple[tuple[str, str], ...] = ()
        ) -> tuple[int, str, tuple[tuple[str, str], ...], None]:
            return status, json.dumps({"ok": False, "error": error}), json_type + extra, None

        if method != "POST":
            return refuse("invalid_method", HTTPStatus.METHOD_NOT_ALLOWED)
        if not authorization.startswith("Bearer "):
            return refuse("not_authed")
        if authorization.removeprefix("Bearer ") != self.bot_token:
            return refuse("invalid_auth")
        with self._lock:
            failure = self._failures.popleft() if self._failures else None
        if failure is not None:
            extra = () if failure.retry_after is None else (("Retry-After", failure.retry_after),)
            return refuse(failure.body, failure.status, extra)
        try:
            payload = json.loads(body.decode(), parse_constant=_refuse_constant)
        except ValueError:
            return refuse("invalid_json")
        if not isinstance(payload, dict) or not payload.get("channel"):
            return refuse("channel_not_found")
        message = {k: v for k, v in payload.items() if k in {"text", "blocks"}}
        error = slack_rejection(message) or self._chart_refusal(message)
        if error is not None:
            return refuse(error)
        answer = {"ok": True, "channel": payload["channel"], "ts": f"{len(self.posts) + 1}.000100"}
        return HTTPStatus.OK, json.dumps(answer), json_type, cast(dict[str, Any], payload)


# --------------------------------------------------------------------------- response_url

# A slash command's response_url: https://hooks.slack.com/commands/T.../<id>/<token> on Slack.
COMMANDS_PATH = "/commands/"
RESPONSE_URL_MAX_POSTS = 5  # "up to 5 times within 30 minutes" (Slack's slash command docs)
RESPONSE_URL_LIFETIME_SECONDS = 30 * 60
RESPONSE_TYPES = frozenset({"ephemeral", "in_channel"})


@dataclass(slots=True)
class _ResponseUrl:
    issued_at: float
    used: int = 0


class SlackCommandStandIn(SlackStandIn):
    """The Slack stand-in that also issues slash command response_urls and takes their posts.

    Each response_url takes at most RESPONSE_URL_MAX_POSTS posts within
    RESPONSE_URL_LIFETIME_SECONDS of the command (`clock`, injectable), each validated like a
    webhook message, with `response_type` ephemeral or in_channel. The refusal bodies (404
    `used_url`, 404 `expired_url`) are UNVERIFIED; the limits are Slack's documented ones.
    """

    def __init__(self, *, clock: Callable[[], float] = time.time, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.clock = clock
        self._urls: dict[str, _ResponseUrl] = {}
        self._command_posts: list[dict[str, Any]] = []
        self._command_refusals: list[tuple[int, str]] = []

    def response_url(self) -> str:
        """A new response_url on this stand-in, as Slack puts one in each command it sends."""
        path = f"{COMMANDS_PATH}T0STANDIN/{uuid.uuid4().int % 10**13}/{uuid.uuid4().hex}"
        with self._lock:
            self._urls[path] = _ResponseUrl(issued_at=self.clock())
        return f"http://127.0.0.1:{self.port}{path}"

    @property
    def command_posts(self) -> list[dict[str, Any]]:
        """Accepted response_url payloads, in arrival order (a copy)."""
        with self._lock:
            return list(self._command_posts)

    @property
    def command_refusals(self) -> list[tuple[int, str]]:
        """(status, body) of every response_url post refused, in arrival order (a copy)."""
        with self._lock:
            return list(self._command_refusals)

    def _answer(
        self, method: str, raw_path: str, content_type: str, body: bytes, *, authorization: str = ""
    ) -> tuple[int, str, tuple[tuple[str, str], ...]]:
        path = urlsplit(raw_path).path
        if not path.startswith(COMMANDS_PATH):
            return super()._answer(
                method, raw_path, content_type, body, authorization=authorization
            )
        status, text, accepted = self._decide_command(method, path, body)
        with self._lock:
            self._received.append(body)
            if accepted is not None:
                self._command_posts.append(accepted)
            else:
                self._command_refusals.append((int(status), text))
        return int(status), text, ()

    def _decide_command(
        self, method: str, path: str, body: bytes
    ) -> tuple[int, str, dict[str, Any] | None]:
        if method != "POST":
            return HTTPStatus.METHOD_NOT_ALLOWED, "invalid_method", None
        with self._lock:
            url = self._urls.get(path)
            if url is None:
                return HTTPStatus.NOT_FOUND, "no_service", None
            if self.clock() - url.issued_at > RESPONSE_URL_LIFETIME_SECONDS:
                return HTTPStatus.NOT_FOUND, "expired_url", None
            if url.used >= RESPONSE_URL_MAX_POSTS:
                return HTTPStatus.NOT_FOUND, "used_url", None
            url.used += 1
        try:
            payload = json.loads(body.decode())
        except ValueError:
            return HTTPStatus.BAD_REQUEST, "invalid_payload", None
        if not isinstance(payload, dict):
            return HTTPStatus.BAD_REQUEST, "invalid_payload", None
        if payload.get("response_type", "ephemeral") not in RESPONSE_TYPES:
            return HTTPStatus.BAD_REQUEST, "invalid_payload", None
        message = {k: v for k, v in payload.items() if k in {"text", "blocks"}}
        error = slack_rejection(message)
        if error is not None:
            return HTTPStatus.BAD_REQUEST, error, None
        if self._chart_refusal(message) is not None:
            status, text = self.chart_refusal
            return status, text, None
        return HTTPStatus.OK, "ok", payload
