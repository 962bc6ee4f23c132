"""A loopback stand-in for Mixpanel's Query API (/events, /events/names, /insights) and Raw Export
API; modes for a plan without the Query API, duplicate export lines, the first weekday, a project
created before 2023 (export days and `time` in the project timezone) and Data Views."""

import argparse
import base64
import binascii
import json
import re
import signal
import sys
import threading
import time
import zlib
from bisect import bisect_left
from collections import Counter, deque
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler
from json.encoder import encode_basestring_ascii as _quote
from operator import attrgetter
from typing import Any, cast
from urllib.parse import parse_qs, urlsplit
from zoneinfo import ZoneInfo

from devtools.loopback import LoopbackServer, LoopbackService
from devtools.sample_data import SAMPLE_TIMEZONE, RawEvent, sample_project

DEMO_USERNAME = "demo-user"
DEMO_SECRET = "demo-secret"
DEMO_PROJECT_ID = "424242"

NAMES_WINDOW_DAYS = 31
DEFAULT_NAMES_LIMIT = 255
MAX_EXPORT_LIMIT = 100_000
EXPORT_CHUNK_BYTES = 64 * 1024
QUERY_PREFIXES = ("/api/query", "/api/2.0")
EXPORT_PATH = "/api/2.0/export"
EVENT_TYPES = ("general", "unique", "average")
UNITS = ("minute", "hour", "day", "week", "month")
SUPPORTED_UNITS = ("hour", "day", "week", "month")
RATE_LIMIT_MESSAGE = (
    "Query rate limit exceeded for project_id: {project_id}. 5/5 queries running concurrently "
    "and 61/60 queries running in the last hour. For more information, please consult our "
    "documentation at https://help.mixpanel.com/hc/en-us/articles/"
    "115004602563-Rate-Limits-for-Export-API-Endpoints"
)
_DATE_PATTERN = re.compile(r"\d{4}-\d{2}-\d{2}")

# How often the serving thread checks for stop(); small so tests tear down quickly.


@dataclass(frozen=True, slots=True)
class RecordedRequest:
    """One request the stand-in received, as the client sent it."""

    method: str
    path: str
    query: dict[str, str]  # single-valued query params (the last value wins)
    authorization: str | None  # the raw Authorization header


@dataclass(frozen=True, slots=True)
class SavedReport:
    """A saved Insights report: unique users of `events` (None = every non-$ event), one number
    over the local days from_date..to_date (a bar chart)."""

    from_date: date
    to_date: date
    events: tuple[str, ...] | None = None
    name: str = "Unique users"


def dedupe(events: Iterable[RawEvent]) -> list[RawEvent]:
    """The events Mixpanel counts: one per (event, distinct_id, time in ms, $insert_id); an event
    without $insert_id is always its own (reference/event-deduplication.mdx)."""
    seen: set[tuple[str, str, int, str]] = set()
    kept = []
    for event in events:
        key = (event.name, event.distinct_id, event.time * 1000 + event.ms, event.insert_id)
        if event.insert_id and key in seen:
            continue
        seen.add(key)
        kept.append(event)
    return kept


@dataclass(frozen=True, slots=True)
class _Failure:
    status: int
    retry_after: str | None
    body: str | None
    path_prefix: str


@dataclass(frozen=True, slots=True)
class _Response:
    status: int
    body: bytes = b""
    content_type: str = "application/json"
    headers: tuple[tuple[str, str], ...] = ()
    stream: Iterator[bytes] | None = None  # sent with chunked transfer encoding when set


class _BadRequest(Exception):
    """A request the stand-in answers with a Mixpanel-shaped error body."""

    def __init__(self, message: str, status: int = 400) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


def _local_midnight(day: date, tz: ZoneInfo) -> int:
    """UTC epoch at which the local `day` starts (fold=0 also handles a midnight in a DST gap)."""
    return int(datetime.combine(day, datetime.min.time(), tz).timestamp())


def _wall_clock(epoch: int, tz: ZoneInfo) -> int:
    """A pre-2023 project's stored `time`: the local wall-clock reading of `epoch` in `tz`, as
    seconds since 1970-01-01 00:00 on that clock (both autumn 01:30s read the same)."""
    offset = datetime.fromtimestamp(epoch, tz).utcoffset()
    return epoch + int(offset.total_seconds()) if offset is not None else epoch


