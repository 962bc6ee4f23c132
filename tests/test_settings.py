"""Settings are a pure function of a mapping; every problem is reported at once, no secret shown."""

from __future__ import annotations

from datetime import date
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from shared.errors import ConfigError
from shared.settings import DEFAULT_METRICS_FILE, Region, Secret, Settings

MIXPANEL_SECRET = "SECRET-abc123"
WEBHOOK = "https://hooks.slack.com/services/TSECRET/BSECRET/secretsecret"
STORAGE = "DefaultEndpointsProtocol=https;AccountName=acct;AccountKey=STORAGEKEY-zyx987;"
# Pieces of each credential that must never show up, whole or in part.
SECRET_PIECES = (
    MIXPANEL_SECRET,
    "abc123",
    WEBHOOK,
    "TSECRET",
    "BSECRET",
    "secretsecret",
    "hooks.slack.com/services",
    "STORAGEKEY",
    "zyx987",
)

VALID = {
    "MIXPANEL_USERNAME": "reporter.1a2b3c.mp-service-account",
    "MIXPANEL_SECRET": MIXPANEL_SECRET,
    "MIXPANEL_PROJECT_ID": "3141592",
    "SLACK_WEBHOOK_URL": WEBHOOK,
}
REQUIRED = ("MIXPANEL_USERNAME", "MIXPANEL_SECRET", "MIXPANEL_PROJECT_ID", "SLACK_WEBHOOK_URL")


def _settings(**overrides: str) -> Settings:
    return Settings.from_env({**VALID, **overrides})


def _problems(environ: dict[str, str]) -> list[str]:
    with pytest.raises(ConfigError) as caught:
        Settings.from_env(environ)
    return caught.value.problems


def _problems_with(**overrides: str) -> list[str]:
    return _problems({**VALID, **overrides})


def _assert_no_secret(text: str) -> None:
    for piece in SECRET_PIECES:
        assert piece not in text, piece


# --------------------------------------------------------------------------- defaults


def test_the_four_required_variables_are_enough_and_everything_else_has_a_default() -> None:
    """With only the required variables set, every optional setting takes its documented default."""
    settings = Settings.from_env(VALID)
    assert settings.mixpanel_username == "reporter.1a2b3c.mp-service-account"
    assert settings.mixpanel_secret.reveal() == MIXPANEL_SECRET
    assert settings.mixpanel_project_id == "3141592"
    assert settings.slack_webhook_url.reveal() == WEBHOOK
    assert settings.mixpanel_region is Region.US
    assert settings.mixpanel_api_url is None
    assert settings.company_name == "Analytics"
    assert settings.timezone == ZoneInfo("Europe/London")
    assert settings.report_hour == 9
    assert settings.daily_report_days == frozenset(range(7))
    assert settings.daily_skip_dates == frozenset()
    assert settings.biweekly_anchor == date(2026, 1, 5)
    assert settings.metrics_file == DEFAULT_METRICS_FILE
    assert settings.active_user_events is None
    assert settings.export_in_utc is True
    assert settings.storage_connection is None
    assert settings.delivery_table == "reportdeliveries"
    assert settings.mixpanel_timeout == 30.0
    assert settings.report_budget_seconds == 120.0


def test_empty_optional_variables_mean_their_defaults() -> None:
    """An optional variable set to '' or spaces is the same as unset."""
    optional = (
        "MIXPANEL_REGION",
        "MIXPANEL_API_URL",
        "TIMEZONE",
        "REPORT_HOUR",
        "DAILY_REPORT_DAYS",
        "DAILY_REPORT_SKIP_DATES",
        "BIWEEKLY_ANCHOR",
        "COMPANY_NAME",
    )
    blank = dict.fromkeys(optional, "  ")
    assert Settings.from_env({**VALID, **blank}) == Settings.from_env(VALID)


def test_values_are_stripped_of_surrounding_whitespace() -> None:
    """Spaces around a value (a common copy-paste slip) are ignored."""
    settings = Settings.from_env(
        {name: f"  {value}\n" for name, value in VALID.items()} | {"COMPANY_NAME": " Acme "}
    )
    assert settings.mixpanel_project_id == "3141592"
    assert settings.mixpanel_secret.reveal() == MIXPANEL_SECRET
    assert settings.slack_webhook_url.reveal() == WEBHOOK
    assert settings.company_name == "Acme"


