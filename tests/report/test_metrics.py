"""The metrics file: six defaults shipped, every problem reported at once, typos get a hint."""

from __future__ import annotations

import tomllib
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from shared.errors import MetricsFileError, UnknownEventsError
from shared.report.metrics import (
    ANY_EVENT,
    Measure,
    MetricsConfig,
    MetricSpec,
    Thresholds,
    load_metrics,
    parse_metrics,
    unknown_events,
)
from shared.settings import DEFAULT_METRICS_FILE

SIGNUPS = {"key": "new_signups", "label": "New signups", "events": ["Sign Up"]}


def _problems(raw: dict[str, Any], source: str = "m.toml") -> list[str]:
    with pytest.raises(MetricsFileError) as caught:
        parse_metrics(raw, source=source)
    return caught.value.problems


# ------------------------------------------------------------------- the shipped file


def test_the_shipped_metrics_file_holds_the_six_default_metrics() -> None:
    """metrics.toml: active users (unique, any event) and five event totals, in order."""
    config = load_metrics(DEFAULT_METRICS_FILE)
    assert config.metrics == (
        MetricSpec(
            "active_users", "Active users", ":busts_in_silhouette:", ("*",), Measure.UNIQUE, True
        ),
        MetricSpec("new_signups", "New signups", ":new:", ("Sign Up",), Measure.TOTAL, True),
        MetricSpec(
            "users_onboarded",
            "Users onboarded",
            ":white_check_mark:",
            ("User Onboarded",),
            Measure.TOTAL,
            True,
        ),
        MetricSpec(
            "receipts_uploaded",
            "Receipts uploaded",
            ":receipt:",
            ("Receipt Uploaded",),
            Measure.TOTAL,
            True,
        ),
        MetricSpec(
            "planetpoints_added",
            "PlanetPoints added",
            ":earth_africa:",
            ("PlanetPoints Added",),
            Measure.TOTAL,
            True,
        ),
        MetricSpec(
            "vouchers_redeemed",
            "Vouchers redeemed",
            ":gift:",
            ("Voucher Redeemed",),
            Measure.TOTAL,
            True,
        ),
    )
    assert config.metrics[0].any_event is True
    assert [m.any_event for m in config.metrics[1:]] == [False] * 5


def test_the_shipped_thresholds_are_the_documented_defaults() -> None:
    """metrics.toml's [thresholds] equal Thresholds()' defaults."""
    assert load_metrics(DEFAULT_METRICS_FILE).thresholds == Thresholds(
        in_line_band=0.10,
        min_abs_change=5,
        mover_min_volume=30,
        movers_per_direction=3,
        drop_warning=0.6,
        steady_min_daily=5.0,
        top_events=5,
    )
    assert Thresholds() == load_metrics(DEFAULT_METRICS_FILE).thresholds


def test_named_events_lists_each_concrete_event_once_in_order() -> None:
    """named_events skips '*' and repeats: what the start-up check asks Mixpanel about."""
    assert load_metrics(DEFAULT_METRICS_FILE).named_events == (
        "Sign Up",
        "User Onboarded",
        "Receipt Uploaded",
        "PlanetPoints Added",
        "Voucher Redeemed",
    )
    config = parse_metrics(
        {
            "metric": [
                {"key": "a", "label": "A", "events": ["X", "Y"]},
                {"key": "b", "label": "B", "events": ["Y", "Z", "X"]},
            ]
        }
    )
    assert config.named_events == ("X", "Y", "Z")


# ------------------------------------------------------------------------ parsing rules


def test_a_minimal_metric_takes_the_defaults() -> None:
    """Only key, label and events are needed: emoji '', measure total, higher is better."""
    config = parse_metrics({"metric": [SIGNUPS]})
    assert config == MetricsConfig(
        (MetricSpec("new_signups", "New signups", "", ("Sign Up",), Measure.TOTAL, True),),
        Thresholds(),
    )


def test_event_names_are_trimmed() -> None:
    """Spaces around an event name are a typo, not part of the name."""
    config = parse_metrics({"metric": [{**SIGNUPS, "events": ["  Sign Up "]}]})
    assert config.metrics[0].events == ("Sign Up",)


