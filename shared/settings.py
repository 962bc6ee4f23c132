"""Typed settings read from a mapping (the environment); every problem is reported at once."""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import date
from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING, TypeVar
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from shared.errors import ConfigError
from shared.secret import Secret as Secret  # settings hold secrets; importers name it here
from shared.text_rules import named_format_characters

if TYPE_CHECKING:
    from shared.email_settings import EmailSettings

DEFAULT_METRICS_FILE = Path(__file__).with_name("metrics.toml")
DEFAULT_ALERTS_FILE = Path(__file__).with_name("alerts.toml")
# A Monday in the past; bi-weekly reports post on it and every 14 days from it.
DEFAULT_BIWEEKLY_ANCHOR = date(2026, 1, 5)
WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
SOURCES = ("auto", "query", "export")
# How many raw export lines a report may stream: what fits half of the report's 120 s budget
# at the end-to-end rate `make bench` measures, about 66k lines/s (README "Data sources").
DEFAULT_EXPORT_MAX_EVENTS = 4_000_000
# The settings this app reads (and each [[report]]'s SLACK_WEBHOOK_* destination), by prefix.
SETTING_PREFIXES = (
    "MIXPANEL_", "SLACK_", "SMTP_", "EMAIL_", "COMPANY_NAME", "TIMEZONE", "REPORT_", "DAILY_",
    "BIWEEKLY_", "METRICS_FILE", "ACTIVE_USER_EVENTS", "DELIVERY_", "ALERT", "TRACKING_",
    "CUSTOM_", "EXPORT_", "AzureWebJobsStorage",
)  # fmt: skip
MAX_EVENTS = 10**12  # far above any export a report could stream, and still a sane int
MAX_SECONDS = 86_400.0  # a timeout or budget longer than a day is a typo
# A failed scheduled delivery is completed by later fires for this long (docs/delivery.md):
# a 09:00 report still lands within the working day, and at most 24 more attempts are spent.
DEFAULT_CATCH_UP_HOURS = 6
MAX_CATCH_UP_HOURS = 24 * 7

T = TypeVar("T")


class Region(StrEnum):
    """Mixpanel data residency."""

    US = "us"
    EU = "eu"
    IN = "in"


# Data residency: which hosts serve a project (the UI lives on the Query API's host).
QUERY_HOSTS = {
    Region.US: "mixpanel.com",
    Region.EU: "eu.mixpanel.com",
    Region.IN: "in.mixpanel.com",
}
EXPORT_HOSTS = {
    Region.US: "data.mixpanel.com",
    Region.EU: "data-eu.mixpanel.com",
    Region.IN: "data-in.mixpanel.com",
}


class ChartsMode(StrEnum):
    """Whether messages carry Slack's native charts: auto (unless refused lately), on, off."""

    AUTO = "auto"
    ON = "on"
    OFF = "off"