# -------------------------------------------------------------------- missing, at once


def test_every_missing_required_variable_is_reported_in_one_error() -> None:
    """An empty environment names all four required variables, in one ConfigError."""
    with pytest.raises(ConfigError) as caught:
        Settings.from_env({})
    assert caught.value.problems == [
        "MIXPANEL_USERNAME is required",
        "MIXPANEL_SECRET is required",
        "MIXPANEL_PROJECT_ID is required",
        "SLACK_WEBHOOK_URL is required",
    ]
    assert str(caught.value) == (
        "invalid settings (4 problems):\n"
        "  - MIXPANEL_USERNAME is required\n"
        "  - MIXPANEL_SECRET is required\n"
        "  - MIXPANEL_PROJECT_ID is required\n"
        "  - SLACK_WEBHOOK_URL is required"
    )


def test_a_single_problem_reads_on_one_line() -> None:
    """One problem is the whole message, on the line it starts."""
    assert str(ConfigError(["TIMEZONE is wrong"])) == "invalid settings: TIMEZONE is wrong"


@pytest.mark.parametrize("missing", REQUIRED, ids=[n.lower() for n in REQUIRED])
@pytest.mark.parametrize("value", [None, "", "   "], ids=["unset", "empty", "blank"])
def test_each_required_variable_is_required(missing: str, value: str | None) -> None:
    """A required variable that is unset, empty or blank is reported by name, alone."""
    environ = {k: v for k, v in VALID.items() if k != missing}
    if value is not None:
        environ[missing] = value
    assert _problems(environ) == [f"{missing} is required"]


def test_missing_and_malformed_variables_are_all_reported_together() -> None:
    """One ConfigError lists every missing and every malformed variable, in a stable order."""
    environ = {
        "MIXPANEL_PROJECT_ID": "abc-token",
        "MIXPANEL_REGION": "uk",
        "MIXPANEL_API_URL": "http://127.0.0.1:8123/api",
        "TIMEZONE": "Mars/Olympus",
        "REPORT_HOUR": "24",
        "DAILY_REPORT_DAYS": "fri-mon",
        "DAILY_REPORT_SKIP_DATES": "25/12/2026",
        "BIWEEKLY_ANCHOR": "2026-01-06",
        "ACTIVE_USER_EVENTS": " , ",
        "MIXPANEL_EXPORT_TIMEZONE": "local",
        "DELIVERY_TABLE": "my-table",
        "MIXPANEL_TIMEOUT_SECONDS": "0",
        "REPORT_BUDGET_SECONDS": "soon",
    }
    assert _problems(environ) == [
        "MIXPANEL_USERNAME is required",
        "MIXPANEL_SECRET is required",
        "MIXPANEL_PROJECT_ID must be the numeric project id (not the token), got 'abc-token'",
        "SLACK_WEBHOOK_URL is required",
        "MIXPANEL_REGION must be one of eu, us, in, got 'uk'",
        "MIXPANEL_API_URL must be an origin like http://127.0.0.1:8123, "
        "got 'http://127.0.0.1:8123/api'",
        "TIMEZONE must be an IANA time zone name like Europe/London, got 'Mars/Olympus'",
        "REPORT_HOUR must be an hour from 0 to 23, got '24'",
        "DAILY_REPORT_DAYS must list weekdays like mon-fri or mon,wed,fri, got 'fri-mon'",
        "DAILY_REPORT_SKIP_DATES must list dates like 2026-12-25,2026-12-26, got '25/12/2026'",
        "BIWEEKLY_ANCHOR must be a Monday in YYYY-MM-DD, got '2026-01-06'",
        "ACTIVE_USER_EVENTS must list event names separated by commas, got ','",
        "MIXPANEL_EXPORT_TIMEZONE must be utc or project, got 'local'",
        "DELIVERY_TABLE must be 3-63 letters or digits, starting with a letter, got 'my-table'",
        "MIXPANEL_TIMEOUT_SECONDS must be a positive number of seconds, got '0'",
        "REPORT_BUDGET_SECONDS must be a positive number of seconds, got 'soon'",
    ]


