"""Secrets never come out: every failure path is driven and everything it let out is scanned.

The fake credentials are recognisable strings (tests/e2e.py plus a storage account key), so a
leak anywhere - an HTTP answer, a log record or its traceback, stdout/stderr, an exception or
anything chained to it, a Slack post, a delivery record - is found by plain substring search.
"""

from __future__ import annotations

import base64
import json
import logging
import traceback
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime

import azure.functions as func
import pytest
from azure.functions.timer import TimerRequest

import BiWeeklyReport
import CustomReport
import DailyReport
import WeeklyReport
from shared.delivery.ledger import TableDeliveryLedger
from shared.errors import ConfigError, LedgerError, MixpanelError, SlackError
from shared.schedule.periods import PeriodKind
from shared.schedule.slots import ScheduleRules, latest_slot
from tests.azurite import ACCOUNT_KEY as AZURITE_ACCOUNT_KEY
from tests.azurite import free_port
from tests.e2e import (
    FUNCTION_KEY,
    LONDON,
    MIXPANEL_SECRET,
    USERNAME,
    WEBHOOK_TOKEN,
    Invocation,
    Stack,
)
from tests.email_fixtures import RECIPIENTS, SENDER, SMTP_PASSWORD, SMTP_USERNAME
from tests.openapi_check import validate_against_openapi

# Valid base64 (so the Tables SDK can sign with it) and still readable in any output.
STORAGE_ACCOUNT_KEY = "STORAGEKEYe2eFAKEaccountKEY00000"
BOT_TOKEN = "xoxb-fake-BOTSECRET-e2e"
BASIC_CREDENTIALS = base64.b64encode(f"{USERNAME}:{MIXPANEL_SECRET}".encode()).decode()

# name -> every string whose presence means that secret (or a recognisable piece of it) leaked.
SECRETS: dict[str, tuple[str, ...]] = {
    "MIXPANEL_SECRET": (MIXPANEL_SECRET, "MPSECRET"),
    "Mixpanel Basic credentials": (BASIC_CREDENTIALS,),
    "SLACK_WEBHOOK_URL token": (WEBHOOK_TOKEN, "WEBHOOKSECRET"),
    "function key": (FUNCTION_KEY, "FUNCKEY"),
    "SMTP_PASSWORD": (SMTP_PASSWORD, "SMTPPASSWORD"),
    "SLACK_BOT_TOKEN": (BOT_TOKEN, "BOTSECRET"),
    "AzureWebJobsStorage AccountKey": (STORAGE_ACCOUNT_KEY, "STORAGEKEY"),
    # Azurite's key is public, but seeing it means a whole connection string got out.
    "AzureWebJobsStorage AccountKey (Azurite)": (AZURITE_ACCOUNT_KEY,),
}

Text = tuple[str, str | bytes]  # (where it came out, what came out)


def assert_no_secrets(*texts: Text) -> None:
    """Fail naming each secret found, where it came out, and the text around it."""
    leaks: list[str] = []
    for where, content in texts:
        text = (
            content.decode("utf-8", "backslashreplace") if isinstance(content, bytes) else content
        )
        for name, needles in SECRETS.items():
            for needle in needles:
                at = text.find(needle)
                if at >= 0:
                    around = text[max(0, at - 60) : at + len(needle) + 60]
                    leaks.append(f"{name} leaked in {where}: ...{around}...")
                    break
    assert not leaks, "\n".join(leaks)


# -- what came out ---------------------------------------------------------------------------


def response_texts(response: func.HttpResponse, label: str = "HTTP response") -> list[Text]:
    """The body and every header of an answer."""
    texts: list[Text] = [(f"{label} body", response.get_body())]
    texts += [
        (f"{label} header {name}", f"{name}: {value}") for name, value in response.headers.items()
    ]
    texts.append((f"{label} mimetype", str(response.mimetype)))
    return texts


