"""CustomReport's request rules: method, query string and JSON body to a CustomRequest; pure."""

from __future__ import annotations

import json
import re
from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, timedelta
from enum import StrEnum
from types import MappingProxyType
from typing import TypeVar
from urllib.parse import parse_qsl

from shared.errors import InvalidRequest
from shared.schedule.periods import PeriodKind, ReportPeriod, custom_period, report_period
from shared.text_rules import format_characters
from shared.web.report_param import report_choice


class OutputFormat(StrEnum):
    """How the report is answered: report JSON, plain text, or the Slack Block Kit payload."""

    JSON = "json"
    TEXT = "text"
    BLOCKS = "blocks"


ALLOWED_PARAMETERS = (
    "period",
    "from_date",
    "to_date",
    "events",
    "send_slack",
    "send_email",
    "format",
    "dry_run",
    "idempotency_key",
    "code",
    "report",
)
# The JSON body takes every parameter but the function key (openapi.yaml CustomReportBody).
BODY_PARAMETERS = tuple(name for name in ALLOWED_PARAMETERS if name != "code")
MAX_BODY_BYTES = 64 * 1024
MAX_VALUE_CHARS = 64 * 1024
# A query-string value must fit in a URL the Azure front end carries (4 KiB in all, and
# query strings over 2 KiB are refused there); longer event lists go in a POST body.
MAX_QUERY_VALUE_CHARS = 512
# The one media type a POST body may have (parameters such as charset=utf-8 are allowed).
JSON_MEDIA_TYPE = "application/json"
# The function key: the Functions host checks it; the function neither checks nor echoes it.
FUNCTION_KEY_PARAMETER = "code"
# How many caller-supplied names one error message lists before "and N more".
MAX_SHOWN_NAMES = 3
MAX_EVENTS = 200
MAX_EVENT_NAME_CHARS = 255
MAX_SPAN_DAYS = 366
MAX_IDEMPOTENCY_KEY_CHARS = 128
# Mixpanel stores event times as Unix seconds: nothing happened before the epoch, and the
# bound keeps the comparison window (as long again, just before from_date) a real date.
EARLIEST_DATE = date(1970, 1, 1)
# Echoed parameter names (unknown or repeated) are clipped: a name is the caller's data.
MAX_SHOWN_CHARS = 64

PERIODS = MappingProxyType(
    {
        "daily": PeriodKind.DAILY,
        "weekly": PeriodKind.WEEKLY,
        "biweekly": PeriodKind.BIWEEKLY,
        "monthly": PeriodKind.MONTHLY,
    }
)
BOOLEAN_WORDS = MappingProxyType(
    {"true": True, "false": False, "1": True, "0": False, "yes": True, "no": False}
)
BOOLEAN_PARAMETERS = ("send_slack", "send_email", "dry_run")

T = TypeVar("T")

_DATE = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")
_IDEMPOTENCY_KEY = re.compile(rf"[A-Za-z0-9._:-]{{1,{MAX_IDEMPOTENCY_KEY_CHARS}}}")
# Unicode category Cc is exactly U+0000-U+001F and U+007F-U+009F; line and paragraph
# separators break lines in Slack and in logs just the same.
_CONTROL = re.compile("[\x00-\x1f\x7f-\x9f\u2028\u2029]")
_SURROGATE = re.compile("[\ud800-\udfff]")


@dataclass(frozen=True, slots=True)
class CustomRequest:
    """A valid CustomReport request: what to report, how to answer, whether to post."""

    period: ReportPeriod
    send_slack: bool
    events: tuple[str, ...] | None  # None = the configured metrics
    format: OutputFormat
    dry_run: bool
    idempotency_key: str | None
    report: str | None = None  # a [[report]] of the metrics file: its metrics and destination
    send_email: bool = False  # also email it (EMAIL_TO, or the [[report]]'s email_to)


class _JsonObject(list[tuple[str, object]]):
    """A JSON object as its (key, value) pairs, so a repeated key is seen, not overwritten."""


class _JsonNumber:
    """Any JSON number: never a valid value here, so it is not converted (no digit limits)."""


_NUMBER = _JsonNumber()

Value = str | bool | list[str]


