"""Start and stop a throwaway Azurite table service (the real Azure Storage emulator) for tests."""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[1]
AZURITE_TABLE_BIN = REPO_ROOT / "tools" / "node_modules" / ".bin" / "azurite-table"
AZURITE_QUEUE_BIN = REPO_ROOT / "tools" / "node_modules" / ".bin" / "azurite-queue"

# Azurite's fixed development account, published in every Azure Storage doc: not a secret.
ACCOUNT_NAME = "devstoreaccount1"
ACCOUNT_KEY = (
    "Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw=="
)


class AzuriteError(RuntimeError):
    """Azurite is missing or did not come up."""


def table_connection_string(port: int, *, host: str = "127.0.0.1") -> str:
    """The connection string for the development account's table endpoint on `port`."""
    return (
        f"DefaultEndpointsProtocol=http;AccountName={ACCOUNT_NAME};AccountKey={ACCOUNT_KEY};"
        f"TableEndpoint=http://{host}:{port}/{ACCOUNT_NAME};"
    )


def free_port() -> int:
    """A loopback port that was free a moment ago (the caller retries if someone takes it)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _accepts(port: int) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=0.5):
            return True
    except OSError:
        return False


@dataclass
class AzuriteTable:
    """A running `azurite-table` process in its own process group."""

    process: subprocess.Popen[bytes]
    port: int
    workdir: Path

    @property
    def connection_string(self) -> str:
        """Connection string for this instance."""
        return table_connection_string(self.port)

    def stop(self) -> None:
        """Terminate the whole process group (node may have children), then clean up."""
        _kill_group(self.process)
        shutil.rmtree(self.workdir, ignore_errors=True)


def _kill_group(process: subprocess.Popen[bytes]) -> None:
    if process.poll() is None:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(timeout=5)
        except subprocess.TimeoutExpired:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(process.pid, signal.SIGKILL)
            process.wait(timeout=5)


def azurite_command(port: int) -> list[str]:
    """The azurite-table command line used by the test session."""
    return [
        str(AZURITE_TABLE_BIN),
        "--tableHost",
        "127.0.0.1",
        "--tablePort",
        str(port),
        # In memory: nothing to clean up (Azurite refuses it together with --location, so the
        # process runs with cwd=workdir to keep any stray file out of the repo).
        "--inMemoryPersistence",
        "--silent",
        "--disableTelemetry",
        "--skipApiVersionCheck",
        "--loose",
    ]


def start_azurite_table(*, timeout: float = 20.0, attempts: int = 3) -> AzuriteTable:
    """Start azurite-table on a free loopback port and wait until it accepts connections."""
    return _start(AZURITE_TABLE_BIN, azurite_command, timeout=timeout, attempts=attempts)


def queue_connection_string(port: int, *, host: str = "127.0.0.1") -> str:
    """The connection string for the development account's queue endpoint on `port`."""
    return (
        f"DefaultEndpointsProtocol=http;AccountName={ACCOUNT_NAME};AccountKey={ACCOUNT_KEY};"
        f"QueueEndpoint=http://{host}:{port}/{ACCOUNT_NAME};"
    )


class AzuriteQueue(AzuriteTable):
    """A running `azurite-queue` process (the Functions host's queues, for queue triggers)."""

    @property
    def connection_string(self) -> str:
        """Connection string for this instance's queue service."""
        return queue_connection_string(self.port)


def azurite_queue_command(port: int) -> list[str]:
    """The azurite-queue command line: the table command's options, for the queue service."""
    options = azurite_command(port)[5:]
    return [str(AZURITE_QUEUE_BIN), "--queueHost", "127.0.0.1", "--queuePort", str(port), *options]


def start_azurite_queue(*, timeout: float = 20.0, attempts: int = 3) -> AzuriteQueue:
    """Start azurite-queue on a free loopback port and wait until it accepts connections."""
    table = _start(AZURITE_QUEUE_BIN, azurite_queue_command, timeout=timeout, attempts=attempts)
    return AzuriteQueue(process=table.process, port=table.port, workdir=table.workdir)


def _start(
    binary: Path, command: Callable[[int], list[str]], *, timeout: float, attempts: int
) -> AzuriteTable:
    if not binary.exists():
        raise AzuriteError(
            f"Azurite is not installed ({binary} is missing): run `make test`, "
            "which installs it into tools/node_modules"
        )
    last_error = ""
    for _ in range(attempts):
        workdir = Path(tempfile.mkdtemp(prefix="azurite-"))
        port = free_port()
        stderr_path = workdir / "stderr.log"
        stdout_path = workdir / "stdout.log"
        with stdout_path.open("wb") as out, stderr_path.open("wb") as err:
            process = subprocess.Popen(  # noqa: S603 - fixed argv, no shell
                command(port),
                cwd=workdir,
                stdin=subprocess.DEVNULL,
                stdout=out,
                stderr=err,
                start_new_session=True,  # its own process group, so stop() can kill it all
            )
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if process.poll() is not None:
                break
            if _accepts(port):
                return AzuriteTable(process=process, port=port, workdir=workdir)
            time.sleep(0.1)
        exit_code = process.poll()
        _kill_group(process)
        output = _read(stderr_path) + _read(stdout_path)
        shutil.rmtree(workdir, ignore_errors=True)
        outcome = (
            f"did not accept connections within {timeout:.0f} s"
            if exit_code is None
            else f"exited with code {exit_code}"
        )
        last_error = f"{binary.name} on port {port} {outcome}; output:\n{output or '(none)'}"
        # Another process grabbed the port between free_port() and Azurite's bind: try again.
        if "EADDRINUSE" not in output:
            break
    raise AzuriteError(f"Azurite did not start: {last_error}")


def _read(path: Path) -> str:
    try:
        return path.read_text(encoding="utf-8", errors="replace")[-4000:]
    except OSError:
        return ""