def test_project_id_must_be_numeric() -> None:
    """The project token is not the project id: a non-numeric id is rejected, and shown."""
    assert _problems_with(MIXPANEL_PROJECT_ID="7f3a9c0de1") == [
        "MIXPANEL_PROJECT_ID must be the numeric project id (not the token), got '7f3a9c0de1'"
    ]


@pytest.mark.parametrize(
    "webhook",
    [
        "hooks.slack.com/services/TSECRET/BSECRET/secretsecret",
        "ftp://hooks.slack.com/services/TSECRET/BSECRET/secretsecret",
        "https:///services/TSECRET/BSECRET/secretsecret",
    ],
    ids=["no-scheme", "ftp", "no-host"],
)
def test_a_malformed_webhook_is_rejected_without_showing_it(webhook: str) -> None:
    """SLACK_WEBHOOK_URL must be http(s) with a host; the error never repeats the value."""
    with pytest.raises(ConfigError) as caught:
        _settings(SLACK_WEBHOOK_URL=webhook)
    assert caught.value.problems == ["SLACK_WEBHOOK_URL must be an http(s) URL (value not shown)"]
    _assert_no_secret(str(caught.value))


# -------------------------------------------------------------------- region and hosts


@pytest.mark.parametrize(
    ("region", "expected", "query", "export", "project"),
    [
        (
            None,
            Region.US,
            "https://mixpanel.com/api/query",
            "https://data.mixpanel.com/api/2.0/export",
            "https://mixpanel.com/project/3141592",
        ),
        (
            "us",
            Region.US,
            "https://mixpanel.com/api/query",
            "https://data.mixpanel.com/api/2.0/export",
            "https://mixpanel.com/project/3141592",
        ),
        (
            "US",
            Region.US,
            "https://mixpanel.com/api/query",
            "https://data.mixpanel.com/api/2.0/export",
            "https://mixpanel.com/project/3141592",
        ),
        (
            "eu",
            Region.EU,
            "https://eu.mixpanel.com/api/query",
            "https://data-eu.mixpanel.com/api/2.0/export",
            "https://eu.mixpanel.com/project/3141592",
        ),
        (
            "EU",
            Region.EU,
            "https://eu.mixpanel.com/api/query",
            "https://data-eu.mixpanel.com/api/2.0/export",
            "https://eu.mixpanel.com/project/3141592",
        ),
        (
            " Eu ",
            Region.EU,
            "https://eu.mixpanel.com/api/query",
            "https://data-eu.mixpanel.com/api/2.0/export",
            "https://eu.mixpanel.com/project/3141592",
        ),
        (
            "in",
            Region.IN,
            "https://in.mixpanel.com/api/query",
            "https://data-in.mixpanel.com/api/2.0/export",
            "https://in.mixpanel.com/project/3141592",
        ),
        (
            "IN",
            Region.IN,
            "https://in.mixpanel.com/api/query",
            "https://data-in.mixpanel.com/api/2.0/export",
            "https://in.mixpanel.com/project/3141592",
        ),
    ],
    ids=["unset-is-us", "us", "US", "eu", "EU", "padded-Eu", "in", "IN"],
)
def test_region_picks_the_query_and_export_hosts(
    region: str | None, expected: Region, query: str, export: str, project: str
) -> None:
    """MIXPANEL_REGION (any case) selects the residency's query, export and UI hosts."""
    settings = _settings() if region is None else _settings(MIXPANEL_REGION=region)
    assert settings.mixpanel_region is expected
    assert settings.query_base == query
    assert settings.export_url == export
    assert settings.project_url == project


@pytest.mark.parametrize("region", ["uk", "eu1", "europe", "usa"], ids=str)
def test_an_unknown_region_is_rejected(region: str) -> None:
    """Only eu, us and in are Mixpanel residencies."""
    assert _problems_with(MIXPANEL_REGION=region) == [
        f"MIXPANEL_REGION must be one of eu, us, in, got {region!r}"
    ]


