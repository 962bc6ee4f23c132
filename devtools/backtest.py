"""`make backtest`: dry_run the alerts over the last 30 days and say when they would have fired.

Against the bundled sample project by default (which has a `Receipt Uploaded` outage on
15 Jul 2026), or the real project in .env. Nothing is posted: the live check's own logic runs
against an in-memory ledger, hour by hour.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from collections.abc import Mapping
from datetime import UTC, date, datetime, timedelta
from datetime import time as clock_time
from pathlib import Path
from zoneinfo import ZoneInfo

from dotenv import dotenv_values

from devtools.demo import real_settings
from devtools.mixpanel_standin import (
    DEMO_PROJECT_ID,
    DEMO_SECRET,
    DEMO_USERNAME,
    MixpanelStandIn,
)
from devtools.sample_data import OUTAGE_DAY, SAMPLE_TIMEZONE, sample_project
from shared.alerts.check import backtest
from shared.alerts.rules import load_alerts
from shared.clock import utc_now
from shared.delivery.breach import Outcome
from shared.errors import ReporterError, UnknownEventsError
from shared.report.metrics import load_metrics
from shared.root import USER_AGENT, App, alert_context, context
from shared.settings import DEFAULT_ALERTS_FILE, DEFAULT_METRICS_FILE, Settings

DUMMY_WEBHOOK = "http://127.0.0.1:9/backtest-posts-nothing"


def _backtest_app(environ: Mapping[str, str]) -> App:
    """The app for a backtest: the Mixpanel settings and the metrics and alerts files only.

    Nothing is posted, so Slack, SMTP and each [[report]]'s destination are neither needed nor
    read (a backtest on a laptop must not ask for the production webhook).
    """
    import requests

    unused = ("SLACK_", "SMTP_", "EMAIL_")
    kept = {k: v for k, v in environ.items() if not k.startswith(unused)}
    settings = Settings.from_env({**kept, "SLACK_WEBHOOK_URL": DUMMY_WEBHOOK})
    config = load_metrics(settings.metrics_file)
    session = requests.Session()
    session.headers["User-Agent"] = USER_AGENT
    return App(settings, context(settings, config), session)


def _rule_keys(names: list[str] | None, environ: Mapping[str, str]) -> frozenset[str] | None:
    """The ledger keys of the chosen rules; UnknownRule for a name the alerts file lacks."""
    if not names:
        return None
    metrics = load_metrics(Path(environ.get("METRICS_FILE") or DEFAULT_METRICS_FILE))
    alerts = load_alerts(Path(environ.get("ALERTS_FILE") or DEFAULT_ALERTS_FILE), metrics)
    known = {r.name for r in alerts.rules}
    unknown = sorted({n for n in names if not n.startswith("watch:")} - known)
    if unknown:
        raise UnknownRuleError(f"unknown rule {unknown}; known: {sorted(known)}")
    return frozenset(n if n.startswith("watch:") else f"rule:{n}" for n in names)


class UnknownRuleError(ReporterError):
    """--rule names no rule of the alerts file."""


def main(argv: list[str] | None = None) -> int:
    """Print every post the hourly check would have made; 0 on success, 2 on a bad rule name."""
    parser = argparse.ArgumentParser(prog="make backtest", description=__doc__)
    parser.add_argument(
        "--rule",
        action="append",
        help='a rule name from the alerts file, or "watch:<event>" (repeatable; default: all)',
    )
    parser.add_argument("--days", type=int, default=30, help="days to replay (default 30)")
    parser.add_argument("--alerts-file", help="an alerts TOML file instead of the default")
    parser.add_argument(
        "--sample", action="store_true", help="use the bundled sample even with a real .env"
    )
    parser.add_argument(
        "--end",
        type=date.fromisoformat,
        default=OUTAGE_DAY + timedelta(days=2),
        help="sample project: replay up to the start of this local date (default: shows the "
        f"outage of {OUTAGE_DAY})",
    )
    args = parser.parse_args(argv)
    if not 1 <= args.days <= 366:
        parser.error("--days must be 1 to 366")

    file_env = {k: v for k, v in dotenv_values(".env").items() if v is not None}
    environ: dict[str, str] = {**os.environ, **file_env}
    try:
        live = not args.sample and real_settings(environ)
    except ReporterError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    if args.alerts_file:
        environ["ALERTS_FILE"] = args.alerts_file
    standin: MixpanelStandIn | None = None
    started = time.perf_counter()
    try:
        rules = _rule_keys(args.rule, environ)
        if live:
            now = utc_now()
            print("Backtesting against the real Mixpanel project from .env")
        else:
            tz = ZoneInfo(SAMPLE_TIMEZONE)
            now = datetime.combine(args.end, clock_time(), tz).astimezone(UTC)
            span = args.days + 7 * 8 + 3
            print(f"Building the bundled sample project ({span} days up to {args.end})...")
            standin = MixpanelStandIn(
                sample_project(end=args.end, days=span),
                username=DEMO_USERNAME,
                secret=DEMO_SECRET,
                project_id=DEMO_PROJECT_ID,
                timezone=SAMPLE_TIMEZONE,
                today=args.end,
            )
            environ.update(
                {
                    "MIXPANEL_USERNAME": DEMO_USERNAME,
                    "MIXPANEL_SECRET": DEMO_SECRET,
                    "MIXPANEL_PROJECT_ID": DEMO_PROJECT_ID,
                    "MIXPANEL_API_URL": standin.start(),
                    "TIMEZONE": SAMPLE_TIMEZONE,
                }
            )
        app = _backtest_app(environ)
        ctx = alert_context(app)
        mixpanel = app.mixpanel()
        found = backtest(ctx, mixpanel, now=now, days=args.days, rules=rules)
        tz = app.settings.timezone
        for post in found:
            kind = "ALERT   " if post.outcome is Outcome.OPENED else "RESOLVED"
            print(f"{post.at.astimezone(tz):%a %d %b %Y %H:%M}  {kind}  {post.text}")
        alerts = sum(p.outcome is Outcome.OPENED for p in found)
        print(
            f"\n{alerts} alert(s) and {len(found) - alerts} resolved post(s) over the last "
            f"{args.days} days; Mixpanel requests: {mixpanel.requests_made}; "
            f"{time.perf_counter() - started:.1f} s"
        )
        return 0
    except UnknownRuleError as exc:
        print(f"error: {exc}")
        return 2
    except UnknownEventsError as exc:  # a watch:<event> rule, or TRACKING_WATCH
        print(f"error: {exc}", file=sys.stderr)
        return 2 if exc.where.startswith("rule") else 1
    except ReporterError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    finally:
        if standin is not None:
            standin.stop()


if __name__ == "__main__":
    sys.exit(main())
