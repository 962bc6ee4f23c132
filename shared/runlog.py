"""One structured log line per run: which function, report and window, how it ended, its cost.

Every entry point (timers and HTTP) wraps its work in `logged_run(...)`; the line goes to the
Python root logger, which the Functions worker sends to Application Insights as a trace:

    run {"function":"DailyReport","report":"daily","window":"2026-12-03..2026-12-03",
         "outcome":"posted","mixpanel_requests":4,"duration_ms":1834,"reason":null}

Failures are logged at ERROR with their reason, everything else at INFO. The line never holds
a secret: the reason is the error's one-line text (built secret-free) with webhook URLs, tokens
and keys masked again. docs/deploy.md has the KQL query over these lines.
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import asdict, dataclass, field
from typing import Any

log = logging.getLogger("analytics_reporter.run")
PREFIX = "run "
REASON_MAX_CHARS = 300
NAME_MAX_CHARS = 80


class Outcome:
    """The outcome words of a run line (plain strings, so KQL filters read naturally)."""

    POSTED = "posted"  # a scheduled report was delivered by this run
    ALREADY_POSTED = "already_posted"  # another run delivered (or is delivering) it
    SKIPPED = "skipped"  # not this report's slot (most timer fires)
    OK = "ok"  # an alert check or an HTTP request answered 2xx
    REJECTED = "rejected"  # an HTTP request answered 4xx (the caller's mistake)
    FAILED = "failed"  # the run raised, or answered 5xx


@dataclass(frozen=True, slots=True)
class RunRecord:
    """What one run did, as logged."""

    function: str
    report: str
    window: str | None
    outcome: str
    mixpanel_requests: int
    duration_ms: int
    reason: str | None = None


def run_line(record: RunRecord) -> str:
    """`record` as one log line: `run ` and compact JSON in field order (pure)."""
    return PREFIX + json.dumps(asdict(record), ensure_ascii=False, separators=(",", ":"))


def clean_reason(text: str) -> str:
    """One line of at most REASON_MAX_CHARS with webhook URLs, tokens and keys masked."""
    from shared.delivery.ledger import clean_detail

    return clean_detail(text)[:REASON_MAX_CHARS]


def window_of(result: object) -> str | None:
    """`start..end` of a delivered report (shared/pipeline.py Delivered), else None."""
    key = getattr(result, "key", None)
    start, end = getattr(key, "start", None), getattr(key, "end", None)
    return None if start is None or end is None else f"{start}..{end}"


def timer_outcome(result: object) -> tuple[str, str | None, str | None]:
    """(outcome, window, reason) of a timer fire's result: a Delivered, a Skip, a list of them
    (one per [[report]] of the cadence) or None (nothing configured). Pure."""
    results: Sequence[object] = result if isinstance(result, list) else [result]
    posted = [r for r in results if getattr(r, "posted", False)]
    delivered = [r for r in results if window_of(r) is not None]
    windows = ",".join(dict.fromkeys(w for r in delivered if (w := window_of(r))))
    if posted:
        return Outcome.POSTED, windows or None, None
    if delivered:
        return Outcome.ALREADY_POSTED, windows or None, None
    reasons = [str(r.reason) for r in results if hasattr(r, "reason")]
    return Outcome.SKIPPED, None, "; ".join(dict.fromkeys(reasons)) or "nothing to run"


def http_outcome(status: int, body: Mapping[str, Any] | None) -> tuple[str, str | None, str | None]:
    """(outcome, window, reason) of an HTTP answer: 2xx ok, 4xx rejected, 5xx failed; the window
    is the report's and the reason the documented error's code and message. Pure."""
    body = body or {}
    error = body.get("error")
    reason = None
    if isinstance(error, Mapping):
        reason = f"{error.get('code')}: {error.get('message')}"
    report = body.get("report")
    # The report's window (openapi.yaml Report.window), or a dry run's plan window.
    window_json = (report if isinstance(report, Mapping) else body).get("window")
    window = None
    if isinstance(window_json, Mapping):
        window = f"{window_json.get('from_date')}..{window_json.get('to_date')}"
    outcome = Outcome.OK if status < 400 else Outcome.REJECTED if status < 500 else Outcome.FAILED
    return outcome, window, reason


@dataclass(slots=True)
class Run:
    """The run in progress: the entry point fills in what it learns; Mixpanel clients report in."""

    function: str
    report: str
    window: str | None = None
    outcome: str = Outcome.OK
    reason: str | None = None
    clients: list[object] = field(default_factory=list)

    def set(self, outcome: str, window: str | None = None, reason: str | None = None) -> None:
        """Record how the run ended."""
        self.outcome, self.window, self.reason = outcome, window, reason

    @property
    def mixpanel_requests(self) -> int:
        """Requests made by every Mixpanel client of this run (MixpanelClient.requests_made)."""
        return sum(int(getattr(c, "requests_made", 0)) for c in self.clients)

    def record(self, duration_seconds: float) -> RunRecord:
        """The line's content, names clipped and the reason cleaned."""
        return RunRecord(
            function=self.function[:NAME_MAX_CHARS],
            report=self.report[:NAME_MAX_CHARS],
            window=self.window,
            outcome=self.outcome,
            mixpanel_requests=self.mixpanel_requests,
            duration_ms=max(0, round(duration_seconds * 1000)),
            reason=None if self.reason is None else clean_reason(self.reason),
        )


_CURRENT: ContextVar[Run | None] = ContextVar("analytics_reporter_run", default=None)


def track_mixpanel(client: object) -> None:
    """Count `client`'s requests in the current run's line (no run: nothing to do)."""
    run = _CURRENT.get()
    if run is not None:
        run.clients.append(client)


@contextmanager
def logged_run(
    function: str, report: str, *, clock: Callable[[], float] = time.monotonic
) -> Iterator[Run]:
    """Log one run line when the block ends; an exception marks the run failed and propagates."""
    from shared.pipeline import one_line

    run = Run(function, report)
    token = _CURRENT.set(run)
    started = clock()
    try:
        yield run
    except BaseException as exc:
        run.set(Outcome.FAILED, run.window, one_line(exc))
        raise
    finally:
        _CURRENT.reset(token)
        record = run.record(clock() - started)
        level = logging.ERROR if record.outcome == Outcome.FAILED else logging.INFO
        log.log(level, "%s", run_line(record))