@pytest.mark.parametrize(
    ("api_url", "region", "origin"),
    [
        ("http://127.0.0.1:8123", "us", "http://127.0.0.1:8123"),
        ("http://127.0.0.1:8123/", "us", "http://127.0.0.1:8123"),
        ("http://127.0.0.1:8123", "eu", "http://127.0.0.1:8123"),
        ("https://mixpanel-proxy.internal:9443", "in", "https://mixpanel-proxy.internal:9443"),
    ],
    ids=["loopback", "trailing-slash", "overrides-eu", "https-overrides-in"],
)
def test_api_url_replaces_every_mixpanel_api_host(api_url: str, region: str, origin: str) -> None:
    """MIXPANEL_API_URL is an origin that replaces both API hosts, whatever the region."""
    settings = _settings(MIXPANEL_API_URL=api_url, MIXPANEL_REGION=region)
    assert settings.mixpanel_api_url == origin
    assert settings.query_base == f"{origin}/api/query"
    assert settings.export_url == f"{origin}/api/2.0/export"


def test_api_url_on_loopback_gives_the_exact_urls() -> None:
    """http://127.0.0.1:8123 -> .../api/query and .../api/2.0/export on that origin."""
    settings = _settings(MIXPANEL_API_URL="http://127.0.0.1:8123")
    assert settings.query_base == "http://127.0.0.1:8123/api/query"
    assert settings.export_url == "http://127.0.0.1:8123/api/2.0/export"


@pytest.mark.parametrize(
    "api_url",
    [
        "http://127.0.0.1:8123/api",
        "http://127.0.0.1:8123/api/query",
        "http://127.0.0.1:8123?project_id=1",
        "http://127.0.0.1:8123/?x=1",
        "http://127.0.0.1:8123/#top",
        "ftp://127.0.0.1:8123",
        "127.0.0.1:8123",
        "http://",
    ],
    ids=["path", "full-path", "query", "slash-query", "fragment", "ftp", "no-scheme", "no-host"],
)
def test_api_url_with_a_path_query_or_other_scheme_is_an_error(api_url: str) -> None:
    """MIXPANEL_API_URL must be scheme://host[:port] only."""
    assert _problems_with(MIXPANEL_API_URL=api_url) == [
        f"MIXPANEL_API_URL must be an origin like http://127.0.0.1:8123, got {api_url!r}"
    ]


# --------------------------------------------------------------------------- timezone


@pytest.mark.parametrize(
    "name",
    ["Europe/London", "America/New_York", "Asia/Kolkata", "UTC", "America/Argentina/Buenos_Aires"],
    ids=str,
)
def test_timezone_accepts_iana_names(name: str) -> None:
    """TIMEZONE is an IANA zone name."""
    assert _settings(TIMEZONE=name).timezone == ZoneInfo(name)


@pytest.mark.parametrize(
    "name",
    ["Mars/Olympus", "Europe/london", "../etc/passwd", "/etc/localtime", "Europe/London/", "BST"],
    ids=["unknown", "wrong-case", "relative-path", "absolute-path", "trailing-slash", "abbrev"],
)
def test_timezone_rejects_anything_that_is_not_an_iana_name(name: str) -> None:
    """A wrong, mis-cased or path-like TIMEZONE is a ConfigError naming the value."""
    assert _problems_with(TIMEZONE=name) == [
        f"TIMEZONE must be an IANA time zone name like Europe/London, got {name!r}"
    ]


@pytest.mark.parametrize("name", ["Europe", "America"], ids=str)
def test_timezone_naming_a_region_folder_is_a_config_problem(name: str) -> None:
    """TIMEZONE=Europe (a region, not a zone) is reported like any other bad zone name."""
    assert _problems_with(TIMEZONE=name) == [
        f"TIMEZONE must be an IANA time zone name like Europe/London, got {name!r}"
    ]


# ------------------------------------------------------------------------ report hour


@pytest.mark.parametrize(
    ("raw", "hour"), [("0", 0), ("9", 9), ("09", 9), ("23", 23)], ids=["0", "9", "09", "23"]
)
def test_report_hour_is_a_whole_hour_from_0_to_23(raw: str, hour: int) -> None:
    """REPORT_HOUR is the local hour reports post at."""
    assert _settings(REPORT_HOUR=raw).report_hour == hour