def exception_texts(error: BaseException, label: str = "raised exception") -> list[Text]:
    """Message, repr, attributes and traceback of `error` and of everything chained to it.

    The chain is walked through __cause__ and __context__ alike, suppressed or not: a
    suppressed context is hidden from tracebacks, yet still reachable by any error reporter.
    """
    texts: list[Text] = []
    seen: set[int] = set()
    chain: list[tuple[str, BaseException]] = [(label, error)]
    while chain:
        where, current = chain.pop()
        if id(current) in seen:
            continue
        seen.add(id(current))
        texts.append((f"{where} str", str(current)))
        texts.append((f"{where} repr", repr(current)))
        texts.append((f"{where} args", repr(current.args)))
        texts.append((f"{where} attributes", repr(getattr(current, "__dict__", {}))))
        texts.append((f"{where} traceback", "".join(traceback.format_exception(current))))
        if current.__cause__ is not None:
            chain.append((f"{where} -> __cause__", current.__cause__))
        if current.__context__ is not None:
            chain.append((f"{where} -> __context__", current.__context__))
    return texts


def log_texts(caplog: pytest.LogCaptureFixture) -> list[Text]:
    """Every log record, formatted, with its exception traceback, chain and stack info."""
    formatter = logging.Formatter("%(name)s %(levelname)s %(message)s")
    texts: list[Text] = []
    for n, record in enumerate(caplog.records):
        where = f"log record {n} ({record.name} {record.levelname})"
        texts.append((where, formatter.format(record)))
        if record.exc_info and record.exc_info[1] is not None:
            texts.append((f"{where} exc_info", formatter.formatException(record.exc_info)))
            texts += exception_texts(record.exc_info[1], f"{where} exception")
        if record.exc_text:
            texts.append((f"{where} exc_text", record.exc_text))
        if record.stack_info:
            texts.append((f"{where} stack_info", record.stack_info))
    return texts


def slack_texts(stack: Stack) -> list[Text]:
    """The raw body of every request the Slack stand-in received, accepted or not."""
    return [(f"Slack post {n} (raw body)", raw) for n, raw in enumerate(stack.slack.received)]


@dataclass
class Outlets:
    """What one test let out besides its answers: logs, stdout/stderr and Slack."""

    caplog: pytest.LogCaptureFixture
    capfd: pytest.CaptureFixture[str]
    stack: Stack

    def texts(self) -> list[Text]:
        """Everything captured so far (stdout/stderr are consumed)."""
        out, err = self.capfd.readouterr()
        return [
            *log_texts(self.caplog),
            ("stdout", out),
            ("stderr", err),
            *slack_texts(self.stack),
        ]


@pytest.fixture
def outlets(stack: Stack, caplog: pytest.LogCaptureFixture, capfd) -> Outlets:
    """Every logger at DEBUG, stdout/stderr captured at the file descriptors."""
    caplog.set_level(logging.DEBUG)
    for name, logger in list(logging.root.manager.loggerDict.items()):
        if isinstance(logger, logging.Logger):
            caplog.set_level(logging.DEBUG, logger=name)
    return Outlets(caplog, capfd, stack)


def test_the_scanner_names_the_secret_and_where_it_leaked():
    """A planted secret is found and reported with its name and the place it came out."""
    with pytest.raises(AssertionError, match=r"function key leaked in response body: \.\.\.code="):
        assert_no_secrets(("clean", "nothing here"), ("response body", f"code={FUNCTION_KEY}"))
    with pytest.raises(AssertionError, match="MIXPANEL_SECRET leaked in error"):
        assert_no_secrets(("error", MIXPANEL_SECRET[:12]))  # a truncated secret still counts


# -- CustomReport ----------------------------------------------------------------------------

Arrange = Callable[[Stack, pytest.MonkeyPatch], None]


@dataclass(frozen=True)
class Fault:
    """One way a CustomReport request fails, and the documented status and code it answers."""

    status: int
    code: str
    params: dict[str, str] = field(default_factory=dict)
    arrange: Arrange = lambda stack, env: None
    method: str = "GET"
    body: bytes = b""


def _env(**values: str) -> Arrange:
    def arrange(stack: Stack, env: pytest.MonkeyPatch) -> None:
        for name, value in values.items():
            env.setenv(name, value)

    return arrange


def _mixpanel_fails(status: int, **options: str | None) -> Arrange:
    return lambda stack, env: stack.mixpanel.fail_next(status, times=100, **options)


def _slack_fails(status: int, body: str | Callable[[Stack], str] = "rollup_error") -> Arrange:
    def arrange(stack: Stack, env: pytest.MonkeyPatch) -> None:
        stack.slack.fail_next(status, times=10, body=body(stack) if callable(body) else body)

    return arrange


