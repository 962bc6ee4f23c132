"""End to end: signed command -> SlackCommand -> Azurite's queue -> worker -> response_url.

The stand-ins are Mixpanel, Slack (webhook and response_urls) and Azurite (ledger and queue);
the functions are the real main()s of SlackCommand and SlackCommandWorker.
"""

from __future__ import annotations

import json
import logging
import os
from datetime import UTC, datetime

import azure.functions as func
import pytest

import CustomReport
from shared.delivery.ledger import DeliveryKey, TableDeliveryLedger
from shared.schedule.periods import PeriodKind, report_period
from shared.settings import Secret
from tests.e2e import WEBHOOK_TOKEN, yesterday
from tests.slack_command.slash_harness import SIGNING_SECRET, Slash

pytestmark = pytest.mark.azurite


def body_of(response: func.HttpResponse) -> dict:
    return json.loads(response.get_body())


def report_blocks(payload: dict) -> list[dict]:
    """The report's own blocks, without the 'data as of' line (its minute may differ)."""
    return [b for b in payload["blocks"] if b["type"] != "context"]


def test_weekly_is_acknowledged_at_once_and_answered_privately_with_the_scheduled_report(
    slash: Slash,
):
    """The ack is ephemeral; the answer is CustomReport's weekly report, same renderer."""
    response, job = slash.ask("weekly")
    assert response.status_code == 200
    ack = body_of(response)
    assert ack["response_type"] == "ephemeral"
    assert ack["text"].startswith(":hourglass_flowing_sand: Building the report for ")
    assert job is not None
    assert slash.slack.command_posts == []  # nothing before the worker runs
    assert slash.drain() == 1
    [answer] = slash.slack.command_posts
    assert answer["response_type"] == "ephemeral"
    week = report_period(
        PeriodKind.WEEKLY, yesterday().date() + __import__("datetime").timedelta(1)
    )
    assert week.current.label() in ack["text"]
    same = CustomReport.main(
        func.HttpRequest(
            method="GET",
            url="/api/CustomReport",
            params={"period": "weekly", "format": "blocks", "send_slack": "false"},
            body=b"",
        )
    )
    assert report_blocks(answer) == report_blocks(json.loads(same.get_body()))
    assert any(b["type"] == "data_visualization" for b in answer["blocks"])  # charts included
    assert slash.slack.command_refusals == []


def test_share_posts_the_answer_to_the_channel(slash: Slash):
    """`share`: response_type in_channel."""
    slash.ask("daily share")
    slash.drain()
    [answer] = slash.slack.command_posts
    assert answer["response_type"] == "in_channel"


def test_a_slack_retry_and_a_replay_of_one_command_give_one_answer(slash: Slash):
    """The same signed body three times (a retry with X-Slack-Retry-Num, a replay): one post."""
    body = slash.form("weekly")
    headers = slash.signed(body)
    first, _ = slash.command(body, headers)
    retry, _ = slash.command(body, {**headers, "X-Slack-Retry-Num": "1"})
    replay, _ = slash.command(body, headers)
    assert [r.status_code for r in (first, retry, replay)] == [200, 200, 200]
    assert slash.drain() == 3
    assert len(slash.slack.command_posts) == 1


def test_a_redelivered_queue_message_gives_one_answer(slash: Slash):
    """The queue delivers the message again (its delete was lost): still one post."""
    slash.ask("weekly")
    assert slash.redeliver_once() == 2
    assert len(slash.slack.command_posts) == 1


def test_status_names_settings_and_shows_failures_never_urls(slash: Slash, caplog):
    """What the ledger holds for the last 7 days, by setting name; the URL appears nowhere."""
    caplog.set_level(logging.DEBUG)
    ledger = TableDeliveryLedger(
        os.environ["AzureWebJobsStorage"],  # noqa: SIM112 - the Functions host's name
        table_name=os.environ["DELIVERY_TABLE"],
    )
    hook = Secret(slash.stack.env["SLACK_WEBHOOK_URL"]).fingerprint()
    day = yesterday().date()
    now = datetime.now(UTC)
    sent = ledger.claim(DeliveryKey("daily", day, day, hook), now=now)
    assert sent is not None
    ledger.mark_sent(sent, now=now, detail="daily ok")
    failed = ledger.claim(DeliveryKey("report:growth", day, day, "0123abcd4567"), now=now)
    assert failed is not None
    ledger.mark_failed(failed, now=now, detail="Slack webhook answered HTTP 404: no_service")

    response, _ = slash.ask("status")
    assert body_of(response)["text"] == ":hourglass_flowing_sand: Reading the delivery history…"
    slash.drain()
    [answer] = slash.slack.command_posts
    text = json.dumps(answer, ensure_ascii=False)
    assert answer["text"] == "Last 7 days: 1 delivered, 1 failed"
    assert "→ SLACK_WEBHOOK_URL, delivered" in text
    assert "*growth*" in text
    assert "unknown destination" in text
    assert "no_service" in text
    assert WEBHOOK_TOKEN not in text
    assert "/commands/T0STANDIN" not in caplog.text  # logged paths are masked
    assert SIGNING_SECRET not in caplog.text