@pytest.mark.parametrize("raw", ["24", "-1", "9.5", "nine", "9:00"], ids=str)
def test_report_hour_out_of_range_or_not_a_whole_number_is_an_error(raw: str) -> None:
    """REPORT_HOUR outside 0..23, fractional or written out is rejected."""
    assert _problems_with(REPORT_HOUR=raw) == [
        f"REPORT_HOUR must be an hour from 0 to 23, got {raw!r}"
    ]


# ---------------------------------------------------------------- daily days and dates


@pytest.mark.parametrize(
    ("raw", "days"),
    [
        ("mon-fri", {0, 1, 2, 3, 4}),
        ("mon,wed,fri", {0, 2, 4}),
        ("Mon-Fri", {0, 1, 2, 3, 4}),
        ("sat-sun", {5, 6}),
        ("mon-sun", {0, 1, 2, 3, 4, 5, 6}),
        ("mon, wed - fri", {0, 2, 3, 4}),
        ("sun", {6}),
    ],
    ids=["range", "list", "capitalised", "weekend", "every-day", "mixed-with-spaces", "one-day"],
)
def test_daily_report_days_accepts_ranges_and_lists(raw: str, days: set[int]) -> None:
    """DAILY_REPORT_DAYS is weekday names (mon=0 .. sun=6) as ranges and/or a comma list."""
    assert _settings(DAILY_REPORT_DAYS=raw).daily_report_days == frozenset(days)


@pytest.mark.parametrize(
    "raw",
    ["fri-mon", "funday", "monday-friday", "mon-", "mon,,fri", "1-5", "mon-wed-fri"],
    ids=[
        "backwards-range",
        "unknown-day",
        "full-names",
        "open-range",
        "empty-item",
        "numbers",
        "two-dashes",
    ],
)
def test_daily_report_days_that_cannot_be_read_are_an_error(raw: str) -> None:
    """A backwards range, an unknown name or an empty item is rejected, never guessed."""
    assert _problems_with(DAILY_REPORT_DAYS=raw) == [
        f"DAILY_REPORT_DAYS must list weekdays like mon-fri or mon,wed,fri, got {raw!r}"
    ]


@pytest.mark.parametrize(
    ("raw", "dates"),
    [
        ("2026-12-25", {date(2026, 12, 25)}),
        ("2026-12-25,2026-12-26", {date(2026, 12, 25), date(2026, 12, 26)}),
        ("2026-12-25 , 2027-01-01,", {date(2026, 12, 25), date(2027, 1, 1)}),
        ("2028-02-29", {date(2028, 2, 29)}),
    ],
    ids=["one", "two", "spaces-and-trailing-comma", "leap-day"],
)
def test_daily_skip_dates_are_iso_dates_separated_by_commas(raw: str, dates: set[date]) -> None:
    """DAILY_REPORT_SKIP_DATES lists the holidays with no daily report."""
    assert _settings(DAILY_REPORT_SKIP_DATES=raw).daily_skip_dates == frozenset(dates)


@pytest.mark.parametrize(
    "raw",
    ["25/12/2026", "2026-02-29", "2026-12-25;2026-12-26", "christmas"],
    ids=["day-first", "not-a-leap-year", "semicolons", "words"],
)
def test_daily_skip_dates_that_are_not_real_iso_dates_are_an_error(raw: str) -> None:
    """Each skip date must be a real YYYY-MM-DD date."""
    assert _problems_with(DAILY_REPORT_SKIP_DATES=raw) == [
        f"DAILY_REPORT_SKIP_DATES must list dates like 2026-12-25,2026-12-26, got {raw!r}"
    ]


# --------------------------------------------------------------------- bi-weekly anchor


@pytest.mark.parametrize(
    "raw", ["2026-01-05", "2027-01-04", "2025-12-29"], ids=["default", "2027", "before-default"]
)
def test_biweekly_anchor_is_a_monday(raw: str) -> None:
    """BIWEEKLY_ANCHOR is the Monday bi-weekly reports count 14-day steps from."""
    assert _settings(BIWEEKLY_ANCHOR=raw).biweekly_anchor == date.fromisoformat(raw)


