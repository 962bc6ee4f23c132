"""Specs for the metric kinds' pure parts: filters, formulas, units, the accumulator, config."""

from __future__ import annotations

from datetime import date, datetime, time
from zoneinfo import ZoneInfo

import pytest

from devtools.sample_data import RawEvent
from shared.errors import ConfigError, MetricsFileError, UnknownPropertiesError
from shared.pipeline import ReportContext, produce_report
from shared.report.figures import NOT_SET, OTHER, FigureTally, breakdown_label
from shared.report.filters import Condition, Op
from shared.report.formulas import FormulaError, evaluate, parse_formula
from shared.report.metrics import Measure, parse_metrics
from shared.report.reports import resolve_destinations
from shared.report.units import Unit, UnitKind, format_points, format_value
from shared.schedule.periods import PeriodKind, Window, month_to_date, report_period
from tests.report.test_numbers import served

LONDON = ZoneInfo("Europe/London")
DAY = date(2026, 11, 23)
WEEK = Window(date(2026, 11, 16), date(2026, 11, 22))


def metric(**fields: object) -> dict[str, object]:
    return {"key": "m", "label": "M", "events": ["Purchase"], **fields}


# -- filters -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("condition", "properties", "expected"),
    [
        (Condition("platform", Op.EQUALS, ("iOS",)), {"platform": "iOS"}, True),
        (Condition("platform", Op.EQUALS, ("iOS",)), {"platform": "ios"}, False),
        (Condition("platform", Op.EQUALS, ("iOS",)), {}, False),
        (Condition("n", Op.EQUALS, (1,)), {"n": 1.0}, True),
        (Condition("n", Op.EQUALS, (1,)), {"n": True}, False),
        (Condition("n", Op.EQUALS, ("1",)), {"n": 1}, False),
        (Condition("country", Op.ONE_OF, ("GB", "IE")), {"country": "IE"}, True),
        (Condition("country", Op.ONE_OF, ("GB", "IE")), {"country": "FR"}, False),
        (Condition("country", Op.NOT, ("GB",)), {"country": "FR"}, True),
        (Condition("country", Op.NOT, ("GB",)), {}, True),
        (Condition("country", Op.NOT, ("GB", "IE")), {"country": "IE"}, False),
        (Condition("source", Op.CONTAINS, ("ads",)), {"source": "tiktok_ads"}, True),
        (Condition("source", Op.CONTAINS, ("ads",)), {"source": "ADS"}, False),
        (Condition("source", Op.CONTAINS, ("1",)), {"source": 1}, False),
        (Condition("amount", Op.GT, (10,)), {"amount": 10.01}, True),
        (Condition("amount", Op.GT, (10,)), {"amount": 10}, False),
        (Condition("amount", Op.GTE, (10,)), {"amount": 10}, True),
        (Condition("amount", Op.LT, (10,)), {"amount": "5"}, False),
        (Condition("amount", Op.LTE, (10,)), {"amount": -3.5}, True),
        (Condition("amount", Op.LTE, (10,)), {"amount": None}, False),
    ],
    ids=[
        "equals", "equals-case", "equals-missing", "int-float", "bool-is-not-1", "text-is-not-1",
        "one-of", "one-of-miss", "not", "not-missing", "not-list", "contains",
        "contains-case", "contains-number", "gt", "gt-equal", "gte", "lt-text", "lte-neg",
        "lte-null",
    ],
)  # fmt: skip
def test_each_comparison(condition: Condition, properties: dict, expected: bool) -> None:
    """equals/one_of compare type and value; not matches a missing property; numbers only."""
    assert condition.matches(properties) is expected


