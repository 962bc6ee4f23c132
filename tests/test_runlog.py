"""One structured run line per run: the pure formatter, the outcomes, and the real entry points."""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass
from datetime import date

import azure.functions as func
import pytest

import CustomReport
import WeeklyReport
from shared.runlog import (
    PREFIX,
    Outcome,
    RunRecord,
    http_outcome,
    logged_run,
    run_line,
    timer_outcome,
    track_mixpanel,
)
from shared.schedule.periods import PeriodKind
from shared.schedule.slots import Skip
from tests.e2e import MIXPANEL_SECRET, WEBHOOK_TOKEN, Invocation, Stack
from tests.test_functions import last_slot, timer

RUN_LOGGER = "analytics_reporter.run"


def run_lines(caplog: pytest.LogCaptureFixture) -> list[tuple[int, dict[str, object]]]:
    """(level, fields) of every run line logged."""
    return [
        (r.levelno, json.loads(r.getMessage().removeprefix(PREFIX)))
        for r in caplog.records
        if r.name == RUN_LOGGER
    ]


@dataclass(frozen=True)
class Key:
    start: date
    end: date


@dataclass(frozen=True)
class Delivered:
    key: Key
    posted: bool


class Client:
    def __init__(self, requests_made: int) -> None:
        self.requests_made = requests_made


class Clock:
    """A monotonic clock that advances by `step` seconds per reading."""

    def __init__(self, step: float) -> None:
        self.now, self.step = 100.0, step

    def __call__(self) -> float:
        self.now += self.step
        return self.now


def test_a_run_line_is_the_prefix_and_compact_json_in_field_order() -> None:
    """The exact line KQL parses (docs/deploy.md): `run ` then one JSON object."""
    record = RunRecord("DailyReport", "daily", "2026-12-03..2026-12-03", "posted", 4, 1834)
    assert run_line(record) == (
        'run {"function":"DailyReport","report":"daily","window":"2026-12-03..2026-12-03",'
        '"outcome":"posted","mixpanel_requests":4,"duration_ms":1834,"reason":null}'
    )


WEEK = Key(date(2026, 11, 23), date(2026, 11, 29))


@pytest.mark.parametrize(
    ("result", "expected"),
    [
        (Delivered(WEEK, posted=True), ("posted", "2026-11-23..2026-11-29", None)),
        (Delivered(WEEK, posted=False), ("already_posted", "2026-11-23..2026-11-29", None)),
        (Skip("not the report's slot"), ("skipped", None, "not the report's slot")),
        (None, ("skipped", None, "nothing to run")),
        (
            [Skip("quiet day"), Delivered(WEEK, posted=True), Delivered(WEEK, posted=False)],
            ("posted", "2026-11-23..2026-11-29", None),
        ),
        ([Skip("quiet day"), Skip("quiet day")], ("skipped", None, "quiet day")),
    ],
    ids=["posted", "already-posted", "skip", "none", "reports-one-posted", "reports-all-skipped"],
)
def test_a_timer_fire_reads_as_posted_already_posted_or_skipped(
    result: object, expected: tuple[str, str | None, str | None]
) -> None:
    """The outcome and window come from what the fire returned."""
    assert timer_outcome(result) == expected


@pytest.mark.parametrize(
    ("status", "body", "expected"),
    [
        (
            200,
            {"report": {"window": {"from_date": "2026-11-23", "to_date": "2026-11-29"}}},
            ("ok", "2026-11-23..2026-11-29", None),
        ),
        (
            400,
            {"error": {"code": "invalid_parameter", "message": "bad days", "field": "days"}},
            ("rejected", None, "invalid_parameter: bad days"),
        ),
        (
            503,
            {"error": {"code": "mixpanel_unavailable", "message": "down", "field": None}},
            ("failed", None, "mixpanel_unavailable: down"),
        ),
        (200, None, ("ok", None, None)),
    ],
    ids=["report", "bad-request", "mixpanel-down", "text-answer"],
)
def test_an_http_answer_reads_as_ok_rejected_or_failed(
    status: int, body: dict[str, object] | None, expected: tuple[str, str | None, str | None]
) -> None:
    """2xx ok, 4xx the caller's mistake, 5xx a failure with its documented code."""
    assert http_outcome(status, body) == expected


