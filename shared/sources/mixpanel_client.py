"""Mixpanel Query and Export API client: typed answers, bounded retries, never the secret."""

from __future__ import annotations

import base64
import json
import random
import re
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from datetime import date, timedelta
from typing import Any, TypeVar
from urllib.parse import quote
from zoneinfo import ZoneInfo

import requests

from shared.errors import (
    ExportTooLarge,
    MixpanelAuthError,
    MixpanelBadResponse,
    MixpanelBudgetSpent,
    MixpanelError,
    MixpanelPlanError,
    MixpanelRateLimited,
    MixpanelRequestError,
    MixpanelUnavailable,
)
from shared.report.events import Deduplicator, HourBuckets
from shared.report.facts import UniqueCounts
from shared.retry import RetryPolicy, parse_retry_after, sleep_seconds
from shared.schedule.hours import LocalHour
from shared.schedule.periods import Window
from shared.settings import Secret, Settings
from shared.sources.budget import Api, CallBudget, Priority
from shared.sources.export_stream import (
    BadExportLine,
    LineBudget,
    LineDecoder,
    RecordSink,
    S,
)
from shared.sources.port import InsightsAnswer
from shared.sources.uniques import UniqueTally

# Mixpanel allows 5 concurrent queries per project; the client never asks for more.
MAX_CONCURRENT = 5
# Keep each /events URL well under common 8 KiB request-line limits; longer lists are split.
MAX_EVENT_PARAM_CHARS = 6000
EXPORT_CHUNK_BYTES = 64 * 1024
DEFAULT_POLICY = RetryPolicy()
# The Export API allows 3 queries a second per project: every export request (retries included)
# starts at least this far apart (and 100 at once, 60 an hour: a report asks for a handful).
EXPORT_MIN_INTERVAL_SECONDS = 1 / 3
# Every export asks for millisecond `time`: Mixpanel's dedup compares ms (event-deduplication.mdx).
EXPORT_TIME_IN_MS = {"time_in_ms": "true"}
MAX_EXPORT_LIMIT = 100_000  # the export's own `limit` parameter tops out here
T = TypeVar("T")
_HOUR_KEY = re.compile(r"(\d{4}-\d{2}-\d{2})[ T]([01]\d|2[0-3]):00:00")

_TRANSIENT = (
    requests.ConnectionError,
    requests.Timeout,
    requests.exceptions.ChunkedEncodingError,
)