def _closed_mixpanel(stack: Stack, env: pytest.MonkeyPatch) -> None:
    env.setenv("MIXPANEL_API_URL", f"http://127.0.0.1:{free_port()}")
    env.setenv("REPORT_BUDGET_SECONDS", "2")


def _truncate_everything(stack: Stack, env: pytest.MonkeyPatch) -> None:
    for _ in range(10):
        stack.mixpanel.truncate_next()


def _url_cut_inside_the_token(stack: Stack) -> str:
    """Slack's answer quoting the webhook URL so that character 200 falls inside the token."""
    url = stack.slack.url
    return "x" * (200 - url.index(WEBHOOK_TOKEN) - 16) + url


NO_SLACK = {"period": "weekly", "send_slack": "false"}
TO_SLACK = {"period": "weekly", "send_slack": "true"}
ECHO = json.dumps({"error": f"invalid credentials for secret {MIXPANEL_SECRET}"})
ECHO_AT_THE_CUT = "x" * 190 + MIXPANEL_SECRET  # the secret straddles character 200
ECHO_BASIC = json.dumps({"error": f"bad Authorization header: Basic {BASIC_CREDENTIALS}"})
ECHO_PATH = f"Cannot POST /services/T0E2E/B0E2E/{WEBHOOK_TOKEN}"

FAULTS = [
    pytest.param(Fault(502, "mixpanel_auth", NO_SLACK, _mixpanel_fails(401)), id="mixpanel-401"),
    pytest.param(Fault(502, "mixpanel_auth", NO_SLACK, _mixpanel_fails(403)), id="mixpanel-403"),
    pytest.param(Fault(502, "mixpanel_error", NO_SLACK, _mixpanel_fails(400)), id="mixpanel-400"),
    pytest.param(
        Fault(429, "mixpanel_rate_limited", NO_SLACK, _mixpanel_fails(429, retry_after="3600")),
        id="mixpanel-429-beyond-budget",
    ),
    pytest.param(
        Fault(503, "mixpanel_unavailable", NO_SLACK, _mixpanel_fails(503, retry_after="0")),
        id="mixpanel-503",
    ),
    pytest.param(Fault(502, "mixpanel_error", NO_SLACK, _truncate_everything), id="truncated"),
    pytest.param(
        Fault(503, "mixpanel_unavailable", NO_SLACK, _closed_mixpanel), id="mixpanel-unreachable"
    ),
    pytest.param(
        Fault(502, "mixpanel_error", NO_SLACK, _mixpanel_fails(400, body=ECHO)),
        id="mixpanel-echoes-secret-json",
    ),
    pytest.param(
        Fault(502, "mixpanel_error", NO_SLACK, _mixpanel_fails(400, body=f"no: {MIXPANEL_SECRET}")),
        id="mixpanel-echoes-secret-text",
    ),
    pytest.param(
        Fault(502, "mixpanel_error", NO_SLACK, _mixpanel_fails(400, body=ECHO_AT_THE_CUT)),
        id="mixpanel-echoes-secret-at-the-cut",
    ),
    pytest.param(
        Fault(502, "mixpanel_error", NO_SLACK, _mixpanel_fails(200, body=ECHO)),
        id="mixpanel-200-echoes-secret",
    ),
    pytest.param(
        Fault(502, "mixpanel_auth", NO_SLACK, _mixpanel_fails(401, body=ECHO_BASIC)),
        id="mixpanel-echoes-basic-credentials",
    ),
    pytest.param(
        Fault(502, "slack_failed", TO_SLACK, _slack_fails(404, "no_service")),
        id="slack-404-no_service",
    ),
    pytest.param(
        Fault(502, "slack_failed", TO_SLACK, _slack_fails(400, "invalid_blocks")),
        id="slack-400-invalid_blocks",
    ),
    pytest.param(Fault(502, "slack_failed", TO_SLACK, _slack_fails(500)), id="slack-500"),
    pytest.param(
        Fault(
            502, "slack_failed", TO_SLACK, _slack_fails(404, lambda s: f"bad hook {s.slack.url}")
        ),
        id="slack-echoes-url",
    ),
    pytest.param(
        Fault(502, "slack_failed", TO_SLACK, _slack_fails(404, _url_cut_inside_the_token)),
        id="slack-echoes-url-at-the-cut",
    ),
    pytest.param(
        Fault(502, "slack_failed", TO_SLACK, _slack_fails(404, ECHO_PATH)),
        id="slack-echoes-path",
    ),
    pytest.param(
        Fault(500, "server_misconfigured", NO_SLACK, _env(MIXPANEL_REGION="mars")),
        id="bad-settings",
    ),
    pytest.param(
        Fault(
            500,
            "server_misconfigured",
            NO_SLACK,
            _env(MIXPANEL_REGION="mars", SLACK_WEBHOOK_URL=f"hooks.slack.com/x/{WEBHOOK_TOKEN}"),
        ),
        id="bad-settings-webhook-without-scheme",
    ),
    pytest.param(Fault(400, "unknown_parameter", {"colour": "blue"}), id="unknown-parameter"),
    pytest.param(
        Fault(400, "invalid_date", {"from_date": "2026-02-30", "to_date": "2026-03-01"}),
        id="bad-date",
    ),
    pytest.param(Fault(400, "invalid_boolean", {"send_slack": "maybe"}), id="bad-boolean"),
    pytest.param(Fault(400, "invalid_body", body=b"{}"), id="get-with-body"),
    pytest.param(Fault(405, "method_not_allowed", method="DELETE"), id="delete"),
    pytest.param(Fault(400, "invalid_body", method="POST", body=b"\xff{"), id="post-not-utf8"),
    pytest.param(
        Fault(400, "body_too_large", method="POST", body=b" " * 70_000), id="post-too-large"
    ),
    pytest.param(
        Fault(
            400,
            "duplicate_parameter",
            method="POST",
            body=json.dumps({"code": FUNCTION_KEY}).encode(),
        ),
        id="code-in-query-and-body",
    ),
    pytest.param(
        Fault(400, "invalid_type", method="POST", body=b'{"period": 7}'), id="wrong-json-type"
    ),
]