def parse_custom_request(
    method: str,
    params: Mapping[str, str],
    body: bytes,
    *,
    today: date,
    reports: Mapping[str, PeriodKind] = MappingProxyType({}),
    query_string: str | None = None,
    content_type: str | None = JSON_MEDIA_TYPE,
) -> CustomRequest:
    """The request the caller meant; raises InvalidRequest (shared.errors) on the first broken rule.

    `today` is the local date in the app's timezone; `params` is the query string as the host
    folded it into a mapping, and `query_string` the raw one from the request URL (when known),
    in which a repeated name is still visible. `content_type` is the Content-Type header (None
    when absent); it matters only for a POST with a body.
    """
    # ASCII only: str.upper() turns 'po\u017ft' (long s) into 'POST'.
    verb = method.upper() if method.isascii() else method
    if verb not in ("GET", "POST"):
        raise InvalidRequest(
            None,
            f"method {_shown(method)} is not allowed; use GET or POST",
            code="method_not_allowed",
        )
    if verb == "GET":
        if body:
            raise InvalidRequest(
                "body",
                "a GET request takes its parameters from the query string; its body must be empty",
                code="invalid_body",
            )
        pairs: list[tuple[str, object]] = []
    else:
        if body:
            _check_content_type(content_type)
        pairs = _body_pairs(body)
    if query_string:
        _check_repeats(query_string)
    values = _merge(params, pairs)
    return _decide(values, today, reports)


def repeated_names(query_string: str) -> list[str]:
    """The names given more than once in a raw query string, in order of first appearance."""
    counts = Counter(name for name, _ in parse_qsl(query_string, keep_blank_values=True))
    return [name for name, count in counts.items() if count > 1]


def _check_repeats(query_string: str) -> None:
    repeated = repeated_names(query_string)
    if repeated:
        raise InvalidRequest(
            safe_field(repeated[0]),
            f"{_noun(repeated)} {shown_names(repeated)} "
            f"{'is' if len(repeated) == 1 else 'are'} given more than once in the query "
            "string; give each parameter once",
            code="duplicate_parameter",
        )


def _check_content_type(content_type: str | None) -> None:
    """A POST body is JSON, and says so: Content-Type application/json (charset utf-8 if any)."""
    media, _, rest = (content_type or "").partition(";")
    charset = ""
    for part in rest.split(";"):
        key, _, value = part.partition("=")
        if key.strip().lower() == "charset":
            charset = value.strip().strip('"').lower()
    if media.strip().lower() != JSON_MEDIA_TYPE or charset not in ("", "utf-8"):
        raise InvalidRequest(
            "body",
            f"a POST body must be sent with Content-Type: {JSON_MEDIA_TYPE} "
            "(charset utf-8, if given)",
            code="unsupported_media_type",
        )


def _noun(names: list[str]) -> str:
    return "parameter" if len(names) == 1 else "parameters"


def shown_names(names: list[str]) -> str:
    """At most MAX_SHOWN_NAMES caller-supplied names, each clipped, then "and N more"."""
    listed = ", ".join(_shown(name) for name in names[:MAX_SHOWN_NAMES])
    more = len(names) - MAX_SHOWN_NAMES
    return f"{listed} and {more} more" if more > 0 else listed


def _shown(name: str) -> str:
    """A caller-supplied name, clipped and quoted so it is safe to put in a message."""
    clipped = name if len(name) <= MAX_SHOWN_CHARS else name[:MAX_SHOWN_CHARS] + "..."
    return _encodable(repr(clipped))


def safe_field(name: str) -> str:
    """A caller-supplied name as an error's `field`: clipped and always UTF-8 encodable."""
    return _encodable(name if len(name) <= MAX_SHOWN_CHARS else name[:MAX_SHOWN_CHARS] + "...")


def _encodable(text: str) -> str:
    return text.encode("utf-8", "backslashreplace").decode("utf-8")


def _reject_constant(name: str) -> object:
    raise ValueError(f"{name} is not JSON")


def _number(_: str) -> object:
    return _NUMBER


def _body_pairs(body: bytes) -> list[tuple[str, object]]:
    """The top-level (name, value) pairs of a POST body; empty bytes mean {}."""
    if len(body) > MAX_BODY_BYTES:
        raise InvalidRequest(
            "body", f"body must be at most {MAX_BODY_BYTES} bytes", code="body_too_large"
        )
    if not body:
        return []
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError:
        raise InvalidRequest("body", "body is not valid UTF-8", code="invalid_body") from None
    try:
        parsed = json.loads(
            text,
            object_pairs_hook=_JsonObject,
            parse_int=_number,
            parse_float=_number,
            parse_constant=_reject_constant,
        )
    except RecursionError:
        raise InvalidRequest(
            "body", "body is nested too deeply to parse", code="invalid_body"
        ) from None
    except ValueError:
        raise InvalidRequest("body", "body is not valid JSON", code="invalid_body") from None
    if not isinstance(parsed, _JsonObject):
        raise InvalidRequest("body", "body must be a JSON object", code="invalid_body")
    seen: set[str] = set()
    for name, _ in parsed:
        if name in seen:
            raise InvalidRequest(
                safe_field(name),
                f"parameter {_shown(name)} is given more than once in the body",
                code="duplicate_parameter",
            )
        seen.add(name)
    return list(parsed)