@dataclass(frozen=True, slots=True)
class Settings:
    """Everything the app reads from its environment."""

    mixpanel_username: str
    mixpanel_secret: Secret
    mixpanel_project_id: str
    slack_webhook_url: Secret
    mixpanel_region: Region = Region.US
    mixpanel_api_url: str | None = None
    mixpanel_workspace_id: str | None = None  # a Data Views project's global view, every request
    company_name: str = "Analytics"
    timezone: ZoneInfo = field(default_factory=lambda: ZoneInfo("Europe/London"))
    report_hour: int = 9
    daily_report_days: frozenset[int] = frozenset(range(7))
    daily_skip_dates: frozenset[date] = frozenset()
    biweekly_anchor: date = DEFAULT_BIWEEKLY_ANCHOR
    metrics_file: Path = DEFAULT_METRICS_FILE
    active_user_events: tuple[str, ...] | None = None
    export_in_utc: bool = True
    storage_connection: Secret | None = None
    # Identity-based host storage (Azure): the account (or its table endpoint) and, for a
    # user-assigned identity, its client id; used when no connection string is given.
    storage_account: str | None = None
    storage_table_uri: str | None = None
    storage_client_id: str | None = None
    delivery_table: str = "reportdeliveries"
    mixpanel_timeout: float = 30.0
    report_budget_seconds: float = 120.0
    slack_bot_token: Secret | None = None  # with slack_channel: chat.postMessage, not the webhook
    slack_channel: str | None = None
    slack_api_url: str | None = None  # an origin standing in for https://slack.com (tests, demo)
    slack_charts: ChartsMode = ChartsMode.AUTO
    slack_charts_retry_days: int = 30
    email: EmailSettings | None = None  # SMTP_* and EMAIL_*; None when no email is configured
    alerts_file: Path = DEFAULT_ALERTS_FILE
    tracking_watch: tuple[str, ...] | None = None  # None: every event; (): off
    alert_source: str = "query"  # where AlertCheck reads hourly counts: query or export
    # An on-demand report identical to one posted less than this long ago is not posted again.
    custom_repost_seconds: int = 300
    # A scheduled delivery whose attempt failed is completed by later fires for this long.
    catch_up_hours: int = DEFAULT_CATCH_UP_HOURS
    mixpanel_source: str = "auto"
    export_max_events: int = DEFAULT_EXPORT_MAX_EVENTS
    week_start: int = 0
    insights_reports: tuple[tuple[str, str], ...] = ()
    # /analytics slash command (SlackCommand): optional here, checked when the command runs.
    slack_signing_secret: Secret | None = None
    slack_team_id: str | None = None
    slack_command_channels: frozenset[str] | None = None  # None: every channel of the team

    @classmethod
    def from_env(cls, environ: Mapping[str, str]) -> Settings:
        """Settings from `environ`; ConfigError names every missing or malformed variable."""
        settings, problems = cls.parsed(environ)
        if problems:
            raise ConfigError(problems)
        return settings

    @classmethod
    def parsed(cls, environ: Mapping[str, str]) -> tuple[Settings, list[str]]:
        """Settings from `environ`, each bad value left at its default, and every problem (the
        settings are valid only without problems; a bad config's notice uses what parsed)."""
        problems: list[str] = []
        env = {k: v.strip() for k, v in environ.items()}
        problems.extend(unresolved_references(env))
        refused: set[str] = set()
        for name in sorted(env):  # an invisible character in a name, id, address or secret
            if name.startswith(SETTING_PREFIXES) and (found := named_format_characters(env[name])):
                problems.append(f"{name} contains an invisible Unicode format character ({found})")
                refused.add(name)
                env[name] = ""  # reported once, here, not again as malformed

        def required(name: str) -> str:
            value = env.get(name, "")
            if not value and name not in refused:
                problems.append(f"{name} is required")
            return value

        def optional(name: str, parse: Callable[[str], T], default: T, rule: str) -> T:
            raw = env.get(name, "")
            if not raw:
                return default
            try:
                return parse(raw)
            # OSError: ZoneInfo('Europe') finds a tzdata folder, not a zone file.
            except (ValueError, KeyError, OSError, ZoneInfoNotFoundError):
                problems.append(f"{name} {rule}, got {_shown(name, raw)}")
                return default

        username = required("MIXPANEL_USERNAME")
        secret = required("MIXPANEL_SECRET")
        project_id = required("MIXPANEL_PROJECT_ID")
        if project_id and not _is_ascii_number(project_id):
            problems.append(
                "MIXPANEL_PROJECT_ID must be the numeric project id (not the token), "
                f"got {project_id!r}"
            )
        workspace_id = env.get("MIXPANEL_WORKSPACE_ID", "") or None
        if workspace_id is not None and not re.fullmatch(r"[0-9]+", workspace_id):
            problems.append(
                "MIXPANEL_WORKSPACE_ID must be the numeric id of the project's global data view "
                f"(ASCII digits only), got {_shown('MIXPANEL_WORKSPACE_ID', workspace_id)}"
            )
        bot_token = env.get("SLACK_BOT_TOKEN", "")
        # A bot token (with a channel) replaces the webhook; otherwise the webhook is required.
        webhook = env.get("SLACK_WEBHOOK_URL", "") if bot_token else required("SLACK_WEBHOOK_URL")
        if bot_token and not re.fullmatch(r"xox[a-z]-[A-Za-z0-9-]+", bot_token):
            problems.append("SLACK_BOT_TOKEN must be a Slack token like xoxb-... (value not shown)")
        channel = env.get("SLACK_CHANNEL", "")
        if bot_token and not channel:
            problems.append("SLACK_CHANNEL is required with SLACK_BOT_TOKEN (a channel id or name)")
        if webhook and not is_http_url(webhook):
            problems.append("SLACK_WEBHOOK_URL must be an http(s) URL (value not shown)")

        settings = cls(
            mixpanel_username=username,
            mixpanel_secret=Secret(secret),
            mixpanel_project_id=project_id,
            mixpanel_workspace_id=workspace_id,
            slack_webhook_url=Secret(webhook),
            mixpanel_region=optional(
                "MIXPANEL_REGION",
                lambda s: Region(s.lower()),
                Region.US,
                "must be one of eu, us, in",
            ),
            mixpanel_api_url=optional(
                "MIXPANEL_API_URL", _origin, None, "must be an origin like http://127.0.0.1:8123"
            ),
            company_name=env.get("COMPANY_NAME") or "Analytics",
            timezone=optional(
                "TIMEZONE",
                _zone,
                ZoneInfo("Europe/London"),
                "must be an IANA time zone name like Europe/London",
            ),
            report_hour=optional("REPORT_HOUR", _hour, 9, "must be an hour from 0 to 23"),
            daily_report_days=optional(
                "DAILY_REPORT_DAYS",
                _weekdays,
                frozenset(range(7)),
                "must list weekdays like mon-fri or mon,wed,fri",
            ),
            daily_skip_dates=optional(
                "DAILY_REPORT_SKIP_DATES",
                _dates,
                frozenset(),
                "must list dates like 2026-12-25,2026-12-26",
            ),
            biweekly_anchor=optional(
                "BIWEEKLY_ANCHOR",
                _monday,
                DEFAULT_BIWEEKLY_ANCHOR,
                "must be a Monday in YYYY-MM-DD",
            ),
            metrics_file=optional("METRICS_FILE", Path, DEFAULT_METRICS_FILE, "must be a path"),
            active_user_events=optional(
                "ACTIVE_USER_EVENTS", _names, None, "must list event names separated by commas"
            ),
            export_in_utc=optional(
                "MIXPANEL_EXPORT_TIMEZONE", _export_utc, True, "must be utc or project"
            ),
            storage_connection=(
                Secret(env["AzureWebJobsStorage"]) if env.get("AzureWebJobsStorage") else None
            ),
            storage_account=optional(
                "AzureWebJobsStorage__accountName",
                _account,
                None,
                "must be a storage account name (3-24 lowercase letters and digits)",
            ),
            storage_table_uri=optional(
                "AzureWebJobsStorage__tableServiceUri",
                _https_origin,
                None,
                "must be an https origin like https://acct.table.core.windows.net",
            ),
            storage_client_id=env.get("AzureWebJobsStorage__clientId") or None,
            delivery_table=optional(
                "DELIVERY_TABLE",
                _table_name,
                "reportdeliveries",
                "must be 3-63 letters or digits, starting with a letter",
            ),
            mixpanel_timeout=optional(
                "MIXPANEL_TIMEOUT_SECONDS", _positive, 30.0, "must be a positive number of seconds"
            ),
            report_budget_seconds=optional(
                "REPORT_BUDGET_SECONDS", _positive, 120.0, "must be a positive number of seconds"
            ),
            slack_bot_token=Secret(bot_token) if bot_token else None,
            slack_channel=channel or None,
            slack_api_url=optional(
                "SLACK_API_URL", _origin, None, "must be an origin like http://127.0.0.1:8124"
            ),
            slack_charts=optional(
                "SLACK_CHARTS",
                lambda v: ChartsMode(v.lower()),
                ChartsMode.AUTO,
                "must be one of auto, on, off",
            ),
            slack_charts_retry_days=optional(
                "SLACK_CHARTS_RETRY_DAYS", _days, 30, "must be a whole number of days from 1"
            ),
            email=email_settings(env, problems),
            alerts_file=optional("ALERTS_FILE", Path, DEFAULT_ALERTS_FILE, "must be a path"),
            tracking_watch=optional(
                "TRACKING_WATCH", _watch, None, "must be on, off or event names separated by commas"
            ),
            alert_source=optional(
                "ALERT_SOURCE", _alert_source, "query", "must be query or export"
            ),
            custom_repost_seconds=optional(
                "CUSTOM_REPOST_SECONDS",
                _seconds,
                300,
                "must be a whole number of seconds from 0 (never suppress) to 86400",
            ),
            catch_up_hours=optional(
                "CATCH_UP_HOURS",
                _catch_up_hours,
                DEFAULT_CATCH_UP_HOURS,
                f"must be a whole number of hours from 0 (off) to {MAX_CATCH_UP_HOURS}",
            ),
            mixpanel_source=optional(
                "MIXPANEL_SOURCE", _source, "auto", "must be one of auto, query, export"
            ),
            export_max_events=optional(
                "EXPORT_MAX_EVENTS",
                _count,
                DEFAULT_EXPORT_MAX_EVENTS,
                "must be a whole number of events, 1 or more",
            ),
            week_start=optional(
                "MIXPANEL_WEEK_START",
                _weekday,
                0,
                "must be the project's first weekday, like mon or sun",
            ),
            insights_reports=optional(
                "MIXPANEL_INSIGHTS_REPORTS",
                _bookmarks,
                (),
                "must list metric_key:bookmark_id pairs separated by commas",
            ),
            slack_signing_secret=(
                Secret(env["SLACK_SIGNING_SECRET"]) if env.get("SLACK_SIGNING_SECRET") else None
            ),
            slack_team_id=optional(
                "SLACK_TEAM_ID", _slack_id, None, "must be a Slack workspace id like T0123ABCD"
            ),
            slack_command_channels=optional(
                "SLACK_COMMAND_CHANNELS",
                _slack_ids,
                None,
                "must list Slack channel ids like C0123ABCD separated by commas",
            ),
        )
        return settings, problems

    @property
    def has_storage(self) -> bool:
        """Whether the app has its storage account: a connection string or its identity's."""
        return bool(self.storage_connection or self.storage_account or self.storage_table_uri)

    @property
    def query_base(self) -> str:
        """Base URL of the Query API for this project's region (or the override origin)."""
        if self.mixpanel_api_url:
            return f"{self.mixpanel_api_url}/api/query"
        return f"https://{QUERY_HOSTS[self.mixpanel_region]}/api/query"

    @property
    def export_url(self) -> str:
        """URL of the raw export endpoint for this project's region (or the override origin)."""
        if self.mixpanel_api_url:
            return f"{self.mixpanel_api_url}/api/2.0/export"
        return f"https://{EXPORT_HOSTS[self.mixpanel_region]}/api/2.0/export"

    @property
    def project_url(self) -> str:
        """Link to the project in Mixpanel's UI (for the report footer)."""
        return f"https://{QUERY_HOSTS[self.mixpanel_region]}/project/{self.mixpanel_project_id}"