@pytest.mark.parametrize("fault", FAULTS)
def test_custom_report_failures_carry_no_secret(stack: Stack, outlets: Outlets, monkeypatch, fault):
    """Whatever fails, the answer, the logs, stdout/stderr and Slack hold no secret."""
    fault.arrange(stack, monkeypatch)
    request = func.HttpRequest(
        method=fault.method,
        url="/api/CustomReport",
        params={"code": FUNCTION_KEY, **fault.params},
        body=fault.body,
        headers={"Content-Type": "application/json"},
    )
    try:
        response = CustomReport.main(request)
    except Exception as exc:  # main() must answer, never raise; if it does, scan that too
        assert_no_secrets(*exception_texts(exc), *outlets.texts())
        raise
    assert_no_secrets(*response_texts(response), *outlets.texts())
    assert response.status_code == fault.status
    data = json.loads(response.get_body())
    assert data["error"]["code"] == fault.code
    validate_against_openapi("ReportNotPosted" if "report" in data else "Error", data)


# -- timers ----------------------------------------------------------------------------------

TIMERS = [
    pytest.param(DailyReport, PeriodKind.DAILY, id="daily"),
    pytest.param(WeeklyReport, PeriodKind.WEEKLY, id="weekly"),
    pytest.param(BiWeeklyReport, PeriodKind.BIWEEKLY, id="biweekly"),
]


def slot_timer(kind: PeriodKind) -> TimerRequest:
    """A timer fire at the latest `kind` slot, so the run is due."""
    slot = latest_slot(kind, datetime.now(UTC), ScheduleRules(LONDON))
    assert slot is not None
    return TimerRequest(past_due=False, schedule_status={"Next": slot.isoformat()})


def ledger_texts(connection_string: str, table: str) -> list[Text]:
    """Every delivery record the run left in the ledger."""
    records = TableDeliveryLedger(connection_string, table_name=table).history()
    return [(f"ledger record {n}", repr(record)) for n, record in enumerate(records)]


@pytest.fixture
def ledger(stack: Stack, azurite_ledger: str) -> str:
    """The delivery ledger on Azurite (after the stack's settings); returns its table name."""
    return azurite_ledger


