"""The two developer commands: `make demo` and `make serve`, run as a new user would."""

from __future__ import annotations

import json
from http.server import ThreadingHTTPServer
from pathlib import Path

import pytest
import requests

from devtools import demo, serve
from devtools.slack_standin import slack_rejection
from shared.sources.mixpanel_client import PROCESS_NAMES_CACHE
from tests.e2e import Stack
from tests.serving import dev_server

MISSPELT = Path(__file__).parents[1] / "devtools" / "sample_metrics_misspelt.toml"
SMALL = ["--days", "40", "--users", "400"]


@pytest.fixture
def clean_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A working directory with no .env and no real settings in the environment."""
    monkeypatch.chdir(tmp_path)
    PROCESS_NAMES_CACHE.clear()  # a new sample project may reuse an earlier one's port
    for name in ("MIXPANEL_USERNAME", "MIXPANEL_SECRET", "MIXPANEL_PROJECT_ID", "SLACK_WEBHOOK_URL",
                 "METRICS_FILE"):  # fmt: skip
        monkeypatch.delenv(name, raising=False)
    return tmp_path


def test_demo_previews_the_sample_report_and_writes_the_block_kit_json(clean_dir, capsys):
    """With nothing configured, the demo runs the real pipeline on the bundled sample."""
    assert demo.main(["--period", "weekly", *SMALL]) == 0
    out = capsys.readouterr().out
    assert "weekly report" in out
    assert "Active users" in out
    assert "Mixpanel requests: 3" in out
    assert "strict Slack stand-in on the loopback accepted the message" in out
    payload = json.loads((clean_dir / "out" / "slack-message-weekly.json").read_text())
    assert slack_rejection(payload) is None


def test_demo_with_a_misspelt_metric_event_fails_with_a_did_you_mean(clean_dir, capsys):
    """The bundled misspelt metrics file is refused, naming the closest real event."""
    assert demo.main(["--metrics-file", str(MISSPELT), *SMALL]) == 1
    assert capsys.readouterr().err.strip() == (
        "error: unknown Mixpanel event in metrics file: 'Receipt Autheticity Tracked' "
        "(did you mean 'Receipt Authenticity Tracked'?)"
    )


def test_serve_answers_the_readme_curl_examples_through_main(stack: Stack):
    """The dev server turns HTTP into func.HttpRequest and main()'s answer back into HTTP."""
    with dev_server(ThreadingHTTPServer(("127.0.0.1", 0), serve.Handler)) as port:
        base = f"http://127.0.0.1:{port}/api/CustomReport"
        ok = requests.get(base, params={"period": "weekly", "send_slack": "false"}, timeout=30)
        assert ok.status_code == 200
        assert ok.headers["Content-Type"].startswith("application/json")
        assert ok.json()["report"]["period"] == "weekly"
        posted = requests.post(base, json={"period": "daily"}, timeout=30)
        assert posted.json()["slack"]["posted"] is True
        bad = requests.get(base, params={"send_slack": "maybe"}, timeout=30)
        assert bad.status_code == 400
        assert bad.json()["error"]["field"] == "send_slack"
        assert requests.get(base.replace("CustomReport", "Nope"), timeout=30).status_code == 404
    assert len(stack.slack.posts) == 1
