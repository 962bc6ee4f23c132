"""`make serve`: /api/CustomReport and /api/AlertBacktest on localhost:7071, no Core Tools.

It also serves /api/SlackCommand (a real Slack app can point at it through a tunnel; with no
queue here, SlackCommandWorker runs in this process right after the ack) and
/api/DeliveryHistory (docs/slash-command.md).

A thin development adapter: it turns each HTTP request into an azure.functions.HttpRequest,
calls the function's real main() (CustomReport.main or AlertBacktest.main) and writes its
HttpResponse back. With no real settings in .env it
serves the bundled sample project and a loopback Slack stand-in, so the README's curl examples
work anywhere. Without AzureWebJobsStorage it starts Azurite (installed by `make setup`) for
the delivery ledger, so `idempotency_key` and the re-post interval work as deployed.

The HTTP framing is answered here, as the Azure front end would, and always as JSON in the
documented error shape: every method token reaches main() (which answers 405 with Allow),
HEAD included; a URL over MAX_URL_BYTES is 414; a body is read by Content-Length or decoded
from Transfer-Encoding: chunked, never ignored; a malformed Content-Length or chunk is 400.
"""

from __future__ import annotations

import argparse
import errno
import json
import os
import signal
import sys
import threading
from collections.abc import Callable, Mapping
from datetime import timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, urlsplit
from zoneinfo import ZoneInfo

import azure.functions as func
from dotenv import dotenv_values

import AlertBacktest
import CustomReport
import DeliveryHistory
import SlackCommand
import SlackCommandWorker
from devtools.mixpanel_standin import DEMO_PROJECT_ID, DEMO_SECRET, DEMO_USERNAME, MixpanelStandIn
from devtools.sample_data import SAMPLE_TIMEZONE, sample_project
from devtools.slack_standin import SlackStandIn
from devtools.slash_demo import DEMO_SIGNING_SECRET, DEMO_TEAM_ID
from devtools.smtp_standin import SmtpStandIn
from shared.clock import utc_now

DEFAULT_PORT = 7071
MAX_PORT = 65535
ROUTE = "/api/CustomReport"
BACKTEST_ROUTE = "/api/AlertBacktest"
# Each served route and the main() behind it, looked up case-insensitively as Azure does.
ROUTES: dict[str, Callable[[func.HttpRequest], func.HttpResponse]] = {
    ROUTE.lower(): lambda request: CustomReport.main(request),
    BACKTEST_ROUTE.lower(): lambda request: AlertBacktest.main(request),
}
MAX_BODY = 1024 * 1024
# Azure Functions documents a 4 KiB limit on the URL; over it the front end answers 414.
MAX_URL_BYTES = 4096
# Request line = method, target and version: room for any method token besides the URL.
MAX_REQUEST_LINE = MAX_URL_BYTES + 128
# A client that stops sending mid-body is answered (or dropped) after this, never waited on.
READ_TIMEOUT_SECONDS = 10
_DIGITS = frozenset("0123456789")
STORAGE_SETTING = "AzureWebJobsStorage"