MIXPANEL_DOWN = [
    pytest.param({"status": 503, "retry_after": "0"}, id="503"),
    pytest.param({"status": 401}, id="401"),
    pytest.param({"status": 400, "body": ECHO}, id="echoes-secret"),
    pytest.param(
        {"status": 400, "body": ECHO_AT_THE_CUT},
        id="echoes-secret-at-the-cut",
    ),
    pytest.param(
        {"status": 200, "body": ECHO},
        id="200-echoes-secret",
    ),
    pytest.param(
        {"status": 401, "body": ECHO_BASIC},
        id="echoes-basic-credentials",
    ),
]


@pytest.mark.azurite
@pytest.mark.parametrize("failure", MIXPANEL_DOWN)
@pytest.mark.parametrize(("module", "kind"), TIMERS)
def test_a_failed_timer_run_notice_and_error_carry_no_secret(
    stack: Stack, outlets: Outlets, ledger, azurite_connection_string, module, kind, failure
):
    """Mixpanel down at the slot: the notice, the raised error, logs and ledger hold no secret."""
    stack.mixpanel.fail_next(times=1000, **failure)
    with pytest.raises(MixpanelError) as raised:
        module.main(slot_timer(kind), Invocation())
    assert len(stack.slack.posts) == 1  # the failure notice, scanned with the rest
    assert_no_secrets(
        *exception_texts(raised.value),
        *outlets.texts(),
        *ledger_texts(azurite_connection_string, ledger),
    )


def _slack_unreachable(stack: Stack, env: pytest.MonkeyPatch) -> None:
    env.setenv("SLACK_WEBHOOK_URL", f"http://127.0.0.1:{free_port()}/services/T/B/{WEBHOOK_TOKEN}")


@pytest.mark.azurite
@pytest.mark.parametrize(
    "break_slack",
    [
        pytest.param(_slack_fails(500), id="slack-500"),
        pytest.param(_slack_fails(404, "no_service"), id="slack-404"),
        pytest.param(_slack_unreachable, id="slack-unreachable"),
        pytest.param(
            _slack_fails(404, ECHO_PATH),
            id="slack-echoes-path",
        ),
    ],
)
def test_a_notice_that_cannot_be_posted_is_logged_without_secrets(
    stack: Stack, outlets: Outlets, ledger, azurite_connection_string, monkeypatch, break_slack
):
    """Mixpanel and Slack both down: the notice is logged instead, and no log holds a secret."""
    stack.mixpanel.fail_next(503, times=1000, retry_after="0")
    break_slack(stack, monkeypatch)
    with pytest.raises(MixpanelError) as raised:
        WeeklyReport.main(slot_timer(PeriodKind.WEEKLY), Invocation())
    logged = [r for r in outlets.caplog.records if "could not post the failure notice" in r.msg]
    assert len(logged) == 1
    assert stack.slack.posts == []
    assert_no_secrets(
        *exception_texts(raised.value),
        *outlets.texts(),
        *ledger_texts(azurite_connection_string, ledger),
    )


@pytest.mark.azurite
@pytest.mark.parametrize(
    "break_slack",
    [
        pytest.param(_slack_fails(404, "no_service"), id="slack-404"),
        pytest.param(_slack_fails(400, "invalid_blocks"), id="slack-400"),
        pytest.param(
            _slack_unreachable,
            id="slack-unreachable",
        ),
    ],
)
def test_a_report_slack_refuses_fails_the_run_without_secrets(
    stack: Stack, outlets: Outlets, ledger, azurite_connection_string, monkeypatch, break_slack
):
    """Slack refusing the report itself: the SlackError, its chain and the logs hold no secret."""
    break_slack(stack, monkeypatch)
    with pytest.raises(SlackError) as raised:
        WeeklyReport.main(slot_timer(PeriodKind.WEEKLY), Invocation())
    assert_no_secrets(
        *exception_texts(raised.value),
        *outlets.texts(),
        *ledger_texts(azurite_connection_string, ledger),
    )


