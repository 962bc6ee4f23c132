"""[[report]] tables: several reports per deployment, each to the audience that needs it; pure."""

from __future__ import annotations

import difflib
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from email.headerregistry import Address

from shared.addresses import parse_recipient_list
from shared.errors import ConfigError
from shared.schedule.periods import PeriodKind
from shared.settings import (
    SETTING_PREFIXES,
    WEEKDAYS,
    Secret,
    is_http_url,
)
from shared.text_rules import named_format_characters

CADENCES = {
    "daily": PeriodKind.DAILY,
    "weekly": PeriodKind.WEEKLY,
    "biweekly": PeriodKind.BIWEEKLY,
    "monthly": PeriodKind.MONTHLY,
}
_NAME = re.compile(r"[a-z0-9][a-z0-9_-]{0,39}")
_SETTING = re.compile(r"[A-Za-z_][A-Za-z0-9_]{0,127}")
_FIELDS = {
    "name", "title", "cadence", "metrics", "destination", "quiet_days", "holidays", "email_to",
}  # fmt: skip
# The global settings a report's email_to needs (the rest of SMTP_* have defaults or are optional).
SMTP_REQUIRED = ("SMTP_HOST", "SMTP_SENDER")


@dataclass(frozen=True, slots=True)
class ReportSpec:
    """One report: its name, cadence, metrics (keys) and where it goes.

    A report has a Slack destination (the setting holding its webhook URL), email recipients,
    or both; the SMTP server is the deployment's (SMTP_* settings).
    """

    name: str
    cadence: PeriodKind
    metrics: tuple[str, ...]
    destination: str | None  # the NAME of a setting (environment variable), never the URL
    title: str = ""
    quiet_days: frozenset[int] = frozenset()
    holidays: frozenset[date] = frozenset()
    email_to: tuple[Address, ...] = ()  # addresses are not secrets: they live in the file


def _close(name: str, known: Sequence[str]) -> str:
    close = difflib.get_close_matches(name, list(known), n=3, cutoff=0.6)
    return f" (did you mean {', '.join(repr(c) for c in close)}?)" if close else ""


def parse_reports(
    raw: object, metric_keys: Sequence[str], source: str, problems: list[str]
) -> tuple[ReportSpec, ...]:
    """The [[report]] tables (none is fine); each problem names the file and the report."""
    if raw == []:
        return ()
    if not isinstance(raw, list):
        problems.append(f"{source}: [[report]] must be a list of tables")
        return ()
    reports: list[ReportSpec] = []
    names: set[str] = set()
    for index, entry in enumerate(raw, start=1):
        where = f"{source}: report {index}"
        if not isinstance(entry, dict):
            problems.append(f"{where} must be a table")
            continue
        before = len(problems)
        name = entry.get("name")
        if not isinstance(name, str) or not _NAME.fullmatch(name):
            problems.append(
                f"{where} needs a name of 1 to 40 lower-case letters, digits, - or _ "
                f"(it is used in CustomReport's report= and the delivery record), got {name!r}"
            )
        elif name in names:
            problems.append(f"{where} repeats name {name!r}")
        else:
            names.add(name)
            where = f"{source}: report {name!r}"
        unknown = set(entry) - _FIELDS
        if unknown:
            problems.append(f"{where} has unknown fields {sorted(unknown)}")
        cadence = entry.get("cadence")
        if not isinstance(cadence, str) or cadence not in CADENCES:
            problems.append(
                f"{where} cadence must be one of {', '.join(CADENCES)}, got {cadence!r}"
            )
        title = entry.get("title", "")
        if not isinstance(title, str):
            problems.append(f"{where} title must be text")
        elif found := named_format_characters(title):
            problems.append(
                f"{where} title contains an invisible Unicode format character ({found})"
            )
        metrics = entry.get("metrics")
        if (
            not isinstance(metrics, list)
            or not metrics
            or not all(isinstance(m, str) for m in metrics)
        ):
            problems.append(f"{where} metrics must be a non-empty list of metric keys")
            metrics = []
        for key in metrics:
            if key not in metric_keys:
                problems.append(f"{where}: metric {key!r} is not defined{_close(key, metric_keys)}")
        if len(set(metrics)) != len(metrics):
            problems.append(f"{where} metrics lists a metric twice")
        destination = entry.get("destination")
        email_to = _email_to(entry.get("email_to"), where, problems)
        if destination is None and "email_to" not in entry:
            problems.append(
                f"{where} needs a destination (the setting holding its Slack webhook URL), "
                "email_to (a list of recipients), or both"
            )
        elif destination is None:
            pass  # email only
        elif isinstance(destination, str) and ("://" in destination or "/" in destination):
            problems.append(
                f"{where} destination must name the setting that holds the webhook URL "
                '(e.g. "SLACK_WEBHOOK_GROWTH"), never the URL itself (value not shown)'
            )
        elif not isinstance(destination, str) or not _SETTING.fullmatch(destination):
            problems.append(
                f"{where} destination must name the setting that holds the webhook URL, "
                'e.g. "SLACK_WEBHOOK_GROWTH"'
            )
        quiet = _weekdays(entry.get("quiet_days", []), where, problems)
        holidays = _holidays(entry.get("holidays", []), where, problems)
        if (
            (quiet or holidays)
            and isinstance(cadence, str)
            and cadence in CADENCES
            and cadence != "daily"
        ):
            problems.append(
                f"{where}: quiet_days and holidays apply to daily reports only "
                "(a skipped weekly or monthly post would leave its whole window unreported)"
            )
        if len(quiet) == 7:
            problems.append(f"{where}: quiet_days cannot be every day of the week")
        if len(problems) == before:
            reports.append(
                ReportSpec(
                    name=str(name),
                    cadence=CADENCES[str(cadence)],
                    metrics=tuple(metrics),
                    destination=None if destination is None else str(destination),
                    title=str(title).strip(),
                    quiet_days=quiet,
                    holidays=holidays,
                    email_to=email_to,
                )
            )
    return tuple(reports)