@pytest.mark.parametrize(
    "raw",
    ["2026-01-06", "2026-01-04", "2026-13-01", "next monday"],
    ids=["tuesday", "sunday", "no-such-month", "words"],
)
def test_biweekly_anchor_that_is_not_a_monday_is_an_error(raw: str) -> None:
    """A non-Monday or an unreadable date is rejected, never moved to a nearby Monday."""
    assert _problems_with(BIWEEKLY_ANCHOR=raw) == [
        f"BIWEEKLY_ANCHOR must be a Monday in YYYY-MM-DD, got {raw!r}"
    ]


# ---------------------------------------------------------------------------- secrets


def test_secrets_never_appear_in_the_settings_repr_or_str() -> None:
    """repr(settings) masks the Mixpanel secret, the webhook URL and the storage connection."""
    settings = _settings(AzureWebJobsStorage=STORAGE)
    assert settings.storage_connection is not None
    assert settings.storage_connection.reveal() == STORAGE
    for text in (repr(settings), str(settings), f"{settings}"):
        _assert_no_secret(text)
        assert "Secret('********')" in text


def test_secrets_never_appear_in_a_config_error() -> None:
    """With secrets set and every other variable wrong, no error text carries a secret."""
    environ = {
        "MIXPANEL_SECRET": MIXPANEL_SECRET,
        "SLACK_WEBHOOK_URL": "hooks.slack.com/services/TSECRET/BSECRET/secretsecret",
        "AzureWebJobsStorage": STORAGE,
        "MIXPANEL_PROJECT_ID": "not-a-number",
        "TIMEZONE": "Nowhere/Special",
        "REPORT_HOUR": "25",
    }
    with pytest.raises(ConfigError) as caught:
        Settings.from_env(environ)
    error = caught.value
    for text in (str(error), repr(error), *error.problems, *map(str, error.args)):
        _assert_no_secret(text)
    assert len(error.problems) == 5


@pytest.mark.parametrize("value", [MIXPANEL_SECRET, WEBHOOK], ids=["mixpanel-secret", "webhook"])
def test_a_secret_shows_only_a_mask(value: str) -> None:
    """repr, str and format of a Secret are the mask; reveal() is the only way to the value."""
    secret = Secret(value)
    assert repr(secret) == "Secret('********')"
    assert str(secret) == "Secret('********')"
    assert f"{secret} {secret!r} {[secret]}" == (
        "Secret('********') Secret('********') [Secret('********')]"
    )
    assert secret.reveal() == value


@pytest.mark.parametrize(
    ("value", "fingerprint"),
    [(MIXPANEL_SECRET, "e4bd367639dc"), (WEBHOOK, "766662dea0cc")],
    ids=["mixpanel-secret", "webhook"],
)
def test_a_secret_fingerprint_is_short_stable_and_not_the_secret(
    value: str, fingerprint: str
) -> None:
    """fingerprint() is the first 12 hex digits of SHA-256: the same every run, never the value."""
    assert Secret(value).fingerprint() == fingerprint
    assert Secret(value).fingerprint() == Secret(value).fingerprint()
    _assert_no_secret(fingerprint)


def test_different_secrets_have_different_fingerprints_and_compare_by_value() -> None:
    """Two webhooks are told apart by fingerprint; equal values are equal Secrets."""
    other = Secret("https://hooks.slack.com/services/T000/B000/other")
    assert other.fingerprint() != Secret(WEBHOOK).fingerprint()
    assert Secret(WEBHOOK) == Secret(WEBHOOK)
    assert Secret(WEBHOOK) != other
    assert Secret(WEBHOOK) != WEBHOOK
    assert len({Secret(WEBHOOK), Secret(WEBHOOK), other}) == 2


# ------------------------------------------------------------------------ other values