@pytest.mark.parametrize(
    "connection_string",
    [
        pytest.param(
            "DefaultEndpointsProtocol=http;AccountName=fakeaccount;"
            f"AccountKey={STORAGE_ACCOUNT_KEY};"
            "TableEndpoint=http://127.0.0.1:{port}/fakeaccount;",
            id="closed-port",
        ),
        pytest.param(
            "DefaultEndpointsProtocol=http;AccountName=fakeaccount;"
            f"AccountKey={STORAGE_ACCOUNT_KEY}-not-base64!;"
            "TableEndpoint=http://127.0.0.1:{port}/fakeaccount;",
            id="key-not-base64",
        ),
        pytest.param(f"AccountKey={STORAGE_ACCOUNT_KEY}", id="malformed"),
    ],
)
def test_unreachable_storage_fails_the_run_without_the_account_key(
    stack: Stack, outlets: Outlets, monkeypatch, connection_string
):
    """The ledger's storage unusable: the LedgerError, its chain and the logs hold no AccountKey."""
    monkeypatch.setenv("AzureWebJobsStorage", connection_string.format(port=free_port()))
    with pytest.raises(LedgerError) as raised:
        DailyReport.main(slot_timer(PeriodKind.DAILY), Invocation())
    assert_no_secrets(*exception_texts(raised.value), *outlets.texts())


@pytest.mark.parametrize(
    ("settings", "notice_posted"),
    [
        pytest.param({"MIXPANEL_REGION": "mars"}, True, id="region"),
        pytest.param(
            {"MIXPANEL_REGION": "mars", "MIXPANEL_SECRET": ""}, True, id="region-and-no-secret"
        ),
        pytest.param(
            {"REPORT_HOUR": "25", "SLACK_WEBHOOK_URL": f"hooks.slack.com/services/{WEBHOOK_TOKEN}"},
            False,
            id="webhook-without-scheme",
        ),
    ],
)
@pytest.mark.parametrize(("module", "kind"), TIMERS)
def test_bad_settings_on_a_timer_are_reported_without_secrets(
    stack: Stack, outlets: Outlets, monkeypatch, module, kind, settings, notice_posted
):
    """A malformed setting: the notice (or log line) and the raised ConfigError hold no secret."""
    monkeypatch.setenv(
        "AzureWebJobsStorage",
        "DefaultEndpointsProtocol=https;AccountName=fakeaccount;"
        f"AccountKey={STORAGE_ACCOUNT_KEY};EndpointSuffix=core.windows.net",
    )
    for name, value in settings.items():
        monkeypatch.setenv(name, value)
    with pytest.raises(ConfigError) as raised:
        module.main(slot_timer(kind), Invocation())
    assert len(stack.slack.posts) == (1 if notice_posted else 0)
    assert_no_secrets(*exception_texts(raised.value), *outlets.texts())


def test_debug_logging_never_shows_the_webhook_path(stack: Stack, outlets: Outlets):
    """Even at DEBUG, no log record (urllib3's request lines included) holds the webhook token."""
    response = CustomReport.main(
        func.HttpRequest(method="GET", url="/api/CustomReport", params=TO_SLACK, body=b"")
    )
    assert response.status_code == 200
    assert len(stack.slack.posts) == 1
    assert_no_secrets(*log_texts(outlets.caplog))


# -- email -----------------------------------------------------------------------------------


def _email_env(monkeypatch: pytest.MonkeyPatch, port: int, **extra: str) -> None:
    """Email on: a login to a loopback SMTP server (in clear: allowed only on the loopback)."""
    settings = {
        "SMTP_HOST": "127.0.0.1",
        "SMTP_PORT": str(port),
        "SMTP_SECURITY": "none",
        "SMTP_SENDER": SENDER,
        "SMTP_USERNAME": SMTP_USERNAME,
        "SMTP_PASSWORD": SMTP_PASSWORD,
        "EMAIL_TO": RECIPIENTS,
        "EMAIL_PDF": "true",
        **extra,
    }
    for name, value in settings.items():
        monkeypatch.setenv(name, value)