def test_every_problem_in_the_file_is_reported_at_once() -> None:
    """Missing key/label, repeated key, bad measure, '*' with total, unknown fields, thresholds."""
    raw = {
        "thresholds": {"in_line_band": -0.1, "min_abs_change": 2.5, "colour": "red"},
        "metric": [
            {"label": "No key", "events": ["A"]},
            {"key": "a", "events": ["A"]},
            {"key": "a", "label": "Again", "events": ["B"]},
            {"key": "b", "label": "B", "events": ["B"], "measure": "median"},
            {"key": "c", "label": "C", "events": ["*"], "measure": "total"},
            {"key": "d", "label": "D", "events": ["*", "Sign Up"], "measure": "unique"},
            {"key": "e", "label": "E", "events": ["E"], "colour": "green", "size": "x"},
            {"key": "f", "label": "F", "events": []},
            {"key": "g", "label": "G", "events": ["G"], "higher_is_better": "yes"},
            {"key": "h", "label": "H", "events": ["H"], "emoji": 7},
        ],
    }
    assert _problems(raw) == [
        "m.toml: metric 1 needs a key",
        "m.toml: metric 'a' needs a label",
        "m.toml: metric 3 repeats key 'a'",
        "m.toml: metric 'b' measure must be one of 'total', 'unique', 'sum', 'average', "
        "'formula', got 'median'",
        "m.toml: metric 'c': events ['*'] only makes sense with measure 'unique'",
        "m.toml: metric 'd' events: '*' cannot be combined with names",
        "m.toml: metric 7 has unknown fields ['colour', 'size']",
        "m.toml: metric 'f' events must be a non-empty list of event names",
        "m.toml: metric 'g' higher_is_better must be true or false",
        "m.toml: metric 'h' emoji must be a string like ':gift:'",
        "m.toml: threshold in_line_band must be a finite number from 0 to 1,000,000,000",
        "m.toml: threshold min_abs_change must be a whole number",
        "m.toml: unknown threshold 'colour'",
    ]


@pytest.mark.parametrize(
    ("raw", "problems"),
    [
        ({}, ["f.toml: needs at least one [[metric]]"]),
        ({"metric": []}, ["f.toml: needs at least one [[metric]]"]),
        ({"metric": {"key": "a"}}, ["f.toml: needs at least one [[metric]]"]),
        ({"metric": ["Sign Up"]}, ["f.toml: metric 1 must be a table"]),
        (
            {"metric": [{**SIGNUPS, "events": "Sign Up"}]},
            ["f.toml: metric 'new_signups' events must be a non-empty list of event names"],
        ),
        (
            {"metric": [{**SIGNUPS, "events": ["Sign Up", " "]}]},
            ["f.toml: metric 'new_signups' events must be a non-empty list of event names"],
        ),
        (
            {"metric": [{**SIGNUPS, "key": ""}]},
            ["f.toml: metric 1 needs a key"],
        ),
        (
            {"metric": [{**SIGNUPS, "label": ""}]},
            ["f.toml: metric 'new_signups' needs a label"],
        ),
        (
            {"metric": [{"key": "active", "label": "Active", "events": ["*"]}]},
            ["f.toml: metric 'active': events ['*'] only makes sense with measure 'unique'"],
        ),
        (
            {"metric": [SIGNUPS], "thresholds": [1, 2]},
            ["f.toml: [thresholds] must be a table"],
        ),
        (
            {"metric": [SIGNUPS], "thresholds": {"top_events": True}},
            ["f.toml: threshold top_events must be a finite number from 0 to 1,000,000,000"],
        ),
        (
            {"metric": [SIGNUPS], "thresholds": {"drop_warning": "60%"}},
            ["f.toml: threshold drop_warning must be a finite number from 0 to 1,000,000,000"],
        ),
    ],
    ids=[
        "no-metrics",
        "empty-metric-list",
        "metric-not-a-list",
        "metric-not-a-table",
        "events-a-string",
        "blank-event-name",
        "empty-key",
        "empty-label",
        "star-defaults-to-total",
        "thresholds-not-a-table",
        "boolean-threshold",
        "text-threshold",
    ],
)
def test_each_kind_of_problem_is_named_with_its_source_and_metric(
    raw: dict[str, Any], problems: list[str]
) -> None:
    """Each problem names the file and the metric (by key once it has one, else by number)."""
    assert _problems(raw, source="f.toml") == problems