def _merge(params: Mapping[str, str], pairs: list[tuple[str, object]]) -> dict[str, Value]:
    """Query string and body as one name -> value map, every value of an allowed type."""
    body = dict(pairs)
    unknown = sorted((set(params) | set(body)) - set(ALLOWED_PARAMETERS))
    if unknown:
        raise InvalidRequest(
            safe_field(unknown[0]),
            f"unknown {_noun(unknown)} {shown_names(unknown)}; "
            f"allowed: {', '.join(ALLOWED_PARAMETERS)}",
            code="unknown_parameter",
        )
    both = sorted(set(params) & set(body))
    if both:
        raise InvalidRequest(
            both[0],
            f"{both[0]} is given both in the query string and the body; give it once",
            code="duplicate_parameter",
        )
    if FUNCTION_KEY_PARAMETER in body:
        raise InvalidRequest(
            FUNCTION_KEY_PARAMETER,
            "code is the function key: send it in the query string or the x-functions-key "
            "header, never in the body",
        )
    values: dict[str, Value] = {}
    for name in ALLOWED_PARAMETERS:
        if name == FUNCTION_KEY_PARAMETER:
            continue  # the host's business: neither checked nor kept here
        if name in params:
            if len(params[name]) > MAX_QUERY_VALUE_CHARS:
                raise InvalidRequest(
                    name,
                    f"{name} must be at most {MAX_QUERY_VALUE_CHARS} characters in the query "
                    "string; send longer values in a POST body",
                )
            values[name] = _typed(name, params[name])
        elif name in body:
            values[name] = _typed(name, body[name])
    return values


def _typed(name: str, value: object) -> Value:
    """`value` if its JSON type is allowed for `name` and each string in it is sane."""
    if isinstance(value, str):
        _check_text(name, value)
        return value
    if name in BOOLEAN_PARAMETERS:
        if isinstance(value, bool):
            return value
        raise InvalidRequest(
            name, f"{name} must be a JSON boolean or a string", code="invalid_type"
        )
    if name == "events":
        if isinstance(value, list) and not isinstance(value, _JsonObject):
            items = [item for item in value if isinstance(item, str)]
            if len(items) == len(value):
                for item in items:
                    _check_text(name, item)
                return items
        raise InvalidRequest(
            name, "events must be a string or a list of strings", code="invalid_type"
        )
    raise InvalidRequest(name, f"{name} must be a string", code="invalid_type")


def check_query_value(name: str, value: str) -> None:
    """A query-string value's rules: at most MAX_QUERY_VALUE_CHARS, then those of any string."""
    if len(value) > MAX_QUERY_VALUE_CHARS:
        raise InvalidRequest(
            name,
            f"{name} must be at most {MAX_QUERY_VALUE_CHARS} characters in the query "
            "string; send longer values in a POST body",
        )
    _check_text(name, value)


def _check_text(name: str, text: str) -> None:
    """Defence in depth for every string: bounded, no NUL, no format character, valid UTF-8."""
    if len(text) > MAX_VALUE_CHARS:
        raise InvalidRequest(name, f"{name} must be at most {MAX_VALUE_CHARS} characters")
    if "\x00" in text:
        raise InvalidRequest(name, f"{name} must not contain NUL characters")
    if _SURROGATE.search(text):
        raise InvalidRequest(name, f"{name} must be valid Unicode text (no lone surrogates)")
    check_format_characters(name, text)


def check_format_characters(name: str, text: str) -> None:
    """Refuse invisible format characters (U+202E reorders text, U+200B hides in names).

    Joiners too: a request names events and rules, where a hidden U+200D is a second name.
    """
    found = format_characters(text)
    if found:
        position, char = found[0]
        raise InvalidRequest(
            name,
            f"{name} must not contain invisible format characters (Unicode category Cf); "
            f"character {position} is U+{ord(char):04X}",
        )


def _decide(
    values: Mapping[str, Value], today: date, reports: Mapping[str, PeriodKind]
) -> CustomRequest:
    """The CustomRequest for well-typed values; the rules are checked in a fixed order."""
    report = report_choice(values, reports)
    period = _period(values, today, reports[report] if report else PeriodKind.DAILY)
    send_slack = _boolean(values, "send_slack", default=True)
    send_email = _boolean(values, "send_email", default=False)
    dry_run = _boolean(values, "dry_run", default=False)
    events = _events(values.get("events"))
    output = _choice(values, "format", {f.value: f for f in OutputFormat}, OutputFormat.JSON)
    key = values.get("idempotency_key")
    if key is not None:
        if not isinstance(key, str) or not _IDEMPOTENCY_KEY.fullmatch(key):
            raise InvalidRequest(
                "idempotency_key",
                f"idempotency_key must be 1 to {MAX_IDEMPOTENCY_KEY_CHARS} characters "
                "from A-Z a-z 0-9 . _ : -",
            )
        if not send_slack:
            raise InvalidRequest(
                "idempotency_key",
                "idempotency_key only applies when send_slack is true",
                code="conflicting_parameters",
            )
    return CustomRequest(
        period=period,
        send_slack=send_slack,
        events=events,
        format=output,
        dry_run=dry_run,
        idempotency_key=key if isinstance(key, str) else None,
        report=report,
        send_email=send_email,
    )


