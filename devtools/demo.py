"""`make demo`: the real pipeline against the bundled sample project (or .env's), previewed."""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from collections.abc import Mapping
from datetime import timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

from dotenv import dotenv_values

from devtools.email_demo import SAMPLE_SENDER, email_demo
from devtools.mixpanel_standin import (
    DEMO_PROJECT_ID,
    DEMO_SECRET,
    DEMO_USERNAME,
    MixpanelStandIn,
)
from devtools.sample_data import SAMPLE_TIMEZONE, sample_project
from devtools.slack_standin import SlackStandIn
from devtools.smtp_standin import SmtpStandIn
from shared.clock import utc_now
from shared.errors import ConfigError, ReporterError
from shared.pipeline import ReportContext, produce_report
from shared.render.html_preview import render_html
from shared.render.report_json import report_to_json
from shared.render.slack import render_message
from shared.render.text import render_text
from shared.report.metrics import load_metrics
from shared.report.reports import ReportSpec
from shared.root import App
from shared.schedule.periods import PeriodKind, report_period
from shared.settings import Settings

OUT = Path("out")
SAMPLE_REPORTS = Path(__file__).with_name("sample_reports.toml")


# The settings that make .env a real project: all of them, or none (the bundled sample).
REAL_SETTINGS = ("MIXPANEL_USERNAME", "MIXPANEL_SECRET", "MIXPANEL_PROJECT_ID")
# Stand-ins for the required settings the sample supplies, to check the user's own ones.
SAMPLE_PLACEHOLDERS = {
    "MIXPANEL_USERNAME": DEMO_USERNAME,
    "MIXPANEL_SECRET": DEMO_SECRET,
    "MIXPANEL_PROJECT_ID": DEMO_PROJECT_ID,
    "SLACK_WEBHOOK_URL": "http://127.0.0.1:9/sample",
}


def real_settings(environ: Mapping[str, str]) -> bool:
    """True when every real Mixpanel setting is set, False when none is.

    Some but not all is a ConfigError naming the missing ones: running the bundled sample
    under the user's company name instead would look like their numbers.
    """
    given = [n for n in REAL_SETTINGS if environ.get(n, "").strip()]
    if not given:
        return False
    missing = [n for n in REAL_SETTINGS if n not in given]
    if missing:
        raise ConfigError(
            [
                f"the real Mixpanel settings are incomplete: {', '.join(given)} set but "
                f"{', '.join(missing)} missing (in .env or the environment); set "
                f"{'it' if len(missing) == 1 else 'them'}, or run the bundled sample with "
                "ARGS=--sample"
            ]
        )
    return True


def _check_own_settings(environ: Mapping[str, str]) -> None:
    """The user's settings the sample run keeps (a time zone, a company name...): any problem
    is a ConfigError, as the real run would report it, never silently replaced."""
    Settings.from_env(
        {
            **environ,
            **{k: v for k, v in SAMPLE_PLACEHOLDERS.items() if not environ.get(k, "").strip()},
        }
    )


