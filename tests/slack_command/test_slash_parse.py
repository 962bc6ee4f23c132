"""The command's form and words: CustomReport's rules for periods, reports and date ranges."""

from __future__ import annotations

from datetime import date
from urllib.parse import urlencode

import pytest

from shared.schedule.periods import PeriodKind, custom_period, report_period
from shared.settings import Secret
from shared.slack_command.parse import (
    BadForm,
    CommandForm,
    Help,
    NotUnderstood,
    ReportAsk,
    Status,
    parse_command,
    parse_form,
    refusal,
    response_url_ok,
)

TODAY = date(2026, 11, 25)
REPORTS = {"growth": PeriodKind.WEEKLY, "Finance": PeriodKind.MONTHLY}
FORM = {
    "token": "deprecated",
    "team_id": "T0001",
    "team_domain": "acme",
    "channel_id": "C0001",
    "channel_name": "general",
    "user_id": "U0001",
    "command": "/analytics",
    "text": "weekly",
    "response_url": "https://hooks.slack.com/commands/T0001/123/abc",
    "trigger_id": "1.2.3",
}


def body(**changes: str | None) -> bytes:
    fields = {k: v for k, v in {**FORM, **changes}.items() if v is not None}
    return urlencode(fields).encode()


def test_a_slack_form_gives_the_fields_the_command_needs():
    """Team, channel, user, command, words and the response_url (kept as a Secret)."""
    form = parse_form(body())
    assert (form.team_id, form.channel_id, form.user_id, form.command, form.text) == (
        "T0001",
        "C0001",
        "U0001",
        "/analytics",
        "weekly",
    )
    assert form.response_url.reveal() == FORM["response_url"]
    assert "hooks" not in repr(form)


def test_the_identity_is_the_same_for_the_same_response_url_and_differs_otherwise():
    """Retries and replays of one command share its response_url, so its identity."""
    one, again = parse_form(body()), parse_form(body(text="daily"))
    other = parse_form(body(response_url="https://hooks.slack.com/commands/T0001/124/abd"))
    assert one.identity == again.identity != other.identity
    assert FORM["response_url"] not in one.identity


@pytest.mark.parametrize(
    ("raw", "reason"),
    [
        (body(team_id=None), "missing team_id"),
        (body(response_url=""), "missing response_url"),
        (body() + b"&team_id=T0002", "field 'team_id' given twice"),
        (
            body(response_url="https://evil.example/commands/x"),
            "response_url is not a Slack hooks URL",
        ),
        (
            body(response_url="http://hooks.slack.com/commands/x"),
            "response_url is not a Slack hooks URL",
        ),
        (b"\xff=1", "body is not a UTF-8 form"),
        (body(text="x" * 501), "text too long or holds NUL"),
        (b"a=" + b"x" * 20000, "body larger than 16384 bytes"),
    ],
    ids=[
        "no team",
        "empty response_url",
        "repeated field",
        "foreign host",
        "plain http",
        "not UTF-8",
        "long text",
        "huge body",
    ],
)
def test_a_form_slack_would_not_send_is_refused(raw, reason):
    """Missing, repeated or odd fields raise BadForm with the reason."""
    with pytest.raises(BadForm) as caught:
        parse_form(raw)
    assert str(caught.value) == reason


@pytest.mark.parametrize(
    ("url", "ok"),
    [
        ("https://hooks.slack.com/commands/T1/2/3", True),
        ("https://hooks.slack-gov.com/commands/T1/2/3", True),
        ("http://127.0.0.1:8123/commands/T1/2/3", True),
        ("http://localhost/commands/x", True),
        ("https://hooks.slack.com.evil.example/x", False),
        ("https://user@evil.example/x", False),
        ("ftp://hooks.slack.com/x", False),
        ("https://hooks.slack.com:0/x", False),
        ("https://hooks.slack.com/a b", False),
        ("https://[::1", False),
    ],
)
def test_a_response_url_must_point_at_slack_or_the_loopback(url, ok):
    """The worker posts only to Slack's hooks host (or a local stand-in)."""
    assert response_url_ok(url) is ok