def test_optional_values_are_parsed_into_their_types() -> None:
    """Each optional variable becomes a typed value."""
    settings = _settings(
        COMPANY_NAME="Planet Co",
        METRICS_FILE="/srv/metrics.toml",
        ACTIVE_USER_EVENTS="App Opened, Receipt Uploaded, App Opened",
        MIXPANEL_EXPORT_TIMEZONE="PROJECT",
        DELIVERY_TABLE="deliveries2026",
        MIXPANEL_TIMEOUT_SECONDS="12.5",
        REPORT_BUDGET_SECONDS="90",
    )
    assert settings.company_name == "Planet Co"
    assert settings.metrics_file == Path("/srv/metrics.toml")
    assert settings.active_user_events == ("App Opened", "Receipt Uploaded")
    assert settings.export_in_utc is False
    assert settings.delivery_table == "deliveries2026"
    assert settings.mixpanel_timeout == 12.5
    assert settings.report_budget_seconds == 90.0


def test_settings_are_frozen() -> None:
    """Settings cannot be changed after they are read."""
    settings = Settings.from_env(VALID)
    with pytest.raises(AttributeError):
        settings.report_hour = 10  # type: ignore[misc]


# -- data sources (issue #12) ---------------------------------------------------------------------


def test_data_source_settings_default_to_auto_4m_events_mondays_and_no_saved_reports() -> None:
    """MIXPANEL_SOURCE=auto, EXPORT_MAX_EVENTS=4,000,000, weeks from Monday, no saved reports."""
    settings = _settings()
    assert (
        settings.mixpanel_source,
        settings.export_max_events,
        settings.week_start,
        settings.insights_reports,
    ) == ("auto", 4_000_000, 0, ())


def test_data_source_settings_are_read_and_reach_the_report_context() -> None:
    """Each setting lands in the context's SourcePolicy."""
    from shared.report.metrics import load_metrics
    from shared.root import context
    from shared.sources.gathering import SourceMode, SourcePolicy

    settings = _settings(
        MIXPANEL_SOURCE="Export",
        EXPORT_MAX_EVENTS="250_000",
        MIXPANEL_WEEK_START="sunday",
        MIXPANEL_INSIGHTS_REPORTS="active_users:901, engaged:902",
    )
    policy = context(settings, load_metrics(DEFAULT_METRICS_FILE)).sources
    assert policy == SourcePolicy(
        mode=SourceMode.EXPORT,
        export_max_events=250_000,
        week_start=6,
        insights_reports=(("active_users", "901"), ("engaged", "902")),
    )


def test_malformed_data_source_settings_are_all_reported_together() -> None:
    """Each names its variable and the rule it broke."""
    problems = _problems_with(
        MIXPANEL_SOURCE="warehouse",
        EXPORT_MAX_EVENTS="0",
        MIXPANEL_WEEK_START="someday",
        MIXPANEL_INSIGHTS_REPORTS="active_users=901",
    )
    assert problems == [
        "MIXPANEL_SOURCE must be one of auto, query, export, got 'warehouse'",
        "EXPORT_MAX_EVENTS must be a whole number of events, 1 or more, got '0'",
        "MIXPANEL_WEEK_START must be the project's first weekday, like mon or sun, got 'someday'",
        "MIXPANEL_INSIGHTS_REPORTS must list metric_key:bookmark_id pairs separated by commas, "
        "got 'active_users=901'",
    ]


# ------------------------------------------------ numbers are finite, in range, ASCII digits


@pytest.mark.parametrize("raw", ["²", "٣١٤", "3141592²", "3_141", "-3"], ids=repr)
def test_the_project_id_is_ascii_digits_only(raw: str) -> None:
    """'²'.isdigit() is True: a superscript id passed start-up and read as bad credentials."""
    assert _problems_with(MIXPANEL_PROJECT_ID=raw) == [
        f"MIXPANEL_PROJECT_ID must be the numeric project id (not the token), got {raw!r}"
    ]