def main(argv: list[str] | None = None) -> int:
    """Run one report end to end and show the Slack message; 0 on success."""
    parser = argparse.ArgumentParser(prog="make demo", description=__doc__)
    parser.add_argument(
        "--period",
        choices=[k.value for k in PeriodKind if k != "custom"],
        help="the single report's period (default weekly); each [[report]] has its own cadence",
    )
    parser.add_argument("--metrics-file", help="a metrics TOML file instead of the default")
    parser.add_argument(
        "--reports",
        action="store_true",
        help=f"use {SAMPLE_REPORTS}: every metric kind, several reports (each on its cadence)",
    )
    parser.add_argument("--report", help="with [[report]]s in the file: run only this one")
    parser.add_argument(
        "--sample",
        action="store_true",
        help="use the bundled sample even when .env holds real settings",
    )
    parser.add_argument(
        "--post",
        action="store_true",
        help="with real settings in .env: post the message to the real webhook",
    )
    parser.add_argument("--days", type=int, default=120, help="sample project: days of data")
    parser.add_argument("--users", type=int, default=4000, help="sample project: users")
    parser.add_argument(
        "--slash", metavar="WORDS", help='send a signed /analytics command, e.g. --slash "weekly"'
    )
    args = parser.parse_args(argv)
    if args.period and args.reports:
        parser.error(
            "--period does not apply with --reports: each [[report]] runs on its own cadence "
            "(add --report NAME to run one of them)"
        )

    file_env = {k: v for k, v in dotenv_values(".env").items() if v is not None}
    environ: dict[str, str] = {**os.environ, **file_env}
    try:
        live = not args.sample and real_settings(environ)
        if not live:
            _check_own_settings(environ)
    except ConfigError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    if args.post and not live:
        parser.error(
            "--post posts to the real Slack webhook in .env, and there are no real Mixpanel "
            "settings there (or --sample was given): the sample's message already goes to a "
            "loopback Slack stand-in"
        )
    if args.metrics_file or args.reports:
        environ["METRICS_FILE"] = args.metrics_file or str(SAMPLE_REPORTS)
    now = utc_now()
    started = time.perf_counter()
    standin: MixpanelStandIn | None = None
    slack_standin = SlackStandIn()  # started only for the sample
    smtp_standin = SmtpStandIn()  # started only for a sample [[report]] with email_to
    try:
        if not live:
            yesterday = now.astimezone(ZoneInfo(SAMPLE_TIMEZONE)).date() - timedelta(days=1)
            print(
                f"Building the bundled sample Mixpanel project ({args.days} days, "
                f"{args.users:,} users)..."
            )
            standin = MixpanelStandIn(
                sample_project(end=yesterday, days=args.days, users=args.users),
                username=DEMO_USERNAME,
                secret=DEMO_SECRET,
                project_id=DEMO_PROJECT_ID,
                timezone=SAMPLE_TIMEZONE,
            )
            origin = standin.start()
            environ.update(
                {
                    "MIXPANEL_USERNAME": DEMO_USERNAME,
                    "MIXPANEL_SECRET": DEMO_SECRET,
                    "MIXPANEL_PROJECT_ID": DEMO_PROJECT_ID,
                    "MIXPANEL_API_URL": origin,
                    "TIMEZONE": SAMPLE_TIMEZONE,
                    "SLACK_WEBHOOK_URL": slack_standin.start(),
                    # Sample numbers never pass for the user's own: the name says so.
                    "COMPANY_NAME": f"{environ.get('COMPANY_NAME') or 'Reewild'} (sample)",
                }
            )
            print(f"Sample Mixpanel project served at {origin}")
            # Each [[report]]'s destination setting points at the same loopback stand-in.
            specs = _reports(environ.get("METRICS_FILE"))
            for setting in {r.destination for r in specs if r.destination}:
                environ[setting] = environ["SLACK_WEBHOOK_URL"]
            if any(r.email_to for r in specs):  # and their email_to at a loopback SMTP server
                smtp_standin.start()
                environ.update(
                    {
                        "SMTP_HOST": smtp_standin.host,
                        "SMTP_PORT": str(smtp_standin.port),
                        "SMTP_SECURITY": "none",
                        "SMTP_SENDER": SAMPLE_SENDER,
                    }
                )
        else:
            print("Using the real Mixpanel project from .env")
        if args.slash is not None:  # devtools/slash_demo.py: both functions, one command
            from devtools.slash_demo import slash_demo

            print("\n".join(slash_demo(environ, args.slash, out=OUT)))
            return 0
        app = App.from_environ(environ)
        today = now.astimezone(app.settings.timezone).date()
        runs = _runs(app, args.report, args.period and PeriodKind(args.period))
        failed = 0
        for name, ctx, kind in runs:
            try:
                period = report_period(kind, today)
                mixpanel = app.mixpanel()
                report = produce_report(period, ctx, mixpanel=mixpanel, now=now)
                message = render_message(report)
                elapsed = time.perf_counter() - started
                print()
                print(render_text(report))
                print()
                OUT.mkdir(exist_ok=True)
                stem = name or str(period.kind)
                path = OUT / f"slack-message-{stem}.json"
                path.write_text(
                    json.dumps(message.payload(), indent=2, ensure_ascii=False, allow_nan=False)
                    + "\n",
                    encoding="utf-8",
                )
                print(f"Block Kit JSON (what would be posted): {path}")
                suffix = f"-{name}" if name else ""
                (OUT / f"report{suffix}.json").write_text(
                    json.dumps(
                        report_to_json(report), indent=2, ensure_ascii=False, allow_nan=False
                    )
                    + "\n",
                    encoding="utf-8",
                )
                preview = OUT / f"preview{suffix}.html"
                preview.write_text(render_html(message), encoding="utf-8")
                print(f"The message as Slack shows it, charts included (opens offline): {preview}")
                print(f"Mixpanel requests: {mixpanel.requests_made}; total time {elapsed:.2f} s")
                spec = next((r for r in app.ctx.config.reports if r.name == name), None)
                if spec is not None and spec.destination is None:
                    print("No Slack destination: this report is emailed only.")
                elif not live:
                    app.slack(name).post(message)
                    print(
                        "A strict Slack stand-in on the loopback accepted the message "
                        f"({len(message.blocks)} blocks)."
                    )
                elif args.post:
                    app.slack(name).post(message)
                    print("Posted to the Slack webhook in .env.")
                else:
                    print("Not posted (add ARGS=--post to post it to the webhook in .env).")
                if name is None:  # the single-report deployment's email (EMAIL_TO)
                    for line in email_demo(report, app.settings.email, out=OUT, post=args.post):
                        print(line)
                elif spec is not None and spec.email_to:  # a [[report]]'s own email_to
                    lines = email_demo(
                        report,
                        app.settings.email,
                        out=OUT,
                        post=args.post or not live,
                        stem=f"email-{name}",
                        recipients=spec.email_to,
                    )
                    print("\n".join(lines))
            except ReporterError as exc:
                if len(runs) == 1:
                    raise
                # One report's problem (seen only once gathered) never stops the others.
                print(f"error: report {name!r} failed: {exc}", file=sys.stderr)
                failed += 1
        return 1 if failed else 0
    except ReporterError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    finally:
        if standin is not None:
            standin.stop()
        slack_standin.stop()
        smtp_standin.stop()