def test_thresholds_accept_whole_numbers_for_fractional_fields() -> None:
    """A float threshold may be written as a whole number; whole-number ones must be whole."""
    config = parse_metrics(
        {"metric": [SIGNUPS], "thresholds": {"drop_warning": 1, "top_events": 10}}
    )
    assert config.thresholds == Thresholds(drop_warning=1, top_events=10)


def test_a_metric_file_error_is_a_config_error_listing_the_problems() -> None:
    """MetricsFileError's text lists every problem one per line, like any ConfigError."""
    with pytest.raises(MetricsFileError) as caught:
        parse_metrics({"metric": [{"key": "a", "events": ["A"]}, {"key": "a", "label": "A"}]})
    assert str(caught.value) == (
        "invalid settings (3 problems):\n"
        "  - metrics file: metric 'a' needs a label\n"
        "  - metrics file: metric 2 repeats key 'a'\n"
        "  - metrics file: metric 2 events must be a non-empty list of event names"
    )


def test_a_padded_star_is_still_the_any_event_star() -> None:
    """events = [' * '] is '*' after trimming, so it too needs measure 'unique'."""
    assert _problems({"metric": [{"key": "all", "label": "All", "events": [" * "]}]}) == [
        "m.toml: metric 'all': events ['*'] only makes sense with measure 'unique'"
    ]


# ----------------------------------------------------------------------------- loading


def test_loading_a_missing_file_says_it_does_not_exist(tmp_path: Path) -> None:
    """A METRICS_FILE that is not there is a MetricsFileError naming the path."""
    path = tmp_path / "nope.toml"
    with pytest.raises(MetricsFileError) as caught:
        load_metrics(path)
    assert caught.value.problems == [f"metrics file {path} does not exist"]


def test_loading_a_file_that_is_not_toml_says_it_cannot_be_read(tmp_path: Path) -> None:
    """A TOML syntax error is reported with the parser's message."""
    path = tmp_path / "bad.toml"
    path.write_text("[[metric]\nkey = 'a'\n", encoding="utf-8")
    with pytest.raises(MetricsFileError) as caught:
        load_metrics(path)
    [problem] = caught.value.problems
    assert problem.startswith(f"metrics file {path} cannot be read: ")


def test_loading_names_the_file_in_each_problem(tmp_path: Path) -> None:
    """Problems found while parsing a file are prefixed with its path."""
    path = tmp_path / "team.toml"
    path.write_text('[[metric]]\nkey = "x"\nevents = ["X"]\n', encoding="utf-8")
    with pytest.raises(MetricsFileError) as caught:
        load_metrics(path)
    assert caught.value.problems == [f"{path}: metric 'x' needs a label"]


# --------------------------------------------------------------------- unknown events

KNOWN = ["Receipt Authenticity Tracked", "Receipt Uploaded", "Sign Up", "App Opened"]


def test_an_unknown_event_gets_a_did_you_mean() -> None:
    """'Receipt Autheticity Tracked' suggests 'Receipt Authenticity Tracked'."""
    error = unknown_events(["Receipt Autheticity Tracked"], KNOWN, where="metrics file")
    assert isinstance(error, UnknownEventsError)
    assert error.suggestions == {"Receipt Autheticity Tracked": ["Receipt Authenticity Tracked"]}
    assert error.where == "metrics file"
    assert "did you mean 'Receipt Authenticity Tracked'?" in str(error)
    assert str(error) == (
        "unknown Mixpanel event in metrics file: 'Receipt Autheticity Tracked' "
        "(did you mean 'Receipt Authenticity Tracked'?)"
    )