class FramingError(Exception):
    """The request's HTTP framing is broken: answered with `status` before main() runs."""

    def __init__(self, status: int, code: str, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message


def error_body(code: str, message: str) -> bytes:
    """The documented error shape (openapi.yaml Error), field null: the request as a whole."""
    return json.dumps({"error": {"code": code, "message": message, "field": None}}).encode()


class Handler(BaseHTTPRequestHandler):
    """Every method token goes to the route's main() (which answers 405 itself)."""

    timeout = READ_TIMEOUT_SECONDS
    server_version = "make-serve"
    sys_version = ""

    def handle_one_request(self) -> None:
        """BaseHTTPRequestHandler's loop, without its 501 for unknown methods or 414 crash."""
        # Attributes log_message reads, set before anything can fail.
        self.command, self.path, self.request_version = "", "", "HTTP/0.9"
        try:
            line = self.rfile.readline(MAX_REQUEST_LINE + 1)
        except TimeoutError:
            self.close_connection = True
            return
        if not line:
            self.close_connection = True
            return
        self.raw_requestline = line
        if len(line) > MAX_REQUEST_LINE:
            self.requestline = ""
            self.request_version = "HTTP/1.0"
            self._discard_head(line)
            self._send_error_json(
                414, "uri_too_long", f"the URL must be at most {MAX_URL_BYTES} bytes"
            )
            self.close_connection = True
            return
        if not self.parse_request():  # it has answered (through send_error)
            return
        if len(self.path.encode("latin-1", "replace")) > MAX_URL_BYTES:
            self._send_error_json(
                414, "uri_too_long", f"the URL must be at most {MAX_URL_BYTES} bytes"
            )
            self.close_connection = True
            return
        try:
            self._dispatch()
        except TimeoutError:
            self.close_connection = True
            return
        self.wfile.flush()

    def _discard_head(self, line: bytes) -> None:
        """Read the rest of an over-long request head, so the 414 is not lost to a reset."""
        budget = 4 * MAX_BODY
        try:
            while line and not line.endswith(b"\n") and budget > 0:
                line = self.rfile.readline(65536)
                budget -= len(line)
            for _ in range(100):  # header lines, up to the empty one
                line = self.rfile.readline(65536)
                if line in (b"\r\n", b"\n", b""):
                    break
        except (TimeoutError, OSError):
            return

    def send_error(self, code: int, message: str | None = None, explain: str | None = None) -> None:
        """http.server's own refusals (bad request line, too many headers) as JSON too."""
        names = {400: "bad_request", 414: "uri_too_long", 431: "headers_too_large"}
        self._send_error_json(code, names.get(code, "bad_request"), message or "bad request")
        self.close_connection = True

    def _send_error_json(self, status: int, code: str, message: str) -> None:
        self._send(status, error_body(code, message))

    def _dispatch(self) -> None:
        parts = urlsplit(self.path)
        if parts.path.rstrip("/").lower() in SLASH_ROUTES:
            self._dispatch_slash(parts.path.rstrip("/").lower())
            return
        main = ROUTES.get(parts.path.rstrip("/").lower())
        if main is None:
            self._send(
                404, error_body("not_found", f"only {ROUTE} and {BACKTEST_ROUTE} are served")
            )
            return
        request = self._function_request()
        if request is not None:
            self._send_response(main(request))

    def _dispatch_slash(self, route: str) -> None:
        """SlackCommand (then its worker, in this process, after the ack) or DeliveryHistory."""
        request = self._function_request()
        if request is None:
            return
        out = _Out()
        if route == SLASH_COMMAND_ROUTE.lower():
            response = SlackCommand.main(request, out)
        else:
            response = DeliveryHistory.main(request)
        self._send_response(response)
        if out.value is not None:  # no queue here: the worker runs after the ack, in-process
            message = func.QueueMessage(id="make-serve", body=out.value.encode("utf-8"))
            threading.Thread(target=_work, args=(message,), daemon=True).start()

    def _function_request(self) -> func.HttpRequest | None:
        """This request as the Functions host hands it over; None once a framing error is sent."""
        try:
            body = self._read_body()
        except FramingError as exc:
            self._send(exc.status, error_body(exc.code, exc.message))
            self.close_connection = True
            return None
        return func.HttpRequest(
            method=self.command,
            url=f"http://localhost{self.path}",
            headers=dict(self.headers.items()),
            params=dict(parse_qsl(urlsplit(self.path).query, keep_blank_values=True)),
            body=body,
        )

    def _send_response(self, response: func.HttpResponse) -> None:
        self._send(
            response.status_code,
            response.get_body(),
            response.mimetype or "application/json",
            dict(response.headers),
        )

    def _read_body(self) -> bytes:
        """The body by Content-Length or chunked encoding (at most MAX_BODY + 1 bytes kept)."""
        encodings = self.headers.get_all("Transfer-Encoding") or []
        lengths = self.headers.get_all("Content-Length") or []
        if encodings:
            if lengths:
                raise FramingError(
                    400, "bad_request", "give either Content-Length or Transfer-Encoding, not both"
                )
            tokens = [t.strip().lower() for value in encodings for t in value.split(",")]
            if tokens != ["chunked"]:
                raise FramingError(
                    400, "bad_request", "Transfer-Encoding must be chunked (and only chunked)"
                )
            try:
                return read_chunked(self.rfile.readline, self.rfile.read, limit=MAX_BODY)
            except TimeoutError:
                raise FramingError(400, "bad_request", "the chunked body never ended") from None
        if not lengths:
            return b""
        if (
            len(set(lengths)) != 1
            or not lengths[0].strip()
            or not set(lengths[0].strip()) <= _DIGITS
        ):
            raise FramingError(400, "bad_request", "Content-Length must be one decimal number")
        length = int(lengths[0].strip())
        try:
            body = self.rfile.read(min(length, MAX_BODY + 1))
        except TimeoutError:
            body = b""
        if len(body) < min(length, MAX_BODY + 1):
            raise FramingError(400, "bad_request", "the body is shorter than its Content-Length")
        if length > MAX_BODY + 1:
            self.close_connection = True  # the rest is never read
        return body

    def _send(
        self,
        status: int,
        body: bytes,
        mimetype: str = "application/json",
        headers: dict[str, str] | None = None,
    ) -> None:
        self.send_response(status)
        self.send_header("Content-Type", f"{mimetype}; charset=utf-8")
        self.send_header("Content-Length", str(len(body)))
        for name, value in (headers or {}).items():
            if name.lower() not in {"content-type", "content-length"}:
                self.send_header(name, value)
        if self.close_connection:
            self.send_header("Connection", "close")
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)

    def log_message(self, format: str, *args: object) -> None:
        """One line per answer; safe before the request line is parsed."""
        path = urlsplit(getattr(self, "path", "") or "").path[:200]
        status = args[1] if len(args) > 1 else "-"
        method = (getattr(self, "command", "") or "-")[:20]
        sys.stderr.write(f"{method} {path or '-'} -> {status}\n")