def _word(value: Value) -> str | None:
    """A keyword value trimmed and lower-cased; None unless it is plain ASCII text."""
    if not isinstance(value, str):
        return None
    word = value.strip()
    # ASCII only: str.lower() maps e.g. KELVIN SIGN to 'k', which must not spell 'weekly'.
    return word.lower() if word.isascii() else None


def _choice(values: Mapping[str, Value], name: str, choices: Mapping[str, T], default: T) -> T:
    if name not in values:
        return default
    word = _word(values[name])
    if word is None or word not in choices:
        raise InvalidRequest(name, f"{name} must be one of {', '.join(choices)}")
    return choices[word]


def _period(values: Mapping[str, Value], today: date, default: PeriodKind) -> ReportPeriod:
    has_range = "from_date" in values or "to_date" in values
    if "period" in values and has_range:
        raise InvalidRequest(
            "period",
            "period cannot be combined with from_date/to_date; a date range is its own period",
            code="conflicting_parameters",
        )
    if not has_range:
        return report_period(_choice(values, "period", PERIODS, default), today)
    if "from_date" not in values:
        raise InvalidRequest(
            "from_date", "from_date is required when to_date is given", code="missing_parameter"
        )
    if "to_date" not in values:
        raise InvalidRequest(
            "to_date", "to_date is required when from_date is given", code="missing_parameter"
        )
    start = _date(values, "from_date")
    end = _date(values, "to_date")
    if start < EARLIEST_DATE:
        raise InvalidRequest(
            "from_date",
            f"from_date must be {EARLIEST_DATE.isoformat()} or later: "
            "Mixpanel has no events before the Unix epoch",
        )
    if end < start:
        raise InvalidRequest("to_date", "to_date must be on or after from_date")
    yesterday = today - timedelta(days=1)
    if end > yesterday:
        raise InvalidRequest(
            "to_date",
            f"to_date must be yesterday ({yesterday.isoformat()}) or earlier: "
            "reports cover whole days",
        )
    days = (end - start).days + 1
    if days > MAX_SPAN_DAYS:
        raise InvalidRequest(
            "to_date",
            f"from_date to to_date must span at most {MAX_SPAN_DAYS} days inclusive; "
            f"this range spans {days}",
        )
    return custom_period(start, end)


def _date(values: Mapping[str, Value], name: str) -> date:
    value = values[name]
    if not isinstance(value, str) or not _DATE.fullmatch(value):
        raise InvalidRequest(name, f"{name} must be a date in YYYY-MM-DD form", code="invalid_date")
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise InvalidRequest(
            name, f"{name} is not a real calendar date", code="invalid_date"
        ) from None


def _boolean(values: Mapping[str, Value], name: str, *, default: bool) -> bool:
    if name not in values:
        return default
    value = values[name]
    if isinstance(value, bool):
        return value
    word = _word(value)
    if word is None or word not in BOOLEAN_WORDS:
        raise InvalidRequest(
            name, f"{name} must be one of {', '.join(BOOLEAN_WORDS)}", code="invalid_boolean"
        )
    return BOOLEAN_WORDS[word]


def _events(value: Value | None) -> tuple[str, ...] | None:
    """The event names asked for, trimmed, first occurrence kept; None = configured metrics."""
    if value is None:
        return None
    if isinstance(value, bool):  # unreachable after _typed; keeps the type narrow
        raise InvalidRequest("events", "events must be a string or a list of strings")
    items = value.split(",") if isinstance(value, str) else value
    if not any(item.strip() for item in items):
        raise InvalidRequest("events", "events must name at least one event")
    names: dict[str, None] = {}
    for position, item in enumerate(items, start=1):
        # Checked before trimming, so a trailing newline or tab is refused, not hidden.
        if _CONTROL.search(item):
            raise InvalidRequest("events", f"events: name {position} contains a control character")
        name = item.strip()
        if not name:
            raise InvalidRequest(
                "events", f"events: name {position} is empty (check for a stray comma)"
            )
        if len(name) > MAX_EVENT_NAME_CHARS:
            raise InvalidRequest(
                "events",
                f"events: name {position} is longer than {MAX_EVENT_NAME_CHARS} characters",
            )
        names.setdefault(name)
    if len(names) > MAX_EVENTS:
        raise InvalidRequest(
            "events", f"events must name at most {MAX_EVENTS} distinct events; got {len(names)}"
        )
    return tuple(names)