def _email_to(raw: object, where: str, problems: list[str]) -> tuple[Address, ...]:
    """The report's recipients, by the rules of EMAIL_TO (shared/addresses.py)."""
    if raw is None:
        return ()
    if not isinstance(raw, list) or not all(isinstance(a, str) for a in raw):
        problems.append(
            f'{where} email_to must be a list of addresses like ["Ana <ana@example.com>"]'
        )
        return ()
    return parse_recipient_list(raw, f"{where} email_to", problems)


def _weekdays(raw: object, where: str, problems: list[str]) -> frozenset[int]:
    if not isinstance(raw, list) or not all(
        isinstance(d, str) and d.strip().lower()[:3] in WEEKDAYS for d in raw
    ):
        problems.append(f'{where} quiet_days must list weekdays like ["sat", "sun"]')
        return frozenset()
    return frozenset(WEEKDAYS.index(d.strip().lower()[:3]) for d in raw)


def _holidays(raw: object, where: str, problems: list[str]) -> frozenset[date]:
    days: set[date] = set()
    if not isinstance(raw, list):
        problems.append(f"{where} holidays must list dates like [2026-12-25]")
        return frozenset()
    for item in raw:
        if isinstance(item, date):
            days.add(item)
            continue
        try:
            days.add(date.fromisoformat(str(item)))
        except ValueError:
            problems.append(f"{where} holidays: {item!r} is not a date like 2026-12-25")
    return frozenset(days)


def resolve_destinations(
    reports: Sequence[ReportSpec], environ: Mapping[str, str], *, source: str
) -> dict[str, Secret]:
    """Each report's webhook URL from the setting it names; ConfigError lists every problem.

    A report with email_to also needs the deployment's SMTP settings (SMTP_HOST, SMTP_SENDER).
    """
    problems: list[str] = []
    found: dict[str, Secret] = {}
    for report in reports:
        if report.email_to:
            missing = [n for n in SMTP_REQUIRED if not environ.get(n, "").strip()]
            if missing:
                problems.append(
                    f"{source}: report {report.name!r}: email_to needs the SMTP settings "
                    f"{' and '.join(missing)}, which are not set"
                )
        if report.destination is None:
            continue
        value = environ.get(report.destination, "").strip()
        where = f"{source}: report {report.name!r}: destination setting {report.destination}"
        hidden = named_format_characters(value)
        if not value:
            problems.append(f"{where} is not set")
        elif hidden:  # a setting of the app's own prefixes is named by Settings.from_env already
            if not report.destination.startswith(SETTING_PREFIXES):
                problems.append(
                    f"{where} contains an invisible Unicode format character ({hidden})"
                )
        elif not is_http_url(value):
            problems.append(f"{where} must hold an http(s) URL (value not shown)")
        else:
            found[report.name] = Secret(value)
    if problems:
        raise ConfigError(problems)
    return found