def _reports(metrics_file: str | None) -> tuple[ReportSpec, ...]:
    """The file's [[report]]s (none when it has none), to point their destinations at stand-ins."""
    if not metrics_file:
        return ()
    try:
        return load_metrics(Path(metrics_file)).reports
    except ReporterError:
        return ()  # App.from_environ reports the file's problems


def _runs(
    app: App, only: str | None, kind: PeriodKind | None
) -> list[tuple[str | None, ReportContext, PeriodKind]]:
    """What to run: the single report (period from --period), or each [[report]] on its cadence."""
    reports = app.ctx.config.reports
    if not reports:
        if only:
            raise ConfigError([f"--report {only}: the metrics file defines no [[report]]s"])
        return [(None, app.ctx, kind or PeriodKind.WEEKLY)]
    if kind is not None:
        raise ConfigError(
            [
                f"--period {kind}: the metrics file's [[report]]s each run on their own cadence "
                "(drop --period; add --report NAME to run one of them)"
            ]
        )
    names = [r.name for r in reports]
    if only and only not in names:
        raise ConfigError([f"--report {only!r} is not defined; configured: {', '.join(names)}"])
    return [(r.name, app.report_context(r), r.cadence) for r in reports if only in (None, r.name)]


if __name__ == "__main__":
    sys.exit(main())