def _utc_midnight(day: date) -> int:
    return int(datetime.combine(day, datetime.min.time(), UTC).timestamp())


def _week_start(day: date, first_weekday: int = 0) -> date:
    return day - timedelta(days=(day.weekday() - first_weekday) % 7)


def _month_start(day: date) -> date:
    return day.replace(day=1)


def _add_months(day: date, months: int) -> date:
    index = day.year * 12 + day.month - 1 + months
    return date(index // 12, index % 12 + 1, 1)


def _parse_date(query: dict[str, str], name: str) -> date:
    raw = query.get(name)
    if raw is None:
        raise _BadRequest(f"{name} is a required parameter")
    if not _DATE_PATTERN.fullmatch(raw):
        raise _BadRequest(f"{name} must be a date in yyyy-mm-dd format, got {raw!r}")
    try:
        return date.fromisoformat(raw)
    except ValueError:
        raise _BadRequest(f"{name} is not a valid date: {raw!r}") from None


def _parse_names(raw: str, name: str) -> list[str]:
    try:
        parsed: Any = json.loads(raw)
    except ValueError:
        raise _BadRequest(f"{name} must be a JSON array of strings, got {raw!r}") from None
    if not isinstance(parsed, list) or not all(isinstance(item, str) for item in parsed):
        raise _BadRequest(f"{name} must be a JSON array of strings, got {raw!r}")
    return cast(list[str], parsed)


def _json(value: object) -> bytes:
    return json.dumps(value).encode()


class _EventIndex:
    """Events sorted by time with per-local-day counts and distinct ids per event."""

    def __init__(self, events: Iterable[RawEvent], tz: ZoneInfo) -> None:
        self.tz = tz
        self.events = sorted(events, key=attrgetter("time"))
        self.times = [event.time for event in self.events]
        self.counts: dict[date, Counter[str]] = {}
        self.users: dict[date, dict[str, set[str]]] = {}
        if not self.events:
            return
        day = datetime.fromtimestamp(self.times[0], tz).date()
        last = datetime.fromtimestamp(self.times[-1], tz).date()
        lo = 0
        while day <= last:
            hi = bisect_left(self.times, _local_midnight(day + timedelta(days=1), tz), lo)
            todays = self.events[lo:hi]
            if todays:
                self.counts[day] = Counter(map(attrgetter("name"), todays))
                users: dict[str, set[str]] = {}
                for event in todays:
                    users.setdefault(event.name, set()).add(event.distinct_id)
                self.users[day] = users
            lo = hi
            day += timedelta(days=1)

    def count(self, day: date, name: str) -> int:
        counts = self.counts.get(day)
        return counts[name] if counts is not None else 0

    def distinct_ids(self, day: date, name: str) -> set[str]:
        return self.users.get(day, {}).get(name, set())

    def slice(self, start: int, end: int) -> tuple[int, int]:
        """Index range of the events with start <= time < end."""
        return bisect_left(self.times, start), bisect_left(self.times, end)


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def do_GET(self) -> None:
        self._dispatch()

    def do_POST(self) -> None:
        self._dispatch()

    def do_PUT(self) -> None:
        self._dispatch()

    def do_DELETE(self) -> None:
        self._dispatch()

    def log_message(self, format: str, *args: Any) -> None:
        """Keep test and demo output quiet."""

    def _dispatch(self) -> None:
        app = cast(MixpanelStandIn, cast(LoopbackServer, self.server).app)
        length = int(self.headers.get("Content-Length") or 0)
        if length:
            self.rfile.read(length)
        app._enter()
        try:
            response = app._serve(self.command, self.path, self.headers.get("Authorization"))
            self._write(response)
        except (BrokenPipeError, ConnectionResetError):
            self.close_connection = True
        finally:
            app._leave()

    def _write(self, response: _Response) -> None:
        self.send_response(response.status)
        self.send_header("Content-Type", response.content_type)
        for name, value in response.headers:
            self.send_header(name, value)
        if response.stream is None:
            self.send_header("Content-Length", str(len(response.body)))
            self.end_headers()
            self.wfile.write(response.body)
            return
        self.send_header("Transfer-Encoding", "chunked")
        self.end_headers()
        for chunk in response.stream:
            if chunk:
                self.wfile.write(b"%x\r\n%s\r\n" % (len(chunk), chunk))
        self.wfile.write(b"0\r\n\r\n")


class MixpanelStandIn(LoopbackService):
    """Serves a list of RawEvents through Mixpanel's Query and Export endpoints on loopback."""

    service_name = "Mixpanel stand-in"
    handler = _Handler

    def __init__(
        self,
        events: Iterable[RawEvent],
        *,
        username: str,
        secret: str,
        project_id: str,
        timezone: str = SAMPLE_TIMEZONE,
        latency: float = 0.0,
        today: date | None = None,
        export_in_utc: bool = True,
        query_api_status: int | None = None,
        workspace_id: str | None = None,
        duplicate_every: int = 0,
        first_weekday: int = 0,
        saved_reports: dict[str, SavedReport] | None = None,
    ) -> None:
        super().__init__()
        self.username = username
        self.secret = secret
        self.project_id = project_id
        self.tz = ZoneInfo(timezone)
        self.latency = latency
        # False: a project created before 2023. Its export's from_date/to_date are days of the
        # project timezone AND its `time` is local wall-clock seconds (the UTC epoch shifted by
        # the offset then in force), not a UTC epoch (export.openapi.yaml, export-methods.mdx).
        self.export_in_utc = export_in_utc
        # A project with Data Views: every Query and Export request must name its global view.
        self.workspace_id = workspace_id
        self._today = today
        raw = list(events)
        # The Query API answers from deduplicated events; the export serves every raw line.
        self._index = _EventIndex(dedupe(raw), self.tz)
        self._raw = _EventIndex(raw, self.tz) if len(raw) != len(self._index.events) else None
        # Modes: a plan without the Query API (402/403 from every Query API endpoint while the
        # export works); a copy of every Nth export line; the project's first weekday.
        self.query_api_status = query_api_status
        self.duplicate_every = duplicate_every
        self.first_weekday = first_weekday
        self.saved_reports = dict(saved_reports or {})
        self._expected_auth = f"{username}:{secret}"
        self._lock = threading.Lock()
        self._requests: list[RecordedRequest] = []
        self._failures: deque[_Failure] = deque()
        self._truncations: deque[str] = deque()
        self._in_flight = 0
        self._max_in_flight = 0

    # Lifecycle

    def start(self, *, port: int = 0) -> str:
        """Serve on 127.0.0.1:`port` (0 = any free port) in a daemon thread; return the origin."""
        self._listen(port)
        return self.origin

    @property
    def origin(self) -> str:
        """http://127.0.0.1:PORT of the running stand-in."""
        return f"http://127.0.0.1:{self.port}"

    # What happened

    @property
    def requests(self) -> list[RecordedRequest]:
        """Every request received so far, failed ones included, in arrival order (a copy)."""
        with self._lock:
            return list(self._requests)

    @property
    def max_in_flight(self) -> int:
        """The most requests ever handled at the same time."""
        with self._lock:
            return self._max_in_flight

    @property
    def today(self) -> date:
        """The stand-in's today: the fixed `today`, else the clock's date in the timezone."""
        return self._today if self._today is not None else datetime.now(self.tz).date()

    # Fault injection

    def fail_next(
        self,
        status: int,
        *,
        times: int = 1,
        retry_after: str | None = None,
        body: str | None = None,
        path_prefix: str = "",
    ) -> None:
        """Answer the next `times` requests whose path starts with `path_prefix` with `status`.

        The default body is Mixpanel's JSON error shape (its real rate-limit text for 429).
        Queued failures are consumed first in, first out.
        """
        failure = _Failure(status, retry_after, body, path_prefix)
        with self._lock:
            self._failures.extend([failure] * times)

    def clear_failures(self) -> None:
        """Forget every queued failure: the outage is over."""
        with self._lock:
            self._failures.clear()

    def truncate_next(self, *, path_prefix: str = "") -> None:
        """Cut the next matching response body in half (invalid JSON, honest Content-Length)."""
        with self._lock:
            self._truncations.append(path_prefix)

    # Request handling (called from server threads)

    def _enter(self) -> None:
        with self._lock:
            self._in_flight += 1
            self._max_in_flight = max(self._max_in_flight, self._in_flight)

    def _leave(self) -> None:
        with self._lock:
            self._in_flight -= 1

    def _take_failure(self, path: str) -> _Failure | None:
        with self._lock:
            for failure in self._failures:
                if path.startswith(failure.path_prefix):
                    self._failures.remove(failure)
                    return failure
        return None

    def _take_truncation(self, path: str) -> bool:
        with self._lock:
            for prefix in self._truncations:
                if path.startswith(prefix):
                    self._truncations.remove(prefix)
                    return True
        return False

    def _serve(self, method: str, raw_path: str, authorization: str | None) -> _Response:
        split = urlsplit(raw_path)
        query = {
            name: values[-1]
            for name, values in parse_qs(split.query, keep_blank_values=True).items()
        }
        with self._lock:
            self._requests.append(RecordedRequest(method, split.path, query, authorization))
        if self.latency > 0:
            time.sleep(self.latency)
        failure = self._take_failure(split.path)
        if failure is not None:
            response = self._failure_response(failure, raw_path)
        else:
            try:
                response = self._route(method, split.path, query, authorization)
            except _BadRequest as error:
                response = _Response(
                    error.status, _json({"request": raw_path, "error": error.message})
                )
        if self._take_truncation(split.path):
            body = response.body if response.stream is None else b"".join(response.stream)
            response = _Response(
                response.status, body[: len(body) // 2], response.content_type, response.headers
            )
        return response

    def _failure_response(self, failure: _Failure, raw_path: str) -> _Response:
        headers = () if failure.retry_after is None else (("Retry-After", failure.retry_after),)
        if failure.body is not None:
            try:
                json.loads(failure.body)
                content_type = "application/json"
            except ValueError:
                content_type = "text/plain; charset=utf-8"
            return _Response(failure.status, failure.body.encode(), content_type, headers)
        if failure.status == HTTPStatus.TOO_MANY_REQUESTS:
            message = RATE_LIMIT_MESSAGE.format(project_id=self.project_id)
        else:
            try:
                message = HTTPStatus(failure.status).phrase
            except ValueError:
                message = "Unknown error"
        return _Response(
            failure.status, _json({"request": raw_path, "error": message}), headers=headers
        )

    def _route(
        self, method: str, path: str, query: dict[str, str], authorization: str | None
    ) -> _Response:
        if path == EXPORT_PATH:
            handler = self._export
        elif path in {f"{prefix}/events" for prefix in QUERY_PREFIXES}:
            handler = self._events
        elif path in {f"{prefix}/events/names" for prefix in QUERY_PREFIXES}:
            handler = self._names
        elif path in {f"{prefix}/insights" for prefix in QUERY_PREFIXES}:
            handler = self._insights
        else:
            raise _BadRequest("Invalid API endpoint", HTTPStatus.NOT_FOUND)
        if method != "GET":
            raise _BadRequest(f"{method} is not allowed here", HTTPStatus.METHOD_NOT_ALLOWED)
        self._authorize(query, authorization)
        if self.workspace_id is not None and query.get("workspace_id") != self.workspace_id:
            raise _BadRequest(
                f"this project uses Data Views: workspace_id={self.workspace_id} is required "
                f"(got {query.get('workspace_id')!r})"
            )
        if self.query_api_status is not None and path != EXPORT_PATH:
            raise _BadRequest(
                "Your plan does not include access to the Query API", self.query_api_status
            )
        return handler(query)

    def _authorize(self, query: dict[str, str], authorization: str | None) -> None:
        scheme, _, encoded = (authorization or "").partition(" ")
        try:
            credentials = base64.b64decode(encoded, validate=True).decode()
        except (binascii.Error, UnicodeDecodeError):
            credentials = ""
        if scheme.lower() != "basic" or credentials != self._expected_auth:
            raise _BadRequest("Unauthorized: invalid credentials", HTTPStatus.UNAUTHORIZED)
        project_id = query.get("project_id")
        if not project_id:
            raise _BadRequest("project_id is required when authenticating with a service account")
        if project_id != self.project_id:
            raise _BadRequest(
                f"Permission denied: this service account has no access to project {project_id}",
                HTTPStatus.FORBIDDEN,
            )

    # Endpoints

    def _names(self, query: dict[str, str]) -> _Response:
        kind = query.get("type")
        if kind not in EVENT_TYPES:
            raise _BadRequest(f"type must be one of {', '.join(EVENT_TYPES)}, got {kind!r}")
        raw_limit = query.get("limit", str(DEFAULT_NAMES_LIMIT))
        if not raw_limit.isdigit() or int(raw_limit) < 1:
            raise _BadRequest(f"limit must be a positive integer, got {raw_limit!r}")
        today = self.today
        totals: Counter[str] = Counter()
        for offset in range(NAMES_WINDOW_DAYS):
            totals.update(self._index.counts.get(today - timedelta(days=offset), Counter()))
        ranked = sorted(totals, key=lambda name: (-totals[name], name))
        return _Response(HTTPStatus.OK, _json(ranked[: int(raw_limit)]))

    def _events(self, query: dict[str, str]) -> _Response:
        if "event" not in query:
            raise _BadRequest("event is a required parameter")
        names = list(dict.fromkeys(_parse_names(query["event"], "event")))
        kind = query.get("type")
        if kind not in EVENT_TYPES:
            raise _BadRequest(f"type must be one of {', '.join(EVENT_TYPES)}, got {kind!r}")
        if kind == "average":
            raise _BadRequest("type=average is not supported by stand-in")
        unit = query.get("unit")
        if unit not in UNITS:
            raise _BadRequest(f"unit must be one of {', '.join(UNITS)}, got {unit!r}")
        if unit not in SUPPORTED_UNITS:
            raise _BadRequest(f"unit={unit} is not supported by stand-in")
        if unit == "hour":
            return self._hourly_events(query, names, kind)
        start, end = self._date_range(query, unit)
        buckets = self._buckets(start, end, unit)
        values: dict[str, dict[str, int]] = {}
        for name in names:
            per_bucket: dict[str, int] = {}
            for key, days in buckets.items():
                if kind == "general":
                    per_bucket[key] = sum(self._index.count(day, name) for day in days)
                else:
                    seen: set[str] = set()
                    for day in days:
                        seen |= self._index.distinct_ids(day, name)
                    per_bucket[key] = len(seen)
            values[name] = per_bucket
        body = {"data": {"series": list(buckets), "values": values}, "legend_size": len(names)}
        return _Response(HTTPStatus.OK, _json(body))

    def _hourly_events(self, query: dict[str, str], names: list[str], kind: str) -> _Response:
        """Totals per local wall-clock hour (`YYYY-MM-DD HH:00:00`); no hourly uniques."""
        if kind != "general":
            raise _BadRequest("you cannot get hourly uniques")
        if "from_date" not in query and "to_date" not in query:
            raise _BadRequest("unit=hour needs from_date and to_date in the stand-in")
        start, end = self._date_range(query, "day")
        keys: list[str] = []
        counts: dict[str, Counter[str]] = {}
        day = start
        while day <= end:
            # Step through real hours: the repeated autumn hour lands in one wall-clock bucket.
            moment, stop = (
                _local_midnight(day, self.tz),
                _local_midnight(day + timedelta(1), self.tz),
            )
            while moment < stop:
                key = datetime.fromtimestamp(moment, self.tz).strftime("%Y-%m-%d %H:00:00")
                if key not in counts:
                    keys.append(key)
                    counts[key] = Counter()
                lo, hi = self._index.slice(moment, moment + 3600)
                counts[key].update(e.name for e in self._index.events[lo:hi])
                moment += 3600
            day += timedelta(days=1)
        values = {name: {key: counts[key][name] for key in keys} for name in names}
        body = {"data": {"series": keys, "values": values}, "legend_size": len(names)}
        return _Response(HTTPStatus.OK, _json(body))

    def _date_range(self, query: dict[str, str], unit: str) -> tuple[date, date]:
        today = self.today
        if "from_date" in query or "to_date" in query:
            start, end = _parse_date(query, "from_date"), _parse_date(query, "to_date")
        elif "interval" in query:
            raw = query["interval"]
            if not raw.isdigit() or int(raw) < 1:
                raise _BadRequest(f"interval must be a positive integer, got {raw!r}")
            back = int(raw) - 1
            end = today
            if unit == "day":
                start = today - timedelta(days=back)
            elif unit == "week":
                start = _week_start(today, self.first_weekday) - timedelta(weeks=back)
            else:
                start = _add_months(_month_start(today), -back)
        else:
            raise _BadRequest("from_date and to_date (or interval) are required")
        if start > end:
            raise _BadRequest(f"from_date {start} is later than to_date {end}")
        if end > today:
            raise _BadRequest(f"to_date cannot be later than today ({today.isoformat()})")
        return start, end

    def _buckets(self, start: date, end: date, unit: str) -> dict[str, list[date]]:
        """Bucket key -> the local days of [start, end] in that bucket, keys in date order."""
        buckets: dict[str, list[date]] = {}
        day = start
        while day <= end:
            if unit == "day":
                key = day
            elif unit == "week":
                key = _week_start(day, self.first_weekday)
            else:
                key = _month_start(day)
            buckets.setdefault(key.isoformat(), []).append(day)
            day += timedelta(days=1)
        return buckets

    def _insights(self, query: dict[str, str]) -> _Response:
        bookmark = query.get("bookmark_id", "")
        saved = self.saved_reports.get(bookmark)
        if saved is None:
            raise _BadRequest(f"Report {bookmark!r} not found", HTTPStatus.NOT_FOUND)
        users: set[str] = set()
        day = saved.from_date
        while day <= saved.to_date:
            for name, ids in self._index.users.get(day, {}).items():
                if name.startswith("$") if saved.events is None else name not in saved.events:
                    continue
                users |= ids
            day += timedelta(days=1)

        def stamp(day: date, last_moment: bool) -> str:
            at = datetime.max.time().replace(microsecond=999000) if last_moment else None
            return datetime.combine(day, at or datetime.min.time(), self.tz).isoformat()

        body = {  # shaped like query.openapi.yaml's /insights example (local offsets)
            "computed_at": datetime.now(UTC).isoformat(),
            "date_range": {
                "from_date": stamp(saved.from_date, last_moment=False),
                "to_date": stamp(saved.to_date, last_moment=True),
            },
            "headers": ["$event"],
            "series": {saved.name: {"all": len(users)}},
        }
        return _Response(HTTPStatus.OK, _json(body))

    def _export(self, query: dict[str, str]) -> _Response:
        start, end = _parse_date(query, "from_date"), _parse_date(query, "to_date")
        if start > end:
            raise _BadRequest(f"from_date {start} is later than to_date {end}")
        wanted = set(_parse_names(query["event"], "event")) if "event" in query else None
        limit: int | None = None
        if "limit" in query:
            raw = query["limit"]
            if not raw.isdigit() or not 1 <= int(raw) <= MAX_EXPORT_LIMIT:
                raise _BadRequest(f"limit must be an integer from 1 to {MAX_EXPORT_LIMIT}")
            limit = int(raw)
        in_ms = query.get("time_in_ms", "").lower() in {"1", "true"}
        if self.export_in_utc:
            bounds = (_utc_midnight(start), _utc_midnight(end + timedelta(days=1)))
        else:
            bounds = (
                _local_midnight(start, self.tz),
                _local_midnight(end + timedelta(days=1), self.tz),
            )
        index = self._raw or self._index
        lo, hi = index.slice(*bounds)
        stream = self._export_lines(index, lo, hi, wanted, limit, in_ms)
        return _Response(HTTPStatus.OK, content_type="text/plain; charset=utf-8", stream=stream)

    def _export_lines(
        self,
        index: _EventIndex,
        lo: int,
        hi: int,
        wanted: set[str] | None,
        limit: int | None,
        in_ms: bool,
    ) -> Iterator[bytes]:
        """JSONL in chunks of about EXPORT_CHUNK_BYTES, generated lazily from the index.

        With `duplicate_every` = N, every Nth line is sent twice, as Mixpanel's export does
        with events sent twice (same event, distinct_id, time and $insert_id).
        """
        events = index.events
        every = self.duplicate_every
        tz = None if self.export_in_utc else self.tz
        quoted: dict[str, str] = {}  # few distinct names: quote each once
        buffer: list[bytes] = []
        size = sent = 0
        for position in range(lo, hi):
            event = events[position]
            if wanted is not None and event.name not in wanted:
                continue
            if limit is not None and sent >= limit:
                break
            processed_ms = event.time * 1000 + 500 + zlib.crc32(event.insert_id.encode()) % 90_000
            stamp = event.time if tz is None else _wall_clock(event.time, tz)
            when = stamp * 1000 + event.ms if in_ms else stamp
            name = quoted.get(event.name)
            if name is None:
                name = quoted[event.name] = _quote(event.name)
            insert = f'"$insert_id":{_quote(event.insert_id)},' if event.insert_id else ""
            line = (
                f'{{"event":{name},"properties":{{"time":{when},'
                f'"distinct_id":{_quote(event.distinct_id)},{insert}'
                f'"mp_processing_time_ms":{processed_ms}{_properties_json(event)}}}}}\n'
            )
            encoded = line.encode()
            # Only a line with $insert_id can be a duplicate: one without is its own event.
            copies = 2 if every and event.insert_id and position % every == every - 1 else 1
            for _ in range(copies):
                if limit is not None and sent >= limit:
                    break
                buffer.append(encoded)
                size += len(encoded)
                sent += 1
            if size >= EXPORT_CHUNK_BYTES:
                yield b"".join(buffer)
                buffer, size = [], 0
        if buffer:
            yield b"".join(buffer)


def _properties_json(event: RawEvent) -> str:
    """The event's own properties, each as ',"name":value' after the export's fixed ones."""
    return "".join(f",{_quote(k)}:{json.dumps(v)}" for k, v in event.properties)


def main(argv: list[str] | None = None) -> None:
    """Serve the sample project with the demo credentials until interrupted."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--port", type=int, default=8123)
    parser.add_argument("--latency", type=float, default=0.0, help="seconds before each answer")
    parser.add_argument("--days", type=int, default=120, help="local days of sample data")
    parser.add_argument("--users", type=int, default=4000)
    parser.add_argument(
        "--pre-2023",
        action="store_true",
        help="a project created before 2023: export days and times in local wall-clock time",
    )
    parser.add_argument("--workspace-id", help="a project with Data Views: require this id")
    args = parser.parse_args(argv)
    yesterday = datetime.now(ZoneInfo(SAMPLE_TIMEZONE)).date() - timedelta(days=1)
    print(f"Generating {args.days} days of sample data ending {yesterday}...", file=sys.stderr)
    events = sample_project(end=yesterday, days=args.days, users=args.users)
    standin = MixpanelStandIn(
        events,
        username=DEMO_USERNAME,
        secret=DEMO_SECRET,
        project_id=DEMO_PROJECT_ID,
        latency=args.latency,
        export_in_utc=not args.pre_2023,
        workspace_id=args.workspace_id,
    )
    origin = standin.start(port=args.port)
    print(origin, flush=True)
    print(
        f"{len(events)} events; username {DEMO_USERNAME}, secret {DEMO_SECRET}, "
        f"project_id {DEMO_PROJECT_ID}, timezone {SAMPLE_TIMEZONE}. Ctrl-C stops.",
        file=sys.stderr,
    )
    stopping = threading.Event()
    # SIGTERM (and SIGINT even where a parent shell ignores it) stop the server cleanly.
    signal.signal(signal.SIGTERM, lambda *_: stopping.set())
    signal.signal(signal.SIGINT, lambda *_: stopping.set())
    try:
        while not stopping.wait(0.5):
            pass
    finally:
        standin.stop()


if __name__ == "__main__":
    main()