def read_chunked(
    readline: Callable[[int], bytes], read: Callable[[int], bytes], *, limit: int
) -> bytes:
    """A chunked body (RFC 9112 section 7.1), decoded; kept up to `limit` + 1 bytes."""
    body = bytearray()
    while True:
        line = readline(1026)
        if not line.endswith(b"\n") or len(line) > 1024:
            raise FramingError(400, "bad_request", "malformed chunk size line")
        size_text = line.split(b";", 1)[0].strip()
        if not size_text or not all(c in b"0123456789abcdefABCDEF" for c in size_text):
            raise FramingError(400, "bad_request", "malformed chunk size line")
        size = int(size_text, 16)
        if size == 0:
            break
        if len(body) + size > limit + 1:
            raise FramingError(400, "body_too_large", f"body must be at most {limit} bytes")
        chunk = read(size)
        if len(chunk) != size or read(2) != b"\r\n":
            raise FramingError(400, "bad_request", "a chunk is shorter than its size")
        body += chunk
    while True:  # trailer fields, up to the empty line
        line = readline(1026)
        if line in (b"\r\n", b"\n"):
            return bytes(body)
        if not line.endswith(b"\n"):
            raise FramingError(400, "bad_request", "malformed chunked trailer")


# -- /analytics: SlackCommand and DeliveryHistory (docs/slash-command.md) ---------------------

SLASH_COMMAND_ROUTE = "/api/SlackCommand"
SLASH_ROUTES = (SLASH_COMMAND_ROUTE.lower(), "/api/deliveryhistory")


class _Out(func.Out[str]):
    """The queue output binding, as make serve plays it: the value SlackCommand set."""

    def __init__(self) -> None:
        self.value: str | None = None

    def set(self, val: str) -> None:
        self.value = val

    def get(self) -> str:
        return self.value or ""


def _work(message: func.QueueMessage) -> None:
    try:
        SlackCommandWorker.main(message)
    except Exception as exc:  # noqa: BLE001 - a dev server prints it, as the host would log it
        print(f"SlackCommandWorker failed: {type(exc).__name__}: {exc}", file=sys.stderr)


def slash_env(environ: Mapping[str, str]) -> dict[str, str]:
    """The demo signing secret and team for the sample (a real Slack app's come from .env)."""
    return {
        "SLACK_SIGNING_SECRET": environ.get("SLACK_SIGNING_SECRET") or DEMO_SIGNING_SECRET,
        "SLACK_TEAM_ID": environ.get("SLACK_TEAM_ID") or DEMO_TEAM_ID,
    }


def make_server(port: int = 0) -> ThreadingHTTPServer:
    """The dev server on 127.0.0.1:`port` (0 = any free port), not yet serving."""
    server = ThreadingHTTPServer(("127.0.0.1", port), Handler)
    server.daemon_threads = True
    return server


def _start_storage() -> Any:
    """Azurite for the delivery ledger, or None (with a note) when it is not installed."""
    try:
        from tests.azurite import AzuriteError, start_azurite_table
    except ImportError:
        return None
    try:
        return start_azurite_table()
    except AzuriteError as exc:
        print(f"No delivery ledger storage ({exc}); idempotency_key will answer 503.")
        return None


def _interrupt(signum: int, frame: object) -> None:
    raise KeyboardInterrupt


def smtp_env(address: str) -> dict[str, str]:
    """The email settings that point the app at the loopback SMTP stand-in."""
    host, port = address.rsplit(":", 1)
    return {
        "SMTP_HOST": host,
        "SMTP_PORT": port,
        "SMTP_SECURITY": "none",
        "SMTP_SENDER": os.environ.get("SMTP_SENDER") or "Reports <reports@example.com>",
        "EMAIL_TO": os.environ.get("EMAIL_TO") or "Team <team@example.com>",
    }