_ASCII_INT = re.compile(r"[0-9]+")
_ASCII_DECIMAL = re.compile(r"([0-9]+(\.[0-9]*)?|\.[0-9]+)([eE][+-]?[0-9]+)?")


def _is_ascii_number(value: str) -> bool:
    """True for ASCII digits only: str.isdigit() and int() also accept '²' and '٣'."""
    return bool(_ASCII_INT.fullmatch(value))


def ascii_int(value: str) -> int:
    """A whole number written in ASCII digits (an optional leading minus); ValueError if not."""
    if not _ASCII_INT.fullmatch(value.removeprefix("-")):
        raise ValueError(value)
    return int(value)


def finite_float(value: str) -> float:
    """A finite number written in ASCII (no nan, inf, '²' or '٣'); ValueError if not."""
    if not _ASCII_DECIMAL.fullmatch(value.removeprefix("-")):
        raise ValueError(value)
    number = float(value)
    if not math.isfinite(number):
        raise ValueError(value)
    return number


def unresolved_references(env: Mapping[str, str]) -> list[str]:
    """Settings still holding `@Microsoft.KeyVault(...)`: Azure passes the reference itself
    when it cannot resolve it (secret missing, or the identity lacks Key Vault Secrets User)."""
    return [
        f"{name} is a Key Vault reference Azure could not resolve: put the secret in the vault "
        "and check the app identity's Key Vault Secrets User role (docs/deploy.md)"
        for name, value in sorted(env.items())
        if value.startswith("@Microsoft.KeyVault(")
    ]