@pytest.mark.azurite
@pytest.mark.parametrize(
    "server_password",
    [pytest.param("another-password", id="login-refused"), pytest.param(None, id="unreachable")],
)
def test_a_failed_email_carries_no_smtp_password(
    stack: Stack, outlets: Outlets, ledger, azurite_connection_string, monkeypatch, server_password
):
    """Login refused or server gone: the EmailError, the Slack notice, logs and ledger are clean."""
    from devtools.smtp_standin import SmtpStandIn
    from shared.errors import EmailError

    with SmtpStandIn(username=SMTP_USERNAME, password=server_password or "x") as smtp:
        port = smtp.port if server_password else free_port()
        _email_env(monkeypatch, port)
        with pytest.raises(EmailError) as raised:
            WeeklyReport.main(slot_timer(PeriodKind.WEEKLY), Invocation())
    assert len(stack.slack.posts) == 2  # the report, then the notice that the email failed
    assert_no_secrets(
        *exception_texts(raised.value),
        *outlets.texts(),
        *ledger_texts(azurite_connection_string, ledger),
    )


# -- the bot token -----------------------------------------------------------------------------


def _use_the_bot(stack: Stack, monkeypatch: pytest.MonkeyPatch) -> None:
    """Post with SLACK_BOT_TOKEN via the stand-in's chat.postMessage instead of the webhook."""
    stack.slack.bot_token = BOT_TOKEN
    monkeypatch.setenv("SLACK_BOT_TOKEN", BOT_TOKEN)
    monkeypatch.setenv("SLACK_CHANNEL", "C0E2E")
    monkeypatch.setenv("SLACK_API_URL", stack.slack.api_url)


@pytest.mark.parametrize(
    "refusal",
    [
        pytest.param(lambda slack: setattr(slack, "refuse_charts", True), id="charts-refused"),
        pytest.param(lambda slack: None, id="accepted"),
    ],
)
def test_a_bot_token_report_and_its_chart_fallback_carry_no_token(
    stack: Stack, outlets: Outlets, ledger, azurite_connection_string, monkeypatch, refusal
):
    """chat.postMessage at DEBUG, a chart refusal and its fallback: the token never comes out."""
    _use_the_bot(stack, monkeypatch)
    refusal(stack.slack)
    WeeklyReport.main(slot_timer(PeriodKind.WEEKLY), Invocation())
    assert len(stack.slack.posts) == 1
    assert stack.slack.posts[0]["channel"] == "C0E2E"
    assert_no_secrets(*outlets.texts(), *ledger_texts(azurite_connection_string, ledger))


@pytest.mark.parametrize("answer", ["invalid_auth", "channel_not_found", "ratelimited"])
def test_a_bot_token_refused_by_slack_fails_without_showing_the_token(
    stack: Stack, outlets: Outlets, ledger, azurite_connection_string, monkeypatch, answer
):
    """ok:false (or 429) on every try: the SlackError, its chain and the logs hold no token."""
    _use_the_bot(stack, monkeypatch)
    status = 429 if answer == "ratelimited" else 200
    stack.slack.fail_next(status, times=10, body=answer, retry_after="0")
    with pytest.raises(SlackError) as raised:
        WeeklyReport.main(slot_timer(PeriodKind.WEEKLY), Invocation())
    assert raised.value.body == answer
    assert_no_secrets(
        *exception_texts(raised.value),
        *outlets.texts(),
        *ledger_texts(azurite_connection_string, ledger),
    )


def test_bad_email_settings_are_reported_without_the_smtp_password(
    stack: Stack, outlets: Outlets, monkeypatch
):
    """A password that would go in clear to a remote server: a ConfigError, password unshown."""
    _email_env(monkeypatch, 25, SMTP_HOST="smtp.example.com", SMTP_PORT="x")
    with pytest.raises(ConfigError) as raised:
        WeeklyReport.main(slot_timer(PeriodKind.WEEKLY), Invocation())
    assert "never sent in clear" in str(raised.value)
    assert_no_secrets(*exception_texts(raised.value), *outlets.texts())


def test_a_malformed_bot_token_is_reported_without_its_value(stack: Stack, monkeypatch):
    """SLACK_BOT_TOKEN that is not a token: the ConfigError names the setting, not the value."""
    monkeypatch.setenv("SLACK_BOT_TOKEN", f"not a token {BOT_TOKEN}")
    with pytest.raises(ConfigError) as raised:
        WeeklyReport.main(slot_timer(PeriodKind.WEEKLY), Invocation())
    assert "SLACK_BOT_TOKEN must be a Slack token" in str(raised.value)
    assert_no_secrets(*exception_texts(raised.value))