@pytest.mark.parametrize(
    ("wanted", "expected"),
    [
        (["Sign Up", "App Opened"], None),
        (["*", "Sign Up"], None),
        ([], None),
        (["Sign Up", "Voucher Redeemed"], {"Voucher Redeemed": []}),
        (["sign up"], {"sign up": ["Sign Up"]}),
        (["Sign Upp", "Sign Upp"], {"Sign Upp": ["Sign Up"]}),
    ],
    ids=["all-known", "star-is-not-an-event", "nothing-wanted", "no-close-name", "case", "repeat"],
)
def test_unknown_events_lists_each_missing_name_once_with_its_closest_names(
    wanted: list[str], expected: dict[str, list[str]] | None
) -> None:
    """None when every wanted event exists ('*' is not a name); else each missing one, once."""
    error = unknown_events(wanted, KNOWN, where="ACTIVE_USER_EVENTS")
    if expected is None:
        assert error is None
    else:
        assert error is not None
        assert error.suggestions == expected


def test_an_unknown_event_with_no_close_name_has_no_hint() -> None:
    """Without a close match the message names the event alone."""
    error = unknown_events(["Voucher Redeemed"], KNOWN, where="events parameter")
    assert error is not None
    assert str(error) == "unknown Mixpanel event in events parameter: 'Voucher Redeemed'"


# ------------------------------------------------------------------------ with_events


def test_with_events_reports_the_total_of_each_event_and_keeps_the_thresholds() -> None:
    """with_events(names) replaces the metrics by one total per event, in order."""
    base = parse_metrics({"metric": [SIGNUPS], "thresholds": {"top_events": 8}})
    config = base.with_events(["Receipt Uploaded", "App Opened"])
    assert config == MetricsConfig(
        (
            MetricSpec(
                "event:Receipt Uploaded",
                "Receipt Uploaded",
                ":small_blue_diamond:",
                ("Receipt Uploaded",),
                Measure.TOTAL,
                True,
            ),
            MetricSpec(
                "event:App Opened",
                "App Opened",
                ":small_blue_diamond:",
                ("App Opened",),
                Measure.TOTAL,
                True,
            ),
        ),
        Thresholds(top_events=8),
    )
    assert config.named_events == ("Receipt Uploaded", "App Opened")
    assert ANY_EVENT not in config.named_events


# ------------------------------------------ broken values are named problems, not tracebacks

SAMPLE_REPORTS = Path(__file__).parents[2] / "devtools" / "sample_reports.toml"
TWO_METRICS = [SIGNUPS, {"key": "rate", "label": "Rate", "formula": "new_signups / 2"}]


@pytest.mark.parametrize(
    ("raw", "problem"),
    [
        (
            {"metric": [{**SIGNUPS, "measure": []}]},
            "f.toml: metric 'new_signups' measure must be one of 'total', 'unique', 'sum', "
            "'average', 'formula', got []",
        ),
        (
            {
                "metric": [SIGNUPS],
                "report": [
                    {
                        "name": "r",
                        "cadence": ["daily"],
                        "metrics": ["new_signups"],
                        "destination": "SLACK_WEBHOOK_R",
                    }
                ],
            },
            "f.toml: report 'r' cadence must be one of daily, weekly, biweekly, monthly, "
            "got ['daily']",
        ),
        (
            {
                "metric": [
                    SIGNUPS,
                    {"key": "f", "label": "F", "formula": "-" * 3000 + "new_signups"},
                ]
            },
            "f.toml: metric 'f': formula is 3,011 characters long; at most 500 allowed",
        ),
        (
            {"metric": [SIGNUPS, {"key": "f", "label": "F", "formula": "+".join(["a"] * 20_000)}]},
            "f.toml: metric 'f': formula is 39,999 characters long; at most 500 allowed",
        ),
        (
            {"metric": [SIGNUPS, {"key": "f", "label": "F", "formula": "-" * 60 + "new_signups"}]},
            f"f.toml: metric 'f': formula {'-' * 60 + 'new_signups'!r} nests more than 50 "
            "operations deep",
        ),
        (
            {"metric": [SIGNUPS, {"key": "f", "label": "F", "formula": "new_signups * 1e999"}]},
            "f.toml: metric 'f': formula 'new_signups * 1e999': a number may be at most "
            "1,000,000,000,000",
        ),
    ],
    ids=[
        "measure-a-list",
        "cadence-a-list",
        "3000-unary-minuses",
        "20000-terms",
        "nested-60-deep",
        "infinite-constant",
    ],
)
def test_a_value_of_the_wrong_shape_is_a_problem_naming_file_report_and_key(
    raw: dict[str, Any], problem: str
) -> None:
    """Lists where text belongs and formulas too long or deep are named problems, no traceback."""
    assert _problems(raw, source="f.toml") == [problem]