@pytest.mark.parametrize(
    ("where", "problem"),
    [
        ([{"property": "p"}], "m.toml: metric 'm' where[1] (p) needs exactly one comparison, "
         "got 0"),
        (
            [{"property": "p", "equals": "a", "not": "b"}],
            "m.toml: metric 'm' where[1] (p) needs exactly one comparison, got 2",
        ),
        ([{"property": "p", "like": "a"}], "m.toml: metric 'm' where[1] (p) has unknown "
         "comparisons ['like']; use one of equals, one_of, not, contains, gt, gte, lt, lte"),
        ([{"property": "p", "gt": "10"}], "m.toml: metric 'm' where[1] (p) gt must be a finite "
         "number"),
        ([{"property": "p", "gte": float("nan")}], "m.toml: metric 'm' where[1] (p) gte must be "
         "a finite number"),
        ([{"property": "p", "lt": float("inf")}], "m.toml: metric 'm' where[1] (p) lt must be "
         "a finite number"),
        ([{"property": "p", "one_of": "GB"}], "m.toml: metric 'm' where[1] (p) one_of must be "
         "a list of values"),
        ([{"equals": "x"}], "m.toml: metric 'm' where[1] needs a property name"),
        ("platform = iOS", "m.toml: metric 'm' where must be a list of conditions"),
    ],
    ids=["no-op", "two-ops", "unknown-op", "gt-text", "gte-nan", "lt-inf", "one-of-scalar",
         "no-property", "text"],
)  # fmt: skip
def test_a_broken_filter_is_named_with_its_metric_and_position(where, problem) -> None:
    """Each broken condition names the file, the metric and the condition."""
    with pytest.raises(MetricsFileError) as caught:
        parse_metrics({"metric": [metric(where=where)]}, source="m.toml")
    assert caught.value.problems == [problem]


# -- formulas ------------------------------------------------------------------------------


def test_a_formula_divides_adds_and_scales() -> None:
    """+ - * / and parentheses over metric keys and numbers."""
    f = parse_formula("(a + b) / c * 2 - 1")
    assert f.keys == ("a", "b", "c")
    assert evaluate(f, {"a": 1, "b": 2, "c": 4}) == 0.5


@pytest.mark.parametrize(
    "values", [{"a": 1, "b": 0}, {"a": 1, "b": None}, {"a": 1}], ids=["zero", "none", "missing"]
)
def test_a_formula_over_zero_or_a_missing_input_has_no_value(values) -> None:
    """Division by zero is None (the report shows n/a), never an exception."""
    assert evaluate(parse_formula("a / b"), values) is None


@pytest.mark.parametrize(
    "text", ["a ** 2", "__import__('os')", "a.b", "a if b else c", "1 + 2", "a /"]
)
def test_a_formula_is_only_arithmetic_over_metric_keys(text: str) -> None:
    """Anything but keys, numbers, + - * / and parentheses is refused (no code runs)."""
    with pytest.raises(FormulaError):
        parse_formula(text)


def test_formula_problems_name_the_metric_with_a_did_you_mean() -> None:
    """Unknown metric keys, formulas of formulas, and events on a formula are all listed."""
    raw = {
        "metric": [
            {"key": "signups", "label": "S", "events": ["Sign Up"]},
            {"key": "rate", "label": "R", "formula": "onboarded / signupz"},
            {"key": "double", "label": "D", "formula": "rate * 2", "events": ["X"]},
        ]
    }
    with pytest.raises(MetricsFileError) as caught:
        parse_metrics(raw, source="m.toml")
    assert caught.value.problems == [
        "m.toml: metric 'double': a formula takes no events (it uses other metrics)",
        "m.toml: metric 'rate' formula uses unknown metric 'onboarded'",
        "m.toml: metric 'rate' formula uses unknown metric 'signupz' (did you mean 'signups'?)",
    ]


# -- units ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "unit", "text"),
    [
        (1234, Unit(), "1,234"),
        (1234.5, Unit(UnitKind.CURRENCY, "GBP", 2), "£1,234.50"),
        (-3.25, Unit(UnitKind.CURRENCY, "EUR", 2), "-€3.25"),
        (12, Unit(UnitKind.CURRENCY, "SEK", 0), "12 SEK"),
        (62.456, Unit(UnitKind.PERCENT, None, 1), "62.5%"),
        (-0.04, Unit(UnitKind.PERCENT, None, 1), "0.0%"),
        (3.14159, Unit(UnitKind.NUMBER, None, 3), "3.142"),
    ],
    ids=["count", "gbp", "negative-eur", "code-only", "percent", "no-minus-zero", "decimals"],
)
def test_values_read_in_their_unit(value: float, unit: Unit, text: str) -> None:
    """Counts with commas, currency with its symbol (or code), percent, chosen decimals."""
    assert format_value(value, unit) == text


def test_a_rate_changes_in_points() -> None:
    """A rate's change is percentage points, not a relative percent."""
    assert format_points(-3.21) == "3.2 pts"