class NamesCache:
    """Event names per project for an hour: they change slowly, and each fetch is a query.

    One per process (a warm Functions instance serves many reports), so a busy morning of
    reports asks Mixpanel for the names once, not once per report.
    """

    def __init__(
        self, ttl_seconds: float = 3600.0, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self._ttl = ttl_seconds
        self._clock = clock
        self._lock = threading.Lock()
        self._entries: dict[tuple[str, str, int], tuple[float, list[str]]] = {}

    def get(self, key: tuple[str, str, int]) -> list[str] | None:
        """The cached names, if fetched less than ttl_seconds ago."""
        with self._lock:
            entry = self._entries.get(key)
        if entry is None or self._clock() - entry[0] >= self._ttl:
            return None
        return list(entry[1])

    def clear(self) -> None:
        """Forget everything (tests start each stand-in project afresh)."""
        with self._lock:
            self._entries.clear()

    def put(self, key: tuple[str, str, int], names: list[str]) -> None:
        """Remember names fetched now."""
        with self._lock:
            self._entries[key] = (self._clock(), list(names))


PROCESS_NAMES_CACHE = NamesCache()


class MixpanelClient:
    """One method per question; each request authenticated as the service account."""

    def __init__(
        self,
        *,
        query_base: str,
        export_url: str,
        username: str,
        secret: Secret,
        project_id: str,
        session: requests.Session,
        timeout: float = 30.0,
        policy: RetryPolicy = DEFAULT_POLICY,
        budget_seconds: float = 120.0,
        max_concurrent: int = MAX_CONCURRENT,
        sleep: Callable[[float], None] = time.sleep,
        clock: Callable[[], float] = time.monotonic,
        jitter: Callable[[], float] = random.random,
        names_cache: NamesCache | None = None,
        workspace_id: str | None = None,
        call_budget: CallBudget | None = None,
        priority: Priority = Priority.ON_DEMAND,
    ) -> None:
        self._query_base = query_base.rstrip("/")
        self._export_url = export_url
        self._auth = (username, secret.reveal())
        raw = secret.reveal()
        basic = base64.b64encode(f"{username}:{raw}".encode()).decode()
        # Longest first, so a masked Basic credential does not leave half of itself behind.
        self._secret_forms = sorted(
            {f for f in (basic, raw, quote(raw, safe="")) if f}, key=len, reverse=True
        )
        self._secret = secret
        self._project_id = project_id
        # Projects with Data Views name their global view on every Query and Export request.
        self._scope = {"project_id": project_id}
        if workspace_id:
            self._scope["workspace_id"] = workspace_id
        self._session = session
        self._timeout = timeout
        self._policy = policy
        self._budget = budget_seconds
        self._deadline: float | None = None
        self._slots = threading.BoundedSemaphore(max_concurrent)
        self._sleep = sleep
        self._clock = clock
        self._jitter = jitter
        self._lock = threading.Lock()
        self._names_cache = names_cache
        self._export_gate = threading.Lock()
        self._next_export = 0.0
        # The project's calls shared with every instance (shared/sources/budget.py); None:
        # only this client's own semaphore and pacing.
        self._call_budget = call_budget
        self._priority = priority
        self.budget_refusal: MixpanelBudgetSpent | None = None
        self.requests_made = 0

    @classmethod
    def from_settings(
        cls,
        settings: Settings,
        session: requests.Session,
        *,
        call_budget: CallBudget | None = None,
        priority: Priority = Priority.ON_DEMAND,
    ) -> MixpanelClient:
        """A client for the project, region and override origin in `settings`."""
        return cls(
            query_base=settings.query_base,
            export_url=settings.export_url,
            username=settings.mixpanel_username,
            secret=settings.mixpanel_secret,
            project_id=settings.mixpanel_project_id,
            session=session,
            timeout=settings.mixpanel_timeout,
            budget_seconds=settings.report_budget_seconds,
            names_cache=PROCESS_NAMES_CACHE,
            workspace_id=settings.mixpanel_workspace_id,
            call_budget=call_budget,
            priority=priority,
        )

    # -- questions ---------------------------------------------------------------------------

    def event_names(self, *, limit: int = 10_000) -> list[str]:
        """The project's event names seen in the last 31 days, most common first."""
        key = (self._query_base, self._project_id, limit)
        cached = self._names_cache.get(key) if self._names_cache else None
        if cached is not None:
            return cached
        params = {"type": "general", "limit": str(limit)}
        body = self._json("/events/names", params)
        if not isinstance(body, list) or not all(isinstance(n, str) for n in body):
            raise MixpanelBadResponse(
                "expected a JSON array of event names",
                endpoint="/events/names",
                status=200,
                body=self._scrub(_snippet(body)),
            )
        if self._names_cache is not None:
            self._names_cache.put(key, body)
        return list(body)

    def daily_counts(self, events: Sequence[str], window: Window) -> dict[str, dict[date, int]]:
        """Each event's count per local day of `window`, as Mixpanel buckets it (one call)."""
        result: dict[str, dict[date, int]] = {}
        for chunk in _chunks(list(dict.fromkeys(events))):
            params = {
                "event": json.dumps(chunk),
                "type": "general",
                "unit": "day",
                "from_date": window.start.isoformat(),
                "to_date": window.end.isoformat(),
            }
            body = self._json("/events", params)
            result.update(_parse_events(body, chunk, window, self._scrub))
        return result

    def hourly_counts(
        self, events: Sequence[str], *, from_date: date, to_date: date
    ) -> dict[str, dict[LocalHour, int]]:
        """Each event's count per local hour from `from_date` to `to_date`: one /events call.

        Hourly totals (`type=general`, `unit=hour`) for every event at once; Mixpanel cannot
        give hourly uniques. Buckets are wall-clock hours of the project timezone.
        """
        result: dict[str, dict[LocalHour, int]] = {}
        for chunk in _chunks(list(dict.fromkeys(events))):
            params = {
                "event": json.dumps(chunk),
                "type": "general",
                "unit": "hour",
                "from_date": from_date.isoformat(),
                "to_date": to_date.isoformat(),
            }
            body = self._json("/events", params)
            result.update(_parse_hourly(body, chunk, self._scrub))
        return result

    def hourly_counts_from_export(
        self,
        events: Sequence[str],
        *,
        from_date: date,
        to_date: date,
        timezone: ZoneInfo,
        export_in_utc: bool = True,
    ) -> dict[str, dict[LocalHour, int]]:
        """The export-source variant of `hourly_counts`: one raw export of just these events.

        Costs the Raw Export API's budget instead of the Query API's. Every existing local hour
        of the range is present (a complete export that lacks an event-hour means zero). Like
        every export it is deduplicated as Mixpanel counts (ms `time`). Without
        `export_in_utc` (a project created before 2023) `time` is read as local wall-clock time.
        """
        first, last = from_date, to_date
        if export_in_utc:  # the export's dates are UTC: widen, then bucket by local hour
            first, last = from_date - timedelta(days=1), to_date + timedelta(days=1)
        params = {
            "from_date": first.isoformat(),
            "to_date": last.isoformat(),
            "event": json.dumps(list(dict.fromkeys(events))),
        }
        hours = HourBuckets(from_date, to_date, timezone, wall_clock=not export_in_utc)

        def read(response: requests.Response) -> dict[str, dict[LocalHour, int]]:
            counts = {name: dict.fromkeys(hours.buckets, 0) for name in events}
            for event, _user, when, _props in _export_events(response, self._scrub):
                bucket = hours.of(when)
                per_hour = counts.get(event)
                if per_hour is not None and bucket is not None:
                    per_hour[bucket] += 1
            return counts

        return self._request("/export", self._export_url, params, read, stream=True)

    def unique_users(
        self,
        new_tally: Callable[[], UniqueTally],
        *,
        from_date: date,
        to_date: date,
        events: Sequence[str] | None = None,
    ) -> UniqueCounts:
        """Distinct users (and the tally's figures) from one streamed raw export, deduplicated;
        memory grows with users, not events. The tally reads the export's kind of `time`."""
        params = {"from_date": from_date.isoformat(), "to_date": to_date.isoformat()}
        if events is not None:
            params["event"] = json.dumps(list(events))

        def read(response: requests.Response) -> UniqueCounts:
            tally = new_tally()  # a retried export starts from nothing
            for line in _export_events(response, self._scrub, tally.wanted_properties):
                tally.add(*line)
            return tally.result()

        return self._request("/export", self._export_url, params, read, stream=True)

    def property_names(
        self, events: Sequence[str], *, from_date: date, to_date: date, limit: int = 200
    ) -> dict[str, frozenset[str]]:
        """The property names the first `limit` raw events of `events` carry, per event.

        Asked only when a metric names a property none of its events carries: the export's
        fast decoder keeps just the properties metrics read, so the suggestions need a look at
        a few whole events (one small export request, on that error path alone).
        """
        params = {
            "from_date": from_date.isoformat(),
            "to_date": to_date.isoformat(),
            "event": json.dumps(list(dict.fromkeys(events))),
            "limit": str(limit),
        }

        def read(response: requests.Response) -> dict[str, frozenset[str]]:
            keys: dict[str, set[str]] = {}
            for raw in response.iter_lines(chunk_size=EXPORT_CHUNK_BYTES):
                if not raw:
                    continue
                try:
                    record = json.loads(raw)
                    event, props = record["event"], record["properties"]
                except (ValueError, KeyError, TypeError):
                    continue  # a sample for suggestions: an odd line only means fewer of them
                if isinstance(event, str) and isinstance(props, dict):
                    keys.setdefault(event, set()).update(str(k) for k in props)
            return {event: frozenset(names) for event, names in keys.items()}

        return self._request("/export", self._export_url, params, read, stream=True)

    def unique_buckets(
        self, events: Sequence[str], *, unit: str, from_date: date, to_date: date
    ) -> dict[str, dict[str, int]]:
        """Mixpanel's own unique users per event and `unit` bucket (bucket key -> count)."""
        result: dict[str, dict[str, int]] = {}
        for chunk in _chunks(list(dict.fromkeys(events))):
            params = {
                "event": json.dumps(chunk),
                "type": "unique",
                "unit": unit,
                "from_date": from_date.isoformat(),
                "to_date": to_date.isoformat(),
            }
            body = self._json("/events", params)
            result.update(_parse_buckets(body, chunk, self._scrub))
        return result

    def insights_report(self, bookmark_id: str) -> InsightsAnswer:
        """A saved Insights report's answer: its local date range and its series."""
        body = self._json("/insights", {"bookmark_id": bookmark_id})
        return _parse_insights(body, self._scrub)

    @property
    def project_key(self) -> tuple[str, str]:
        """Which project this client reads (for per-process memories like QueryApiMemory)."""
        return (self._query_base, self._project_id)

    def export_tally(
        self,
        new_sink: Callable[[], S],
        *,
        from_date: date,
        to_date: date,
        properties: Sequence[str],
        events: Sequence[str],
        max_events: int,
    ) -> S:
        """The export of `events` decoding just `properties`, stopped past `max_events` lines
        (shared/alerts/check.py RecordSource: the alert rules on export-derived metrics)."""
        return self.export_records(
            new_sink,
            from_date=from_date,
            to_date=to_date,
            decoder=LineDecoder(properties),
            events=events,
            budget=LineBudget(max_events),
        )

    def export_records(
        self,
        new_sink: Callable[[], S],
        *,
        from_date: date,
        to_date: date,
        decoder: LineDecoder,
        events: Sequence[str] | None = None,
        budget: LineBudget | None = None,
    ) -> S:
        """Stream one export range into a fresh sink, decoded in batches; never past `budget`.

        A retried range starts a fresh sink. When the budget runs out the stream is dropped and
        ExportTooLarge raised: no more than the budget's lines are ever read.
        """
        params = {"from_date": from_date.isoformat(), "to_date": to_date.isoformat()}
        if events is not None:
            params["event"] = json.dumps(list(events))
        if budget is not None and budget.remaining < MAX_EXPORT_LIMIT:
            params["limit"] = str(budget.remaining + 1)  # one more line says "there is more"

        def read(response: requests.Response) -> S:
            sink = new_sink()
            rest = b""
            for chunk in response.iter_content(chunk_size=EXPORT_CHUNK_BYTES):
                cut = chunk.rfind(b"\n")
                if cut < 0:
                    rest += chunk
                    continue
                self._feed(sink, decoder, rest + chunk[: cut + 1], budget)
                rest = chunk[cut + 1 :]
            if rest.strip():
                self._feed(sink, decoder, rest, budget)
            return sink

        return self._request("/export", self._export_url, params, read, stream=True)

    def export_accepts_credentials(self, day: date) -> bool:
        """Whether the Export API answers these credentials (one line of `day` at most)."""
        params = {"from_date": day.isoformat(), "to_date": day.isoformat(), "limit": "1"}
        try:
            self._request("/export", self._export_url, params, lambda _r: None, stream=True)
        except MixpanelAuthError:
            return False
        return True

    def _feed(
        self, sink: RecordSink, decoder: LineDecoder, data: bytes, budget: LineBudget | None
    ) -> None:
        try:
            records = decoder.decode(data, in_ms=True)  # every export asks time_in_ms
        except BadExportLine as bad:
            raise MixpanelBadResponse(
                bad.why,
                endpoint="/export",
                status=200,
                body=self._scrub(bad.line[:2000].decode("utf-8", "replace")),
            ) from None
        if budget is not None and not budget.take(len(records)):
            raise ExportTooLarge(
                f"more than {budget.limit:,} events",
                endpoint="/export",
            )
        sink.add_all(records)

    def _pace_export(self) -> None:
        with self._export_gate:
            wait = self._next_export - self._clock()
            if wait > 0:
                self._sleep(wait)
            self._next_export = max(self._clock(), self._next_export) + EXPORT_MIN_INTERVAL_SECONDS

    # -- transport ---------------------------------------------------------------------------

    def _json(self, endpoint: str, params: dict[str, str]) -> Any:
        def read(response: requests.Response) -> Any:
            try:
                return json.loads(response.content)
            except ValueError:
                raise MixpanelBadResponse(
                    "the body is not valid JSON (truncated?)",
                    endpoint=endpoint,
                    status=response.status_code,
                    body=self._scrub(response.text),
                ) from None

        return self._request(endpoint, self._query_base + endpoint, params, read)

    def _remaining(self) -> float:
        with self._lock:
            if self._deadline is None:
                self._deadline = self._clock() + self._budget
            return self._deadline - self._clock()

    def _request(
        self,
        endpoint: str,
        url: str,
        params: dict[str, str],
        read: Callable[[requests.Response], T],
        *,
        stream: bool = False,
    ) -> T:
        export = url == self._export_url
        query = {**self._scope, **(EXPORT_TIME_IN_MS if export else {}), **params}
        attempt = 0
        while True:
            attempt += 1
            if export:  # every export request, a retry too, keeps to 3 a second
                self._pace_export()
            try:
                with (
                    self._slot(),
                    self._spend(endpoint, url),
                    self._session.get(
                        url,
                        params=query,
                        auth=self._auth,
                        stream=stream,
                        timeout=min(self._timeout, max(self._remaining(), 1.0)),
                        headers={"Accept": "application/json", "Accept-Encoding": "gzip"},
                    ) as response,
                ):
                    if response.status_code == 200:
                        return read(response)
                    error = self._error(endpoint, response)
            except _TRANSIENT as exc:
                error = MixpanelUnavailable(
                    f"request failed ({type(exc).__name__})", endpoint=endpoint
                )
            retry_after = error.retry_after
            retryable = isinstance(error, MixpanelRateLimited | MixpanelUnavailable)
            if not retryable or attempt >= self._policy.max_attempts:
                raise error
            delay = sleep_seconds(self._policy, attempt, retry_after, self._jitter())
            if delay > self._remaining():
                raise error
            self._sleep(delay)

    @contextmanager
    def _spend(self, endpoint: str, url: str) -> Iterator[None]:
        """One call of the shared budget for this attempt (retries spend too), or none."""
        if self._call_budget is None:
            yield
            return
        api = Api.EXPORT if url == self._export_url else Api.QUERY
        try:
            with self._call_budget.call(self.project_key, api, self._priority, endpoint=endpoint):
                yield
        except MixpanelBudgetSpent as refused:
            self.budget_refusal = refused  # a report missing a figure for it can say so
            raise

    @contextmanager
    def _slot(self) -> Iterator[None]:
        with self._slots:
            with self._lock:
                self.requests_made += 1
            yield

    def _error(self, endpoint: str, response: requests.Response) -> MixpanelError:
        status = response.status_code
        body = self._scrub(_error_text(response))
        if status in (401, 403):
            return MixpanelAuthError(
                "check MIXPANEL_USERNAME, MIXPANEL_SECRET and the "
                "service account's access to MIXPANEL_PROJECT_ID",
                endpoint=endpoint,
                status=status,
                body=body,
            )
        if status == 402 and endpoint == "/export":
            return MixpanelPlanError(
                "Mixpanel refused the raw export with 402 Payment Required: the plan does not "
                "allow the raw export, or the account is blocked until a payment is made "
                "(see Mixpanel's billing page)",
                endpoint=endpoint,
                status=status,
                body=body,
            )
        if status == 402:
            return MixpanelPlanError(
                "this Mixpanel plan does not include this API "
                "(MIXPANEL_SOURCE=auto or export reads the raw export instead)",
                endpoint=endpoint,
                status=status,
                body=body,
            )
        retry_after = parse_retry_after(response.headers.get("Retry-After"))
        if status == 429:
            return MixpanelRateLimited(
                "query rate limit reached",
                endpoint=endpoint,
                status=429,
                body=body,
                retry_after=retry_after,
            )
        if status >= 500:
            return MixpanelUnavailable(
                "server error", endpoint=endpoint, status=status, body=body, retry_after=retry_after
            )
        return MixpanelRequestError("request rejected", endpoint=endpoint, status=status, body=body)

    def _scrub(self, text: str) -> str:
        """`text` with the secret masked in every form a server could echo it back."""
        for form in self._secret_forms:
            text = text.replace(form, "********")
        return text


def _error_text(response: requests.Response) -> str:
    """Mixpanel's own error message, whole: it is masked before anything cuts it short."""
    try:
        body = json.loads(response.content)
    except ValueError:
        return response.text
    if isinstance(body, dict) and isinstance(body.get("error"), str):
        return str(body["error"])
    return response.text


def _snippet(value: object) -> str:
    return json.dumps(value)[:2000]


def _chunks(events: list[str]) -> Iterator[list[str]]:
    chunk: list[str] = []
    size = 2
    for name in events:
        cost = len(quote(json.dumps(name))) + 3
        if chunk and size + cost > MAX_EVENT_PARAM_CHARS:
            yield chunk
            chunk, size = [], 2
        chunk.append(name)
        size += cost
    if chunk:
        yield chunk


def _event_values(
    body: Any, scrub: Callable[[str], str]
) -> tuple[dict[str, Any], Callable[[str], MixpanelBadResponse]]:
    """An /events answer's `data.values` (event -> bucket -> count), and how to call it broken."""

    def bad(why: str) -> MixpanelBadResponse:
        return MixpanelBadResponse(why, endpoint="/events", status=200, body=scrub(_snippet(body)))

    data = body.get("data") if isinstance(body, dict) else None
    values = data.get("values") if isinstance(data, dict) else None
    if not isinstance(values, dict):
        raise bad("expected {'data': {'values': {...}}}")
    return values, bad


def _parse_events(
    body: Any, events: list[str], window: Window, scrub: Callable[[str], str]
) -> dict[str, dict[date, int]]:
    """Strictly read an /events answer: every asked event and day must be there as a count.

    Mixpanel answers every requested event with a 0 for each day without data (real answers
    show `{"Notification Sent": {"2013-03-01": 0, ...}}`), so a missing one is a broken body.
    """

    values, bad = _event_values(body, scrub)
    days = list(window.dates())
    result: dict[str, dict[date, int]] = {}
    for name in events:
        per_day = values.get(name)
        if not isinstance(per_day, dict):
            raise bad(f"no values for event {name!r}")
        counts: dict[date, int] = {}
        for day in days:
            count = per_day.get(day.isoformat())
            if isinstance(count, bool) or not isinstance(count, int) or count < 0:
                raise bad(f"no count for event {name!r} on {day}")
            counts[day] = count
        result[name] = counts
    return result


def _parse_hourly(
    body: Any, events: list[str], scrub: Callable[[str], str]
) -> dict[str, dict[LocalHour, int]]:
    """Strictly read an hourly /events answer: keys `YYYY-MM-DD HH:00:00`, counts >= 0."""

    values, bad = _event_values(body, scrub)
    result: dict[str, dict[LocalHour, int]] = {}
    for name in events:
        per_hour = values.get(name)
        if not isinstance(per_hour, dict):
            raise bad(f"no values for event {name!r}")
        counts: dict[LocalHour, int] = {}
        for key, count in per_hour.items():
            match = _HOUR_KEY.fullmatch(str(key))
            if match is None:
                raise bad(f"unexpected hourly bucket {str(key)[:40]!r} for event {name!r}")
            if isinstance(count, bool) or not isinstance(count, int) or count < 0:
                raise bad(f"no count for event {name!r} at {key}")
            bucket = LocalHour(date.fromisoformat(match[1]), int(match[2]))
            counts[bucket] = counts.get(bucket, 0) + count
        result[name] = counts
    return result


def _parse_buckets(
    body: Any, events: list[str], scrub: Callable[[str], str]
) -> dict[str, dict[str, int]]:
    """Strictly read an /events type=unique answer: every asked event, each bucket a count."""

    values, bad = _event_values(body, scrub)
    result: dict[str, dict[str, int]] = {}
    for name in events:
        buckets = values.get(name)
        if not isinstance(buckets, dict):
            raise bad(f"no values for event {name!r}")
        for key, count in buckets.items():
            if isinstance(count, bool) or not isinstance(count, int) or count < 0:
                raise bad(f"no count for event {name!r} in bucket {key}")
        result[name] = dict(buckets)
    return result


def _parse_insights(body: Any, scrub: Callable[[str], str]) -> InsightsAnswer:
    def bad(why: str) -> MixpanelBadResponse:
        return MixpanelBadResponse(
            why, endpoint="/insights", status=200, body=scrub(_snippet(body))
        )

    span = body.get("date_range") if isinstance(body, dict) else None
    series = body.get("series") if isinstance(body, dict) else None
    if not isinstance(span, dict) or not isinstance(series, dict):
        raise bad("expected {'date_range': {...}, 'series': {...}}")
    try:
        # "2020-08-31T00:00:00-07:00": the date part is the project's local date.
        first = date.fromisoformat(str(span["from_date"])[:10])
        last = date.fromisoformat(str(span["to_date"])[:10])
    except (KeyError, ValueError):
        raise bad("the date_range has no from_date/to_date dates") from None
    parsed: dict[str, dict[str, int]] = {}
    for metric, buckets in series.items():
        if not isinstance(buckets, dict):
            raise bad(f"the series {metric!r} is not a mapping")
        counts: dict[str, int] = {}
        for key, value in buckets.items():
            if isinstance(value, bool) or not isinstance(value, int | float) or value < 0:
                raise bad(f"the series {metric!r} has a non-count in {key}")
            if value != int(value):
                raise bad(f"the series {metric!r} has a fraction in {key}: not a user count")
            counts[str(key)] = int(value)
        parsed[str(metric)] = counts
    return InsightsAnswer(first, last, parsed)


def _export_events(
    response: requests.Response, scrub: Callable[[str], str], keep: frozenset[str] = frozenset()
) -> Iterator[tuple[str, str, float, dict[str, Any] | None]]:
    """(event, distinct_id, time, properties) for each event of a JSONL export, parsed as it
    streams in: `time` in seconds from the export's milliseconds (time_in_ms=true), and
    duplicates dropped by Mixpanel's rule on the millisecond time (Deduplicator).

    Properties are passed on only when `keep` names some (the metrics' filters, sums and
    breakdowns read them); the whole dict, so a misspelt name can be told from a missing one.
    """
    dedup = Deduplicator()
    for raw in response.iter_lines(chunk_size=EXPORT_CHUNK_BYTES):
        if not raw:
            continue
        try:
            record = json.loads(raw)
            props = record["properties"]
            event, when = record["event"], props["time"]
            distinct_id = props.get("distinct_id", "")
            insert_id = props.get("$insert_id")
        except (ValueError, KeyError, TypeError):
            raise MixpanelBadResponse(
                "an export line is not a complete event (truncated?)",
                endpoint="/export",
                status=200,
                body=scrub(raw[:2000].decode("utf-8", "replace")),
            ) from None
        if (
            not isinstance(event, str)
            or isinstance(when, bool)
            or not isinstance(when, int | float)
        ):
            raise MixpanelBadResponse(
                "an export line has a malformed event or time",
                endpoint="/export",
                status=200,
                body=scrub(raw[:2000].decode("utf-8", "replace")),
            )
        user = str(distinct_id) if distinct_id is not None else ""
        seconds = when / 1000
        if not dedup.first(event, user, seconds, insert_id if isinstance(insert_id, str) else ""):
            continue
        yield event, user, seconds, props if keep and isinstance(props, dict) else None
