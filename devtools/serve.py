"""`make serve`: /api/CustomReport on localhost:7071 through the real main(), no Core Tools.

A thin development adapter: it turns each HTTP request into an azure.functions.HttpRequest,
calls CustomReport.main and writes its HttpResponse back. With no real settings in .env it
serves the bundled sample project and a loopback Slack stand-in, so the README's curl examples
work anywhere.
"""

from __future__ import annotations

import argparse
import os
import sys
from datetime import timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import parse_qsl, urlsplit
from zoneinfo import ZoneInfo

import azure.functions as func
from dotenv import dotenv_values

import CustomReport
from devtools.mixpanel_standin import DEMO_PROJECT_ID, DEMO_SECRET, DEMO_USERNAME, MixpanelStandIn
from devtools.sample_data import SAMPLE_TIMEZONE, sample_project
from devtools.slack_standin import SlackStandIn
from devtools.smtp_standin import SmtpStandIn
from shared.clock import utc_now

ROUTE = "/api/CustomReport"
MAX_BODY = 1024 * 1024


class Handler(BaseHTTPRequestHandler):
    """Every method goes to CustomReport.main (which answers 405 itself)."""

    def _dispatch(self) -> None:
        parts = urlsplit(self.path)
        if parts.path.rstrip("/").lower() != ROUTE.lower():
            self._send(
                404,
                b'{"error": {"code": "not_found", "message": "only '
                + ROUTE.encode()
                + b' is served", "field": null}}',
            )
            return
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(min(length, MAX_BODY + 1))
        request = func.HttpRequest(
            method=self.command,
            url=f"http://localhost{self.path}",
            headers=dict(self.headers.items()),
            params=dict(parse_qsl(parts.query, keep_blank_values=True)),
            body=body,
        )
        response = CustomReport.main(request)
        self._send(
            response.status_code,
            response.get_body(),
            response.mimetype or "application/json",
            dict(response.headers),
        )

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
        self.end_headers()
        self.wfile.write(body)

    do_GET = do_POST = do_PUT = do_DELETE = do_PATCH = _dispatch  # noqa: N815 - http.server names

    def log_message(self, format: str, *args: object) -> None:
        sys.stderr.write(f"{self.command} {urlsplit(self.path).path} -> {args[1]}\n")


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


def main(argv: list[str] | None = None) -> int:
    """Serve until Ctrl-C."""
    parser = argparse.ArgumentParser(prog="make serve", description=__doc__)
    parser.add_argument("--port", type=int, default=7071)
    parser.add_argument("--sample", action="store_true", help="force the bundled sample")
    args = parser.parse_args(argv)
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
        print(f"Emails go to a loopback SMTP server at {smtp.address}, kept in out/mail/.")
    server = ThreadingHTTPServer(("127.0.0.1", args.port), Handler)
    print(f"CustomReport: http://localhost:{args.port}{ROUTE}  (Ctrl-C to stop)", flush=True)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()
        for standin in standins:
            standin.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