@pytest.mark.parametrize(
    ("fields", "problem"),
    [
        ({"unit": "money"}, "unit must be one of count, currency, percent, number, got 'money'"),
        ({"unit": "currency"}, 'needs a three-letter currency code like "GBP"'),
        ({"currency": "GBP"}, 'currency only applies with unit = "currency"'),
        ({"unit": "percent", "decimals": 9}, "decimals must be a whole number from 0 to 6"),
    ],
    ids=["unknown", "no-code", "code-on-count", "decimals"],
)
def test_unit_problems(fields: dict, problem: str) -> None:
    """Each unit problem names the metric."""
    with pytest.raises(MetricsFileError) as caught:
        parse_metrics({"metric": [metric(**fields)]}, source="m.toml")
    assert caught.value.problems == [f"m.toml: metric 'm' {problem}"]


# -- the accumulator -----------------------------------------------------------------------


def tally(**fields: object) -> FigureTally:
    config = parse_metrics({"metric": [metric(**fields)]})
    return FigureTally(config.metrics, [WEEK], qualifying=lambda e: not e.startswith("$"))


def test_a_sum_skips_and_counts_missing_and_non_numeric_values_never_as_zero() -> None:
    """Text, true, null, NaN and a missing amount are skipped and counted; 0 is a value."""
    t = tally(measure="sum", property="amount")
    for amount in ("12", True, None, float("nan"), 0, 0.1, 0.2, -1):
        t.add(DAY - date.resolution * 2, "Purchase", "u", {"amount": amount})
    t.add(DAY - date.resolution * 2, "Purchase", "u", {})
    t.add(DAY, "Purchase", "u", {"amount": 100})  # outside the window
    figure = t.result().values[("m", WEEK)]
    assert (figure.value, figure.matched, figure.skipped) == (-0.7, 4, 5)


def test_an_average_of_no_values_has_no_value() -> None:
    """The report then reads n/a with the reason, not 0."""
    t = tally(measure="average", property="amount")
    t.add(date(2026, 11, 20), "Purchase", "u", {"amount": "x"})
    figure = t.result().values[("m", WEEK)]
    assert (figure.value, figure.skipped) == (None, 1)


def test_a_breakdown_lists_the_top_values_then_other_by_the_metrics_own_figure() -> None:
    """Unique users per country: the top 2 by users, then the rest as other (a union)."""
    t = tally(measure="unique", breakdown="country", top=2)
    day = date(2026, 11, 20)
    for user, country in [("a", "GB"), ("b", "GB"), ("a", "GB"), ("c", "IE"), ("d", None),
                          ("e", 353), ("e", "FR")]:  # fmt: skip
        t.add(day, "Purchase", user, {"country": country} if country is not None else {})
    figure = t.result().values[("m", WEEK)]
    assert figure.value == 5
    assert figure.breakdown == (("GB", 2), ("(not set)", 1), (OTHER, 2))


@pytest.mark.parametrize(
    ("value", "label"),
    [(None, NOT_SET), (True, "true"), (3.0, "3"), (2.5, "2.5"), ("GB", "GB")],
)
def test_breakdown_labels(value: object, label: str) -> None:
    """How property values are listed; a missing one is '(not set)' as in Mixpanel."""
    assert breakdown_label(value) == label


# -- month to date -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("day", "now", "before"),
    [
        (date(2026, 11, 23), (date(2026, 11, 1), date(2026, 11, 23)),
         (date(2026, 10, 1), date(2026, 10, 23))),
        (date(2026, 3, 31), (date(2026, 3, 1), date(2026, 3, 31)),
         (date(2026, 2, 1), date(2026, 2, 28))),
        (date(2026, 1, 1), (date(2026, 1, 1), date(2026, 1, 1)),
         (date(2025, 12, 1), date(2025, 12, 1))),
    ],
    ids=["november", "march-31-against-february", "new-year"],
)  # fmt: skip
def test_month_to_date_is_the_month_so_far_against_the_same_days_of_last_month(
    day, now, before
) -> None:
    """From the 1st to the report's day; last month cut at its own end."""
    this, last = month_to_date(day)
    assert (this.window.start, this.window.end) == now
    assert (last.window.start, last.window.end) == before


# -- configuration ---------------------------------------------------------------------------

REPORTS_RAW = {
    "metric": [
        {"key": "signups", "label": "Signups", "events": ["Sign Up"]},
        {"key": "revenue", "label": "Revenue", "events": ["Purchase"], "measure": "sum",
         "property": "amount", "unit": "currency", "currency": "GBP"},
    ],
    "report": [
        {"name": "growth", "cadence": "daily", "metrics": ["signups"],
         "destination": "SLACK_WEBHOOK_GROWTH", "quiet_days": ["sat", "sun"]},
        {"name": "exec", "cadence": "monthly", "metrics": ["revenue", "signups"],
         "destination": "SLACK_WEBHOOK_EXEC"},
    ],
}  # fmt: skip