def port_number(text: str) -> int:
    """--port's value: a TCP port, 0 to 65535 (0 = any free port)."""
    if not text.isascii() or not text.isdigit() or int(text) > MAX_PORT:
        raise argparse.ArgumentTypeError(f"{text!r} is not a port number (0 to {MAX_PORT})")
    return int(text)


def bind(port: int) -> ThreadingHTTPServer | str:
    """The server on `port`, or the one line that says why it cannot listen there."""
    try:
        return make_server(port)
    except OSError as exc:
        if exc.errno == errno.EADDRINUSE:
            why = f"port {port} is busy: something else (another make serve?) listens on it"
        elif exc.errno == errno.EACCES:
            why = f"port {port} needs privileges this user does not have"
        else:
            why = f"cannot listen on 127.0.0.1:{port}: {exc.strerror or exc}"
        other = port + 1 if 0 < port < MAX_PORT else DEFAULT_PORT + 1
        return f'make serve: {why}. Choose another port: make serve ARGS="--port {other}"'


def main(argv: list[str] | None = None) -> int:
    """Serve until Ctrl-C; 2 (with one line, no traceback) when the port is not free."""
    parser = argparse.ArgumentParser(prog="make serve", description=__doc__)
    parser.add_argument("--port", type=port_number, default=DEFAULT_PORT)
    parser.add_argument("--sample", action="store_true", help="force the bundled sample")
    parser.add_argument("--no-storage", action="store_true", help="do not start Azurite")
    args = parser.parse_args(argv)
    # First: a busy port must leave nothing behind (no stand-in, no Azurite, no settings).
    server = bind(args.port)
    if isinstance(server, str):
        print(server, file=sys.stderr)
        return 2
    os.environ.update({k: v for k, v in dotenv_values(".env").items() if v is not None})
    standins: list[MixpanelStandIn | SlackStandIn | SmtpStandIn] = []
    if args.sample or not os.environ.get("MIXPANEL_SECRET"):
        yesterday = utc_now().astimezone(ZoneInfo(SAMPLE_TIMEZONE)).date() - timedelta(days=1)
        mixpanel = MixpanelStandIn(
            sample_project(end=yesterday),
            username=DEMO_USERNAME,
            secret=DEMO_SECRET,
            project_id=DEMO_PROJECT_ID,
        )
        slack = SlackStandIn()
        smtp = SmtpStandIn(save_to=Path("out/mail"))  # every email it gets: out/mail/NNN.eml
        standins = [mixpanel, slack, smtp]
        os.environ.update(
            {
                "MIXPANEL_USERNAME": DEMO_USERNAME,
                "MIXPANEL_SECRET": DEMO_SECRET,
                "MIXPANEL_PROJECT_ID": DEMO_PROJECT_ID,
                "MIXPANEL_API_URL": mixpanel.start(),
                "SLACK_WEBHOOK_URL": slack.start(),
                "TIMEZONE": SAMPLE_TIMEZONE,
                **smtp_env(smtp.start()),
                "COMPANY_NAME": os.environ.get("COMPANY_NAME") or "Reewild (sample)",
            }
        )
        print("Serving the bundled sample project; Slack posts go to a loopback stand-in.")
        print(
            f"Emails (send_email=true) go to a loopback SMTP server at {smtp.address}, "
            "kept in out/mail/."
        )
    storage = None
    if not os.environ.get(STORAGE_SETTING) and not args.no_storage:
        storage = _start_storage()
        if storage is not None:
            os.environ[STORAGE_SETTING] = storage.connection_string
            print(
                f"Delivery ledger: Azurite on 127.0.0.1:{storage.port} (stopped with the server)."
            )
    os.environ.update(slash_env(os.environ))
    print(f"SlackCommand: http://localhost:{args.port}{SLASH_COMMAND_ROUTE} (point a tunnel here)")
    print(f"CustomReport: http://localhost:{args.port}{ROUTE}")
    print(
        f"AlertBacktest: http://localhost:{args.port}{BACKTEST_ROUTE}  (Ctrl-C to stop)", flush=True
    )
    # SIGTERM (and SIGINT, even where a shell ignored it) stop the server the way Ctrl-C does,
    # so the finally block below always stops Azurite and the stand-ins.
    signal.signal(signal.SIGTERM, _interrupt)
    signal.signal(signal.SIGINT, _interrupt)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()
        for standin in standins:
            standin.stop()
        if storage is not None:
            storage.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
