"""Schemathesis against the real CustomReport and AlertBacktest main() behind the dev server.

Zero findings on both operations of openapi.yaml.

`make serve`'s server (devtools/serve.py) runs on a free loopback port in this process, in
front of the real main(), the loopback Mixpanel and Slack stand-ins and a real Azurite ledger.
Schemathesis (its CLI, as a user would run it) reads openapi.yaml and sends valid and invalid
requests in every phase but the stateful one (there are no links to follow), with every check
but one: `ignored_auth`, because the function key is checked by the Azure Functions host and
`make serve` has no host in front of it (the README says so). A fixed seed and a bounded
example count keep the run reproducible and about a minute long.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from devtools.serve import BACKTEST_ROUTE, ROUTE, slash_env, smtp_env
from devtools.smtp_standin import SmtpStandIn
from tests.e2e import Stack
from tests.openapi_check import load_openapi
from tests.serving import dev_server as serving

REPO = Path(__file__).resolve().parents[2]
SEED = 20261202
MAX_EXAMPLES = 60  # per operation and phase; ~250 requests in all
# The one check the dev server cannot pass by design: it has no Functions host checking keys.
LOCALLY_ABSENT = ("ignored_auth",)
# Hang guards only: the run is bounded by MAX_EXAMPLES, not by time (~1-2 min idle, more on a
# loaded 2-core machine). pytest's guard sits above the subprocess's own.
HANG_GUARD_SECONDS = 1800


@pytest.fixture
def dev_server(
    stack: Stack, azurite_connection_string: str, ledger_table_name: str, monkeypatch
) -> Iterator[str]:
    """The dev server in front of main(), with the stand-ins, an Azurite ledger and, as
    `make serve` has, an SMTP stand-in (so send_email=true, a valid request, is answered 200)."""
    monkeypatch.setenv("AzureWebJobsStorage", azurite_connection_string)
    monkeypatch.setenv("DELIVERY_TABLE", ledger_table_name)
    for name, value in slash_env({}).items():  # SlackCommand's settings, as make serve sets them
        monkeypatch.setenv(name, value)
    with SmtpStandIn() as mail:
        for name, value in smtp_env(mail.address).items():
            monkeypatch.setenv(name, value)
        with serving() as port:
            yield f"http://127.0.0.1:{port}"


def run_schemathesis(base_url: str, workdir: Path) -> subprocess.CompletedProcess[str]:
    """The CLI run the issue describes: all checks, both modes, fixed seed, bounded."""
    command = [
        sys.executable,
        "-c",
        "from schemathesis.cli import schemathesis; schemathesis()",
        "run",
        str(REPO / "openapi.yaml"),
        "--url",
        base_url,
        "--checks",
        "all",
        "--exclude-checks",
        ",".join(LOCALLY_ABSENT),
        "--mode",
        "all",
        "--phases",
        "examples,coverage,fuzzing",
        "--seed",
        str(SEED),
        "--max-examples",
        str(MAX_EXAMPLES),
        "--workers",
        "1",
        "--generation-database",
        "none",
        "--request-timeout",
        "60",
        "--no-color",
    ]
    env = {
        **os.environ,
        "PYTHONPATH": str(REPO),
        "SCHEMATHESIS_HOOKS": "tests.web.schemathesis_hooks",
    }
    return subprocess.run(  # noqa: S603 - fixed argv, no shell
        command,
        cwd=workdir,
        env=env,
        capture_output=True,
        text=True,
        timeout=HANG_GUARD_SECONDS,
        check=False,
    )


@pytest.mark.azurite
@pytest.mark.timeout(HANG_GUARD_SECONDS + 300)
def test_schemathesis_finds_nothing_against_the_real_main(
    dev_server: str, stack: Stack, tmp_path: Path
) -> None:
    """Every check but the host's function-key check passes on every generated request."""
    result = run_schemathesis(dev_server, tmp_path)
    output = result.stdout + result.stderr
    print(output[-3000:])  # shown with -s, and kept in the report on failure
    assert result.returncode == 0, output[-12000:]
    generated = re.search(r"(\d+) generated", output)
    assert generated is not None, output[-3000:]
    assert int(generated.group(1)) >= 150, output[-3000:]
    # The run reached the app: reports were built and Slack accepted every post it got.
    assert stack.mixpanel.requests, output[-2000:]
    assert stack.slack.rejections == []
    assert ROUTE == "/api/CustomReport"
    # Every operation was tested (CustomReport's GET and POST, AlertBacktest's GET,
    # SlackCommand's POST, which unsigned requests meet as 401 (signed ones are fuzzed in
    # tests/slack_command), DeliveryHistory's GET), and AlertBacktest's valid cases ran real
    # backtests (the hourly /events only a backtest asks).
    assert re.search(r"Tested:\s+5\b", output), output[-3000:]
    assert BACKTEST_ROUTE in load_openapi()["paths"]
    hourly = [r for r in stack.mixpanel.requests if r.query.get("unit") == "hour"]
    assert hourly, output[-2000:]