def test_reports_are_parsed_with_their_cadence_metrics_and_destination_setting() -> None:
    """Each [[report]] keeps its own metrics; the file's metrics serve every report."""
    config = parse_metrics(REPORTS_RAW, source="r.toml")
    assert [(r.name, r.cadence, r.destination) for r in config.reports] == [
        ("growth", PeriodKind.DAILY, "SLACK_WEBHOOK_GROWTH"),
        ("exec", PeriodKind.MONTHLY, "SLACK_WEBHOOK_EXEC"),
    ]
    assert config.reports[0].quiet_days == frozenset({5, 6})
    assert [m.key for m in config.report("exec").metrics] == ["revenue", "signups"]
    assert config.report("exec").metrics[0].measure is Measure.SUM


def test_a_formulas_inputs_are_computed_even_when_the_report_does_not_show_them() -> None:
    """The report shows only the rate; its inputs ride along, hidden."""
    raw = {
        "metric": [
            {"key": "a", "label": "A", "events": ["A"]},
            {"key": "b", "label": "B", "events": ["B"]},
            {"key": "rate", "label": "Rate", "formula": "a / b", "unit": "percent"},
        ],
        "report": [{"name": "r", "cadence": "weekly", "metrics": ["rate"], "destination": "X"}],
    }
    config = parse_metrics(raw).report("r")
    assert [m.key for m in config.metrics] == ["rate"]
    assert [m.key for m in config.inputs] == ["a", "b"]
    assert config.named_events == ("A", "B")


def test_every_report_problem_is_listed_at_once_naming_the_file_report_and_metric() -> None:
    """Unknown metric (did-you-mean), cadence, URL as destination, quiet days off daily."""
    raw = {
        **REPORTS_RAW,
        "report": [
            {"name": "growth", "cadence": "hourly", "metrics": ["signup"],
             "destination": "https://hooks.slack.com/services/T/B/secret"},
            {"name": "exec", "cadence": "weekly", "metrics": ["revenue"],
             "destination": "SLACK_WEBHOOK_EXEC", "holidays": ["2026-12-25"]},
            {"name": "exec", "cadence": "weekly", "metrics": [], "destination": "X", "to": 1},
        ],
    }  # fmt: skip
    with pytest.raises(MetricsFileError) as caught:
        parse_metrics(raw, source="r.toml")
    problems = caught.value.problems
    assert problems == [
        "r.toml: report 'growth' cadence must be one of daily, weekly, biweekly, monthly, "
        "got 'hourly'",
        "r.toml: report 'growth': metric 'signup' is not defined (did you mean 'signups'?)",
        "r.toml: report 'growth' destination must name the setting that holds the webhook URL "
        '(e.g. "SLACK_WEBHOOK_GROWTH"), never the URL itself (value not shown)',
        "r.toml: report 'exec': quiet_days and holidays apply to daily reports only (a skipped "
        "weekly or monthly post would leave its whole window unreported)",
        "r.toml: report 3 repeats name 'exec'",
        "r.toml: report 3 has unknown fields ['to']",
        "r.toml: report 3 metrics must be a non-empty list of metric keys",
    ]
    assert "secret" not in " ".join(problems)


def test_destinations_come_from_the_settings_they_name_and_never_show_the_url() -> None:
    """A missing or non-URL setting is a ConfigError naming the file, report and setting."""
    config = parse_metrics(REPORTS_RAW, source="r.toml")
    env = {"SLACK_WEBHOOK_GROWTH": "https://hooks.example.test/g", "SLACK_WEBHOOK_EXEC": "nope"}
    with pytest.raises(ConfigError) as caught:
        resolve_destinations(config.reports, env, source="r.toml")
    assert caught.value.problems == [
        "r.toml: report 'exec': destination setting SLACK_WEBHOOK_EXEC must hold an http(s) "
        "URL (value not shown)"
    ]
    found = resolve_destinations(
        config.reports, {**env, "SLACK_WEBHOOK_EXEC": "https://hooks.example.test/e"}, source="r"
    )
    assert found["growth"].reveal() == "https://hooks.example.test/g"


