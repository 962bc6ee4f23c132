"""`make demo ARGS='--slash "weekly"'`: one signed /analytics command through both functions.

A demo signing secret signs a slash command form as Slack would; SlackCommand's shell checks it
and acknowledges; the queue message goes straight to SlackCommandWorker's shell (no queue
here); the answer lands on a response_url of a loopback Slack stand-in and is printed.
"""

from __future__ import annotations

import json
import time
from collections.abc import Mapping
from pathlib import Path
from urllib.parse import urlencode

from devtools.slack_standin import SlackCommandStandIn
from shared.jobs.slash_command import handle_slack_command, run_command_job
from shared.slack_command.verify import sign

DEMO_SIGNING_SECRET = "demo-signing-secret-not-a-real-one"
DEMO_TEAM_ID = "T0DEMO"


def slash_demo(environ: Mapping[str, str], words: str, *, out: Path) -> list[str]:
    """Send `/analytics {words}` signed, run both functions, return what to print."""
    env = {
        **environ,
        "SLACK_SIGNING_SECRET": DEMO_SIGNING_SECRET,
        "SLACK_TEAM_ID": DEMO_TEAM_ID,
    }
    env.pop("SLACK_COMMAND_CHANNELS", None)
    env.pop("AzureWebJobsStorage", None)  # the demo's ledger is in memory
    slack = SlackCommandStandIn()
    slack.start()
    try:
        form = {
            "team_id": DEMO_TEAM_ID,
            "channel_id": "C0DEMO",
            "user_id": "U0DEMO",
            "command": "/analytics",
            "text": words,
            "response_url": slack.response_url(),
        }
        body = urlencode(form).encode()
        headers = sign(body, secret=DEMO_SIGNING_SECRET, timestamp=int(time.time()))
        lines = [f"/analytics {words}  (signed with the demo signing secret)"]
        result = handle_slack_command("POST", body, headers, environ=env)
        ack = json.loads(result.http.body)
        lines.append(f"SlackCommand answered HTTP {result.http.status} within Slack's 3 s:")
        lines.append(f"  {ack.get('text') or ack.get('error', {}).get('message')}")
        if result.job is None:
            if "blocks" in ack:
                lines += _sections(ack)
            return lines
        run_command_job(result.job, environ=env)
        for answer in slack.command_posts:
            out.mkdir(exist_ok=True)
            path = out / "slash-answer.json"
            path.write_text(json.dumps(answer, indent=2, ensure_ascii=False), encoding="utf-8")
            lines.append(
                f"SlackCommandWorker posted to the response_url ({answer['response_type']}, "
                f"{len(answer.get('blocks', []))} blocks; Block Kit in {path}):"
            )
            lines += _sections(answer)
        for status, text in slack.command_refusals:
            lines.append(f"The response_url refused a post: HTTP {status} {text}")
        return lines
    finally:
        slack.stop()


def _sections(payload: Mapping[str, object]) -> list[str]:
    """The answer's fallback text and its header and section texts, for a terminal."""
    lines = [f"  {payload.get('text')}"]
    blocks = payload.get("blocks")
    for block in blocks if isinstance(blocks, list) else []:
        text = block.get("text") if isinstance(block, dict) else None
        if isinstance(text, dict) and isinstance(text.get("text"), str):
            lines += [f"  | {line}" for line in text["text"].splitlines()]
    return lines