def test_help_is_answered_at_once_without_the_queue(slash: Slash):
    """Help is pure and small: the HTTP answer itself, nothing queued."""
    response, job = slash.ask("help")
    assert job is None
    answer = body_of(response)
    assert answer["response_type"] == "ephemeral"
    assert "`weekly`" in json.dumps(answer)


@pytest.mark.parametrize(
    ("change", "status", "code"),
    [
        ("tampered", 401, "invalid_signature"),
        ("wrong secret", 401, "invalid_signature"),
        ("six minutes old", 401, "invalid_signature"),
        ("no signature", 401, "invalid_signature"),
        ("GET", 405, "method_not_allowed"),
    ],
)
def test_a_request_slack_did_not_sign_gets_401_and_queues_nothing(slash, change, status, code):
    """Tampered body, wrong secret, old timestamp, no headers: 401 JSON, no work."""
    body = slash.form("weekly")
    headers = slash.signed(body)
    method = "POST"
    if change == "tampered":
        body += b"&share"
    elif change == "wrong secret":
        headers = slash.signed(body, secret="not-the-secret")
    elif change == "six minutes old":
        headers = slash.signed(body, age=360)
    elif change == "no signature":
        headers = {"Content-Type": "application/x-www-form-urlencoded"}
    else:
        method = "GET"
    response, job = slash.command(body, headers, method=method)
    assert (response.status_code, body_of(response)["error"]["code"]) == (status, code)
    assert job is None
    assert slash.drain() == 0


def test_another_team_or_channel_gets_a_polite_refusal(slash: Slash, monkeypatch):
    """SLACK_TEAM_ID and SLACK_COMMAND_CHANNELS: 200 ephemeral 'Sorry', nothing queued."""
    response, job = slash.ask("weekly", team_id="T0OTHER")
    assert job is None
    assert body_of(response)["text"].startswith("Sorry, this reporter only answers")
    monkeypatch.setenv("SLACK_COMMAND_CHANNELS", "C0ELSEWHERE")
    response, job = slash.ask("weekly")
    assert job is None
    assert body_of(response)["text"].startswith("Sorry, reports are not available")


@pytest.mark.parametrize("missing", ["SLACK_SIGNING_SECRET", "SLACK_TEAM_ID"])
def test_a_missing_setting_is_a_500_naming_it_never_a_trace(slash, monkeypatch, caplog, missing):
    """The command cannot run without its settings: JSON error and a log line naming them."""
    monkeypatch.delenv(missing)
    response, job = slash.ask("weekly")
    assert response.status_code == 500
    error = body_of(response)["error"]
    assert error["code"] == "server_misconfigured"
    assert missing in error["message"]
    assert missing in caplog.text
    assert "Traceback" not in caplog.text
    assert job is None


def test_a_spent_mixpanel_budget_answers_once_when_to_try_again(slash: Slash):
    """Mixpanel answers 429 with a long Retry-After: one short ephemeral error."""
    slash.stack.mixpanel.fail_next(429, times=100, retry_after="900")
    slash.ask("weekly share")
    slash.drain()
    [answer] = slash.slack.command_posts
    assert answer["response_type"] == "ephemeral"
    assert "query budget for this project is spent" in answer["text"]
    assert "Try again in about 15 minutes" in answer["text"]


def test_charts_refused_at_the_response_url_fall_back_to_the_same_report_without_them(
    slash: Slash,
):
    """A response_url that refuses charts still gets the report once, its numbers as text."""
    slash.slack.refuse_charts = True
    slash.ask("weekly")
    slash.drain()
    [answer] = slash.slack.command_posts
    assert not any(b["type"] == "data_visualization" for b in answer["blocks"])
    assert slash.slack.command_refusals == [(400, "invalid_blocks")]  # the charted attempt
    assert any("📈" in json.dumps(b, ensure_ascii=False) for b in answer["blocks"])


def test_an_unresolved_key_vault_reference_is_named_not_taken_for_a_secret(
    slash: Slash, monkeypatch, caplog
):
    """App Service leaves '@Microsoft.KeyVault(...)' in the setting when it cannot resolve it."""
    monkeypatch.setenv("SLACK_SIGNING_SECRET", "@Microsoft.KeyVault(VaultName=v;SecretName=s)")
    response, job = slash.ask("weekly")
    assert response.status_code == 500
    assert body_of(response)["error"]["code"] == "server_misconfigured"
    assert "SLACK_SIGNING_SECRET is a Key Vault reference Azure could not resolve" in caplog.text
    assert job is None


def test_settings_broken_after_the_ack_get_one_short_answer(slash: Slash, monkeypatch, caplog):
    """The worker cannot build the app: it says so at the response_url once, and logs why."""
    slash.ask("weekly")
    monkeypatch.setenv("METRICS_FILE", "/nonexistent/metrics.toml")
    slash.drain()
    [answer] = slash.slack.command_posts
    assert answer["response_type"] == "ephemeral"
    assert answer["text"].startswith(":warning: The reporter's settings are invalid")
    assert "metrics.toml" in caplog.text