def test_a_misspelt_property_is_an_error_with_a_did_you_mean_never_a_silent_zero() -> None:
    """Checked against the property names the export showed on the metric's own events.

    A metric whose events did not occur in the windows cannot be checked: that is a note.
    """
    config = parse_metrics(
        {
            "metric": [
                {"key": "ios", "label": "iOS", "events": ["Sign Up"],
                 "where": [{"property": "platfrom", "equals": "iOS"}]},
                {"key": "basket", "label": "Basket", "events": ["Receipt Uploaded"],
                 "measure": "sum", "property": "amont"},
                {"key": "votes", "label": "Votes", "events": ["Voucher Redeemed"],
                 "measure": "sum", "property": "value"},
            ]
        },
        source="m.toml",
    )  # fmt: skip
    at = int(datetime.combine(date(2026, 11, 18), time(12), LONDON).timestamp())
    events = [
        RawEvent("Sign Up", "a", at, "1", (("platform", "iOS"),)),
        RawEvent("Receipt Uploaded", "a", at + 1, "2", (("amount", 3.5),)),
        # Known to the project, but not in the windows: its property cannot be checked (a note).
        RawEvent("Voucher Redeemed", "a", at - 13 * 86_400, "3", (("amount", 5),)),
    ]
    ctx = ReportContext(config, "Acme", LONDON, "https://x")
    with (
        served(events, LONDON, DAY) as (_, client),
        pytest.raises(UnknownPropertiesError) as caught,
    ):
        produce_report(
            report_period(PeriodKind.WEEKLY, DAY),
            ctx,
            mixpanel=client,
            now=datetime.combine(DAY, time(9), LONDON),
            events_field="m.toml",
        )
    assert caught.value.problems == [
        "m.toml: metric 'ios': property 'platfrom' is on none of its 1 Sign Up events "
        "(did you mean 'platform'?)",
        "m.toml: metric 'basket': property 'amont' is on none of its 1 Receipt Uploaded events "
        "(did you mean 'amount'?)",
    ]


def test_a_property_that_cannot_be_checked_is_said_so_in_the_report() -> None:
    """No events of the metric in the windows: a note, not a silent pass and not an error."""
    config = parse_metrics(
        {"metric": [{"key": "v", "label": "Vouchers value", "events": ["Voucher Redeemed"],
                     "measure": "sum", "property": "value"}]}
    )  # fmt: skip
    at = int(datetime.combine(date(2026, 11, 5), time(12), LONDON).timestamp())
    events = [RawEvent("Voucher Redeemed", "a", at, "1", (("amount", 5),))]
    ctx = ReportContext(config, "Acme", LONDON, "https://x")
    with served(events, LONDON, DAY) as (_, client):
        report = produce_report(
            report_period(PeriodKind.WEEKLY, DAY),
            ctx,
            mixpanel=client,
            now=datetime.combine(DAY, time(9), LONDON),
        )
    assert report.metrics[0].value == 0
    assert (
        "Vouchers value: no Voucher Redeemed events in these windows, so its property names "
        "(value) could not be checked"
    ) in report.notes


def test_export_down_makes_export_figures_unavailable_never_zero() -> None:
    """Filtered, summed and formula figures read unavailable with the reason; totals still show."""
    config = parse_metrics(
        {
            "metric": [
                {"key": "signups", "label": "Signups", "events": ["Sign Up"]},
                {"key": "ios", "label": "iOS", "events": ["Sign Up"],
                 "where": [{"property": "platform", "equals": "iOS"}]},
                {"key": "share", "label": "iOS share", "formula": "ios / signups",
                 "unit": "percent"},
            ]
        }
    )  # fmt: skip
    at = int(datetime.combine(date(2026, 11, 18), time(12), LONDON).timestamp())
    events = [RawEvent("Sign Up", "a", at, "1", (("platform", "iOS"),))]
    ctx = ReportContext(config, "Acme", LONDON, "https://x")
    with served(events, LONDON, DAY) as (stand, client):
        stand.fail_next(503, times=100, retry_after="0", path_prefix="/api/2.0/export")
        report = produce_report(
            report_period(PeriodKind.WEEKLY, DAY),
            ctx,
            mixpanel=client,
            now=datetime.combine(DAY, time(9), LONDON),
        )
    signups, ios, share = report.metrics
    assert signups.value == 1
    assert ios.value is None
    assert (
        ios.unavailable == "Mixpanel /export answered HTTP 503: server error: Service Unavailable"
    )
    assert share.value is None
    assert share.unavailable == f"iOS is unavailable ({ios.unavailable})"
