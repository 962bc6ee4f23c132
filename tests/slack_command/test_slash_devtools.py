"""`make demo ARGS=--slash weekly` and `make serve` /api/SlackCommand, as a developer runs them."""

from __future__ import annotations

import json
import threading
import time
from pathlib import Path

import pytest
import requests

from devtools import demo, serve
from devtools.slack_standin import SlackCommandStandIn, slack_rejection
from shared.slack_command.verify import sign
from shared.sources.mixpanel_client import PROCESS_NAMES_CACHE
from tests.e2e import Stack
from tests.slack_command.slash_harness import SIGNING_SECRET, TEAM_ID

SMALL = ["--days", "40", "--users", "400"]


@pytest.fixture
def clean_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.chdir(tmp_path)
    PROCESS_NAMES_CACHE.clear()
    for name in ("MIXPANEL_USERNAME", "MIXPANEL_SECRET", "SLACK_WEBHOOK_URL", "METRICS_FILE"):
        monkeypatch.delenv(name, raising=False)
    return tmp_path


def test_demo_sends_a_signed_command_and_prints_the_answer(clean_dir: Path, capsys):
    """Signed with the demo secret, acknowledged, answered at a stand-in's response_url."""
    assert demo.main(["--slash", "weekly", *SMALL]) == 0
    out = capsys.readouterr().out
    assert "SlackCommand answered HTTP 200" in out
    assert "SlackCommandWorker posted to the response_url (ephemeral" in out
    answer = json.loads((clean_dir / "out" / "slash-answer.json").read_text())
    assert answer["response_type"] == "ephemeral"
    assert slack_rejection({k: answer[k] for k in ("text", "blocks")}) is None


def test_demo_help_is_answered_at_once(clean_dir: Path, capsys):
    """help needs no worker: the ack is the answer."""
    assert demo.main(["--slash", "help", *SMALL]) == 0
    out = capsys.readouterr().out
    assert "`weekly`" in out
    assert "SlackCommandWorker" not in out


@pytest.mark.azurite
def test_serve_answers_a_signed_command_and_runs_the_worker_after_the_ack(
    stack: Stack, azurite_connection_string, ledger_table_name, monkeypatch
):
    """make serve: POST /api/SlackCommand, 200 ack, then one post at the response_url."""
    monkeypatch.setenv("AzureWebJobsStorage", azurite_connection_string)
    monkeypatch.setenv("DELIVERY_TABLE", ledger_table_name)
    monkeypatch.setenv("SLACK_SIGNING_SECRET", SIGNING_SECRET)
    monkeypatch.setenv("SLACK_TEAM_ID", TEAM_ID)
    slack = SlackCommandStandIn()
    slack.start()
    server = serve.make_server(0)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05})
    thread.start()
    try:
        base = f"http://127.0.0.1:{server.server_address[1]}"
        form = {
            "team_id": TEAM_ID,
            "channel_id": "C1",
            "user_id": "U1",
            "command": "/analytics",
            "text": "daily",
            "response_url": slack.response_url(),
        }
        body = "&".join(f"{k}={requests.utils.quote(v, safe='')}" for k, v in form.items())
        headers = sign(body.encode(), secret=SIGNING_SECRET, timestamp=int(time.time()))
        response = requests.post(f"{base}/api/SlackCommand", data=body, headers=headers, timeout=30)
        assert response.status_code == 200
        assert response.json()["response_type"] == "ephemeral"
        deadline = time.monotonic() + 120  # a hang guard only
        while not slack.command_posts and time.monotonic() < deadline:
            time.sleep(0.1)
        assert len(slack.command_posts) == 1
        history = requests.get(f"{base}/api/DeliveryHistory?days=1", timeout=30)
        assert history.status_code == 200
        assert history.json()["deliveries"] == []  # command answers are not deliveries
        unsigned = requests.post(f"{base}/api/SlackCommand", data=body, timeout=30)
        assert unsigned.status_code == 401
    finally:
        server.shutdown()
        server.server_close()
        thread.join()
        slack.stop()