@pytest.mark.parametrize(
    ("threshold", "value"),
    [
        ("in_line_band", float("nan")),
        ("in_line_band", float("inf")),
        ("steady_min_daily", float("-inf")),
        ("min_abs_change", 10**20),
    ],
    ids=["nan", "inf", "minus-inf", "huge-int"],
)
def test_a_threshold_is_a_finite_number_in_range(threshold: str, value: float) -> None:
    """nan or inf in [thresholds] would make every comparison false: refused by name."""
    assert _problems({"metric": [SIGNUPS], "thresholds": {threshold: value}}, "f.toml") == [
        f"f.toml: threshold {threshold} must be a finite number from 0 to 1,000,000,000"
    ]


@pytest.mark.parametrize(
    ("field", "text"),
    [("label", "Sign\u202eups"), ("key", "sign\u200bups"), ("emoji", ":new:\u2066")],
    ids=["label-rtl-override", "key-zero-width-space", "emoji-isolate"],
)
def test_an_invisible_format_character_in_a_metric_name_is_refused(field: str, text: str) -> None:
    """A label, key or emoji hiding a Cf character is named; what is shown is what is used."""
    problems = _problems({"metric": [{**SIGNUPS, field: text}]}, "f.toml")
    assert len(problems) == 1
    assert "contains an invisible Unicode format character (U+" in problems[0]
    assert problems[0].startswith("f.toml: metric ")


def test_a_report_title_with_an_invisible_format_character_is_refused() -> None:
    """A [[report]] title hiding U+202E names the file, the report and the key."""
    raw = {
        "metric": [SIGNUPS],
        "report": [
            {"name": "r", "title": "Growth\u202e", "cadence": "daily",
             "metrics": ["new_signups"], "destination": "SLACK_WEBHOOK_R"}
        ],
    }  # fmt: skip
    assert _problems(raw, "f.toml") == [
        "f.toml: report 'r' title contains an invisible Unicode format character "
        "(U+202E RIGHT-TO-LEFT OVERRIDE)"
    ]


def test_a_zero_width_joiner_in_an_emoji_label_is_text_not_a_trick() -> None:
    """U+200D joins emoji sequences (and shapes Indic words): a label may hold it."""
    config = parse_metrics(
        {"metric": [{**SIGNUPS, "label": "Families \U0001f468\u200d\U0001f469"}]}
    )
    assert config.metrics[0].label == "Families \U0001f468\u200d\U0001f469"


# -- fuzz: a mutated valid file is a list of problems, never another exception

_SCALARS = (
    st.text(max_size=12)
    | st.integers(min_value=-(2**63), max_value=2**63 - 1)
    | st.floats(allow_nan=True, allow_infinity=True)
    | st.booleans()
    | st.dates()
    | st.datetimes()
)
_VALUES = st.recursive(
    _SCALARS,
    lambda inner: (
        st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=8), inner, max_size=3)
    ),
    max_leaves=6,
)


def _paths(node: object, prefix: tuple[object, ...] = ()) -> list[tuple[object, ...]]:
    found = [prefix] if prefix else []
    if isinstance(node, dict):
        for key, value in node.items():
            found += _paths(value, (*prefix, key))
    elif isinstance(node, list):
        for index, value in enumerate(node):
            found += _paths(value, (*prefix, index))
    return found