def test_a_run_counts_the_requests_of_every_mixpanel_client_it_made(
    caplog: pytest.LogCaptureFixture,
) -> None:
    """Clients made inside the run report in; one made outside it does not count."""
    caplog.set_level(logging.INFO, logger=RUN_LOGGER)
    track_mixpanel(Client(99))  # outside any run: ignored
    with logged_run("WeeklyReport", "weekly", clock=Clock(0.25)) as run:
        track_mixpanel(Client(3))
        track_mixpanel(Client(2))
        run.set(Outcome.POSTED, "2026-11-23..2026-11-29")
    [(level, fields)] = run_lines(caplog)
    assert level == logging.INFO
    assert fields == {
        "function": "WeeklyReport",
        "report": "weekly",
        "window": "2026-11-23..2026-11-29",
        "outcome": "posted",
        "mixpanel_requests": 5,
        "duration_ms": 250,
        "reason": None,
    }


def test_a_failed_run_is_logged_at_error_with_its_reason_and_still_raises(
    caplog: pytest.LogCaptureFixture,
) -> None:
    """Failures reach Application Insights as errors that say why; secrets are masked."""
    from shared.errors import SlackError

    caplog.set_level(logging.INFO, logger=RUN_LOGGER)
    leaky = "refused https://hooks.slack.com/services/T0/B0/fake-path and xoxb-fake-token"
    with pytest.raises(SlackError), logged_run("DailyReport", "daily", clock=Clock(1)):
        raise SlackError(leaky)
    [(level, fields)] = run_lines(caplog)
    assert level == logging.ERROR
    assert fields["outcome"] == "failed"
    assert fields["reason"] == "Slack webhook: refused https://hooks.slack.com/*** and xoxb-***"


@pytest.mark.azurite
def test_a_weekly_timer_at_its_slot_logs_one_posted_line_with_its_mixpanel_requests(
    stack: Stack, azurite_ledger: str, caplog: pytest.LogCaptureFixture
) -> None:
    """The real main(): one line, the window posted and as many requests as Mixpanel saw."""
    caplog.set_level(logging.INFO, logger=RUN_LOGGER)
    WeeklyReport.main(timer(last_slot(PeriodKind.WEEKLY)), Invocation())
    [(level, fields)] = run_lines(caplog)
    assert level == logging.INFO
    assert fields["function"] == "WeeklyReport"
    assert fields["report"] == "weekly"
    assert fields["outcome"] == "posted"
    assert isinstance(fields["window"], str)
    assert len(str(fields["window"]).split("..")) == 2
    assert fields["mixpanel_requests"] == len(stack.mixpanel.requests) > 0


@pytest.mark.azurite
def test_a_failed_timer_logs_an_error_line_with_the_reason_and_no_secret(
    stack: Stack, azurite_ledger: str, caplog: pytest.LogCaptureFixture
) -> None:
    """Mixpanel down at the slot: the run line is an ERROR naming Mixpanel, no credential in it."""
    stack.mixpanel.fail_next(500, times=1000, retry_after="0")
    caplog.set_level(logging.INFO, logger=RUN_LOGGER)
    with pytest.raises(Exception, match="Mixpanel"):
        WeeklyReport.main(timer(last_slot(PeriodKind.WEEKLY)), Invocation())
    [(level, fields)] = run_lines(caplog)
    assert level == logging.ERROR
    assert fields["outcome"] == "failed"
    assert "Mixpanel" in str(fields["reason"])
    line = caplog.records[-1].getMessage()
    assert MIXPANEL_SECRET not in line
    assert WEBHOOK_TOKEN not in line


def test_a_custom_report_logs_one_ok_line_with_its_window(
    stack: Stack, caplog: pytest.LogCaptureFixture
) -> None:
    """The HTTP entry point: outcome from the status, the window from the report."""
    caplog.set_level(logging.INFO, logger=RUN_LOGGER)
    request = func.HttpRequest(
        method="GET", url="/api/CustomReport", params={"code": "k", "period": "weekly"}, body=b""
    )
    response = CustomReport.main(request)
    assert response.status_code == 200
    window = json.loads(response.get_body())["report"]["window"]
    [(_, fields)] = run_lines(caplog)
    assert fields["function"] == "CustomReport"
    assert fields["outcome"] == "ok"
    assert fields["window"] == f"{window['from_date']}..{window['to_date']}"
    assert fields["mixpanel_requests"] == len(stack.mixpanel.requests) > 0