def form(team: str = "T0001", channel: str = "C0001") -> CommandForm:
    return CommandForm(team, channel, "U1", "/analytics", "", Secret("https://hooks.slack.com/x"))


@pytest.mark.parametrize(
    ("sent", "channels", "refused"),
    [
        (form(), None, None),
        (form(), frozenset({"C0001", "C0002"}), None),
        (form(team="T0002"), None, "Sorry, this reporter only answers its own Slack workspace."),
        (
            form(channel="C0003"),
            frozenset({"C0001"}),
            "Sorry, reports are not available in this channel. "
            "Ask in one of the channels the reporter is set up for.",
        ),
    ],
    ids=["own team", "allowed channel", "other team", "other channel"],
)
def test_only_the_team_and_its_allowed_channels_are_answered(sent, channels, refused):
    """SLACK_TEAM_ID and SLACK_COMMAND_CHANNELS: anyone else gets a polite no."""
    assert refusal(sent, team_id="T0001", channels=channels) == refused


@pytest.mark.parametrize(
    ("text", "command"),
    [
        ("", Help()),
        ("help", Help()),
        ("  HELP ", Help()),
        ("status", Status()),
        ("weekly", ReportAsk(report_period(PeriodKind.WEEKLY, TODAY), None, share=False)),
        ("Daily share", ReportAsk(report_period(PeriodKind.DAILY, TODAY), None, share=True)),
        ("share monthly", ReportAsk(report_period(PeriodKind.MONTHLY, TODAY), None, share=True)),
        ("growth", ReportAsk(report_period(PeriodKind.WEEKLY, TODAY), "growth", share=False)),
        ("finance", ReportAsk(report_period(PeriodKind.MONTHLY, TODAY), "Finance", share=False)),
        ("growth daily", ReportAsk(report_period(PeriodKind.DAILY, TODAY), "growth", share=False)),
        (
            "2026-11-01 2026-11-22",
            ReportAsk(custom_period(date(2026, 11, 1), date(2026, 11, 22)), None, share=False),
        ),
        (
            "growth 2026-11-01 2026-11-22 share",
            ReportAsk(custom_period(date(2026, 11, 1), date(2026, 11, 22)), "growth", share=True),
        ),
    ],
)
def test_the_words_mean_what_customreport_parameters_mean(text, command):
    """Periods, report names (any case) and date ranges become the same ReportPeriod."""
    assert parse_command(text, today=TODAY, reports=REPORTS) == command


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        (
            "weekyl",
            "I don't know `weekyl`. Did you mean `weekly`, `biweekly`? Try `/analytics help`.",
        ),
        ("revenue", "I don't know `revenue`. Try `/analytics help`."),
        ("weekly daily", "Give one period or one report at a time."),
        ("status weekly", "`status` goes alone: `/analytics status`."),
        ("2026-11-01", "I don't know `2026-11-01`. Try `/analytics help`."),
        ("2026-11-01 2026-11-31", "The second date is not a real calendar date."),
        ("2026-11-22 2026-11-01", "The second date must be on or after the first date."),
        (
            "2026-11-01 2026-11-25",
            "The second date must be yesterday (2026-11-24) or earlier: reports cover whole days.",
        ),
        (
            "weekly 2026-11-01 2026-11-02",
            "Period cannot be combined with the first date/the second date; "
            "a date range is its own period.",
        ),
        ("a`b<c>" + "x" * 60, "I don't know `a'b<c>" + "x" * 34 + "…`. Try `/analytics help`."),
    ],
    ids=[
        "typo",
        "unknown",
        "two periods",
        "status with more",
        "one date",
        "not a date",
        "reversed",
        "today",
        "period and range",
        "hostile word",
    ],
)
def test_words_it_does_not_take_get_one_line_saying_why(text, reason):
    """Unknown words (with did-you-mean) and CustomReport's own date rules, in words."""
    assert parse_command(text, today=TODAY, reports=REPORTS) == NotUnderstood(reason)