def _mutated(raw: dict[str, Any], path: tuple[object, ...], value: object, drop: bool) -> Any:
    copy = json_copy(raw)
    parent: Any = copy
    for step in path[:-1]:
        parent = parent[step]
    if drop and isinstance(parent, dict):
        del parent[path[-1]]
    else:
        parent[path[-1]] = value
    return copy


def json_copy(node: Any) -> Any:
    if isinstance(node, dict):
        return {k: json_copy(v) for k, v in node.items()}
    if isinstance(node, list):
        return [json_copy(v) for v in node]
    return node


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data())
def test_a_mutated_metrics_file_is_a_config_error_never_a_traceback(data: st.DataObject) -> None:
    """Values of the sample reports file replaced or dropped: a config, or MetricsFileError."""
    raw = tomllib.loads(SAMPLE_REPORTS.read_text(encoding="utf-8"))
    paths = _paths(raw)
    mutations = data.draw(st.integers(min_value=1, max_value=3))
    for _ in range(mutations):
        path = data.draw(st.sampled_from(paths))
        try:
            raw = _mutated(raw, path, data.draw(_VALUES), data.draw(st.booleans()))
        except (KeyError, IndexError, TypeError):  # an earlier mutation removed the path
            continue
    problems: list[str] = []
    try:
        parse_metrics(raw, source="f.toml")
    except MetricsFileError as exc:
        problems = exc.problems
        assert problems, "a MetricsFileError names at least one problem"
    assert all(isinstance(p, str) and p for p in problems)


@settings(max_examples=200, deadline=None)
@given(
    cut=st.integers(min_value=0, max_value=4000),
    insert=st.text(alphabet="[]{}=\"',.\n #-0123456789abcinfnan", max_size=8),
)
def test_a_mutated_metrics_file_text_is_a_metrics_file_error_never_a_traceback(
    tmp_path_factory: pytest.TempPathFactory, cut: int, insert: str
) -> None:
    """Characters inserted anywhere in the file's text: it loads, or MetricsFileError says why."""
    text = SAMPLE_REPORTS.read_text(encoding="utf-8")
    cut = cut % (len(text) + 1)
    path = tmp_path_factory.mktemp("fuzz") / "m.toml"
    path.write_text(text[:cut] + insert + text[cut:], encoding="utf-8")
    problems = ["loaded"]
    try:
        load_metrics(path)
    except MetricsFileError as exc:
        problems = exc.problems
    assert problems


def test_a_defined_but_broken_metric_is_reported_once_not_as_undefined_everywhere() -> None:
    """The broken metric's own problem alone: no 'not defined' (with a wrong did-you-mean) in
    each report and formula that uses it."""
    raw = {
        "metric": [
            SIGNUPS,
            {"key": "new_signups_ios", "label": "iOS", "events": ["Sign Up"], "measure": "median"},
            {"key": "share", "label": "Share", "formula": "new_signups_ios / new_signups"},
        ],
        "report": [
            {"name": name, "cadence": "daily", "metrics": ["new_signups", "new_signups_ios"],
             "destination": "SLACK_WEBHOOK_GROWTH"}
            for name in ("growth", "exec")
        ],
    }  # fmt: skip
    assert _problems(raw, "f.toml") == [
        "f.toml: metric 'new_signups_ios' measure must be one of 'total', 'unique', 'sum', "
        "'average', 'formula', got 'median'"
    ]


def test_a_report_naming_a_truly_undefined_metric_still_gets_a_did_you_mean() -> None:
    """The follow-on rule keeps the real 'not defined' problem, with its suggestion."""
    raw = {
        "metric": [SIGNUPS],
        "report": [
            {"name": "growth", "cadence": "daily", "metrics": ["new_signup"],
             "destination": "SLACK_WEBHOOK_GROWTH"}
        ],
    }  # fmt: skip
    assert _problems(raw, "f.toml") == [
        "f.toml: report 'growth': metric 'new_signup' is not defined (did you mean 'new_signups'?)"
    ]