@pytest.mark.parametrize(
    ("name", "raw", "rule"),
    [
        ("REPORT_HOUR", "٣", "must be an hour from 0 to 23"),
        ("REPORT_HOUR", "²", "must be an hour from 0 to 23"),
        ("MIXPANEL_TIMEOUT_SECONDS", "inf", "must be a positive number of seconds"),
        ("MIXPANEL_TIMEOUT_SECONDS", "nan", "must be a positive number of seconds"),
        ("REPORT_BUDGET_SECONDS", "1e999", "must be a positive number of seconds"),
        ("REPORT_BUDGET_SECONDS", "٣٠", "must be a positive number of seconds"),
        ("REPORT_BUDGET_SECONDS", "1e9", "must be a positive number of seconds"),
        ("SLACK_CHARTS_RETRY_DAYS", "٣", "must be a whole number of days from 1"),
        (
            "CUSTOM_REPOST_SECONDS",
            "٣٠٠",
            "must be a whole number of seconds from 0 (never suppress) to 86400",
        ),
        ("EXPORT_MAX_EVENTS", "٤٠٠٠", "must be a whole number of events, 1 or more"),
        ("EXPORT_MAX_EVENTS", "1" + "0" * 40, "must be a whole number of events, 1 or more"),
        (
            "MIXPANEL_INSIGHTS_REPORTS",
            "signups:١٢٣",
            "must list metric_key:bookmark_id pairs separated by commas",
        ),
    ],
    ids=lambda v: v if len(v) < 30 else "",
)
def test_every_number_setting_is_finite_in_range_and_ascii(name: str, raw: str, rule: str) -> None:
    """nan, inf, '²' and Arabic-Indic digits (which int() reads) are refused, by name."""
    assert _problems_with(**{name: raw}) == [f"{name} {rule}, got {raw[:80]!r}"]


@pytest.mark.parametrize(
    ("name", "raw", "value"),
    [
        ("MIXPANEL_TIMEOUT_SECONDS", "12.5", 12.5),
        ("MIXPANEL_TIMEOUT_SECONDS", "1e2", 100.0),
        ("EXPORT_MAX_EVENTS", "4_000_000", 4_000_000),
    ],
    ids=["decimal", "exponent", "underscores"],
)
def test_plain_ascii_numbers_are_still_read(name: str, raw: str, value: float) -> None:
    """The stricter reading keeps every form the settings documented."""
    settings = _settings(**{name: raw})
    attribute = {
        "MIXPANEL_TIMEOUT_SECONDS": "mixpanel_timeout",
        "EXPORT_MAX_EVENTS": "export_max_events",
    }[name]
    assert getattr(settings, attribute) == value


# ------------------------------------------------------- invisible format characters


@pytest.mark.parametrize(
    ("name", "raw", "shown"),
    [
        ("COMPANY_NAME", "Acme\u202e", "U+202E RIGHT-TO-LEFT OVERRIDE"),
        ("MIXPANEL_PROJECT_ID", "31\u200b41", "U+200B ZERO WIDTH SPACE"),
        ("MIXPANEL_USERNAME", "svc\u2066", "U+2066 LEFT-TO-RIGHT ISOLATE"),
        ("TRACKING_WATCH", "Sign Up,\ufeffLogin", "U+FEFF ZERO WIDTH NO-BREAK SPACE"),
    ],
    ids=["company-rtl", "project-zwsp", "username-isolate", "watch-bom"],
)
def test_a_setting_hiding_an_invisible_format_character_is_refused_by_name(
    name: str, raw: str, shown: str
) -> None:
    """U+202E or U+200B in a setting makes what is shown differ from what is used: refused once."""
    assert _problems_with(**{name: raw}) == [
        f"{name} contains an invisible Unicode format character ({shown})"
    ]


def test_a_secret_hiding_a_format_character_is_named_without_its_value() -> None:
    """The problem names the setting and the character, never the secret."""
    problems = _problems_with(MIXPANEL_SECRET=MIXPANEL_SECRET + "\u200b")
    assert problems == [
        "MIXPANEL_SECRET contains an invisible Unicode format character (U+200B ZERO WIDTH SPACE)"
    ]
    _assert_no_secret(" ".join(problems))


def test_an_unrelated_environment_variable_is_not_judged() -> None:
    """The host's own variables are not settings of this app: a Cf character there is fine."""
    assert _settings(SOME_HOST_VARIABLE="x\u202e").company_name == "Analytics"
