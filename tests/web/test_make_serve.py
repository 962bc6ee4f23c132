"""`make serve` as a user runs it (issue 23 items 13 and 14): `python -m devtools.serve`.

Each test starts the real dev server in its own process, in a scratch directory (it keeps the
emails it receives in out/mail/ there), and stops it with SIGTERM as Ctrl-C would.
"""

from __future__ import annotations

import json
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from email import message_from_bytes
from email.policy import default
from pathlib import Path

import azure.functions as func
import pytest
import requests

import CustomReport
from devtools import serve
from tests.e2e import Stack

REPO = Path(__file__).resolve().parents[2]
# Hang guards only: how long a stuck server is waited for, never a speed requirement.
START_GUARD_SECONDS = 300
STOP_GUARD_SECONDS = 60


def serve_command(*args: str) -> list[str]:
    return [sys.executable, "-m", "devtools.serve", "--sample", "--no-storage", *args]


def run_env() -> dict[str, str]:
    """A clean environment: the served sample, never the caller's real settings."""
    return {"PATH": "/usr/bin:/bin", "PYTHONPATH": str(REPO), "HOME": str(REPO)}


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture
def busy_port() -> Iterator[int]:
    """A port something else already listens on."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        sock.listen()
        yield int(sock.getsockname()[1])


def test_make_serve_on_a_busy_port_names_it_and_how_to_choose_another(
    busy_port: int, tmp_path: Path
):
    """Item 13: one line naming the port and `make serve ARGS="--port N"`; exit 2, no traceback."""
    done = subprocess.run(  # noqa: S603 - fixed argv
        serve_command("--port", str(busy_port)),
        cwd=tmp_path,
        env=run_env(),
        capture_output=True,
        text=True,
        timeout=START_GUARD_SECONDS,
        check=False,
    )
    assert done.returncode == 2
    assert "Traceback" not in done.stderr + done.stdout
    assert f"port {busy_port} is busy" in done.stderr
    assert f'make serve ARGS="--port {busy_port + 1}"' in done.stderr
    assert not (tmp_path / "out").exists()  # nothing was started before the port was checked


@pytest.mark.parametrize("value", ["70000", "-1", "seven", "\u0667"])
def test_make_serve_refuses_a_port_that_is_not_one(value: str, capsys):
    """--port is 0 to 65535 in ASCII digits: argparse's one-line usage error, exit 2."""
    with pytest.raises(SystemExit) as stopped:
        serve.main(["--port", value])
    assert stopped.value.code == 2
    assert "is not a port number (0 to 65535)" in capsys.readouterr().err


@pytest.fixture
def served(tmp_path: Path) -> Iterator[tuple[str, Path]]:
    """`make serve` (the bundled sample) on a free port: its base URL and its directory."""
    port = free_port()
    process = subprocess.Popen(  # noqa: S603 - fixed argv
        serve_command("--port", str(port)),
        cwd=tmp_path,
        env=run_env(),
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + START_GUARD_SECONDS
        while True:
            assert process.poll() is None, process.stdout.read() if process.stdout else ""
            try:
                requests.get(f"{base}/api/CustomReport?dry_run=true", timeout=30)
                break
            except requests.ConnectionError:
                assert time.monotonic() < deadline, "make serve never started (hang guard)"
                time.sleep(0.2)
        yield base, tmp_path
    finally:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=STOP_GUARD_SECONDS)
        finally:
            if process.poll() is None:
                process.kill()
                process.wait()
            if process.stdout:
                process.stdout.close()


def test_a_report_emailed_through_make_serve_reaches_its_smtp_stand_in(served):
    """Item 14: send_email=true through make serve lands in its SMTP stand-in (out/mail/)."""
    base, where = served
    url = f"{base}/api/CustomReport?period=weekly&send_slack=false&send_email=true"
    response = requests.get(url, timeout=120)
    assert response.status_code == 200, response.text
    answer = response.json()
    assert answer["email"] == {"posted": True, "error": None}
    assert answer["slack"] == {"posted": False, "error": None}
    [saved] = sorted((where / "out" / "mail").glob("*.eml"))
    mail = message_from_bytes(saved.read_bytes(), policy=default)
    assert mail["To"] == "Team <team@example.com>"
    assert "weekly" in str(mail["Subject"]).lower()
    # The same request again is a duplicate: nothing more is sent, nothing is built.
    again = requests.get(url, timeout=120).json()
    assert again["report"] is None
    assert again["email"]["duplicate"] is True
    assert len(list((where / "out" / "mail").glob("*.eml"))) == 1


def test_send_email_without_email_settings_is_a_400_naming_the_field(stack: Stack):
    """No SMTP settings: conflicting_parameters on send_email, before any Mixpanel request."""
    response = CustomReport.main(
        func.HttpRequest(
            method="GET",
            url="/api/CustomReport",
            params={"send_email": "true", "send_slack": "false"},
            body=b"",
        )
    )
    assert response.status_code == 400
    error = json.loads(response.get_body())["error"]
    assert (error["code"], error["field"]) == ("conflicting_parameters", "send_email")
    assert error["message"] == (
        "this deployment has no email settings (SMTP_HOST, SMTP_SENDER and EMAIL_TO); "
        "send send_email=false"
    )
    assert stack.mixpanel.requests == []