def _shown(name: str, raw: str) -> str:
    if name in {"AzureWebJobsStorage", "SMTP_PASSWORD", "SLACK_BOT_TOKEN"}:
        return "(value not shown)"
    return repr(raw[:80])


def is_http_url(value: str) -> bool:
    """Whether `value` is an absolute http(s) URL with a host (a webhook or a link)."""
    parts = urlsplit(value)
    return parts.scheme in {"http", "https"} and bool(parts.netloc)


def _origin(value: str) -> str:
    parts = urlsplit(value)
    if parts.scheme not in {"http", "https"} or not parts.netloc or parts.path not in {"", "/"}:
        raise ValueError(value)
    if parts.query or parts.fragment:
        raise ValueError(value)
    return f"{parts.scheme}://{parts.netloc}"


def _account(value: str) -> str:
    if not re.fullmatch(r"[a-z0-9]{3,24}", value):
        raise ValueError(value)
    return value


def _https_origin(value: str) -> str:
    origin = _origin(value.rstrip("/"))
    if not origin.startswith("https://"):
        raise ValueError(value)
    return origin


def _zone(value: str) -> ZoneInfo:
    if not re.fullmatch(r"[A-Za-z0-9_+\-]+(/[A-Za-z0-9_+\-]+)*", value):
        raise ValueError(value)
    return ZoneInfo(value)


def _hour(value: str) -> int:
    hour = ascii_int(value)
    if not 0 <= hour <= 23:
        raise ValueError(value)
    return hour


def _positive(value: str) -> float:
    number = finite_float(value)
    if not 0 < number <= MAX_SECONDS:
        raise ValueError(value)
    return number


def _weekdays(value: str) -> frozenset[int]:
    days: set[int] = set()
    for part in value.lower().replace(" ", "").split(","):
        if "-" in part:
            first, last = (WEEKDAYS.index(p) for p in part.split("-", 1))
            if first > last:
                raise ValueError(value)
            days.update(range(first, last + 1))
        else:
            days.add(WEEKDAYS.index(part))
    return frozenset(days)


def _dates(value: str) -> frozenset[date]:
    return frozenset(date.fromisoformat(p.strip()) for p in value.split(",") if p.strip())


def _monday(value: str) -> date:
    day = date.fromisoformat(value)
    if day.weekday() != 0:
        raise ValueError(value)
    return day


def _names(value: str) -> tuple[str, ...]:
    names = tuple(dict.fromkeys(n.strip() for n in value.split(",") if n.strip()))
    if not names:
        raise ValueError(value)
    return names


def _export_utc(value: str) -> bool:
    lowered = value.lower()
    if lowered not in {"utc", "project"}:
        raise ValueError(value)
    return lowered == "utc"


def _days(value: str) -> int:
    days = ascii_int(value)
    if not 1 <= days <= 3650:
        raise ValueError(value)
    return days


def _table_name(value: str) -> str:
    if not re.fullmatch(r"[A-Za-z][A-Za-z0-9]{2,62}", value):
        raise ValueError(value)
    return value


def email_settings(env: Mapping[str, str], problems: list[str]) -> EmailSettings | None:
    """The SMTP_* and EMAIL_* settings (shared/email_settings.py), problems appended."""
    from shared.email_settings import parse_email_settings

    return parse_email_settings(env, problems)


def _watch(value: str) -> tuple[str, ...] | None:
    lowered = value.lower()
    if lowered in {"on", "all"}:
        return None
    if lowered == "off":
        return ()
    return _names(value)


def _alert_source(value: str) -> str:
    lowered = value.lower()
    if lowered not in {"query", "export"}:
        raise ValueError(value)
    return lowered


def _source(value: str) -> str:
    lowered = value.lower()
    if lowered not in SOURCES:
        raise ValueError(value)
    return lowered


def _seconds(value: str) -> int:
    seconds = ascii_int(value)
    if not 0 <= seconds <= 86400:
        raise ValueError(value)
    return seconds


def _catch_up_hours(value: str) -> int:
    hours = ascii_int(value)
    if not 0 <= hours <= MAX_CATCH_UP_HOURS:
        raise ValueError(value)
    return hours


def _count(value: str) -> int:
    number = ascii_int(value.replace("_", "") if "__" not in value else value)
    if not 1 <= number <= MAX_EVENTS:
        raise ValueError(value)
    return number


def _bookmarks(value: str) -> tuple[tuple[str, str], ...]:
    pairs = []
    for part in value.split(","):
        key, sep, bookmark = part.strip().partition(":")
        if not sep or not key.strip() or not _is_ascii_number(bookmark.strip()):
            raise ValueError(value)
        pairs.append((key.strip(), bookmark.strip()))
    return tuple(pairs)


def _weekday(value: str) -> int:
    lowered = value.lower()
    names = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")
    if lowered in names:
        return names.index(lowered)
    return WEEKDAYS.index(lowered)


def _slack_id(value: str) -> str:
    """A Slack id (workspace T..., channel C.../G.../D...): upper-case letters and digits."""
    if not re.fullmatch(r"[A-Z][A-Z0-9]{2,31}", value):
        raise ValueError(value)
    return value


def _slack_ids(value: str) -> frozenset[str]:
    ids = frozenset(_slack_id(p.strip()) for p in value.split(",") if p.strip())
    if not ids:
        raise ValueError(value)
    return ids
