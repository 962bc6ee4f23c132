"""End to end (issue 23): events anyone can send, in the project's data, against the loopback
stand-ins and the real function entry points. One receipt of amount 1e308 and one of 10**309
(exact JSON integers) per day, and busy events named with a right-to-left override and with
markdown, a URL and @here. The on-demand report answers 200 in strict JSON and posts; the
scheduled report posts the report, not a failure notice; Slack gets no live link, mention,
formatting or hidden character from a name, and nothing shows Infinity or NaN.
"""

from __future__ import annotations

import json
import re
import unicodedata
from datetime import datetime, time, timedelta
from pathlib import Path
from typing import Any

import azure.functions as func
import pytest
from azure.functions.timer import TimerRequest

import CustomReport
import WeeklyReport
from devtools.sample_data import RawEvent, sample_project
from devtools.slack_standin import live_markup, slack_rejection
from shared.schedule.periods import PeriodKind
from shared.schedule.slots import ScheduleRules, latest_slot
from tests.e2e import LONDON, Invocation, Stack, yesterday

RLO_NAME = "Refund \u202e1,234"
MARKUP_NAME = "*PAYROLL* _update_ https://evil.example/x @here"
METRICS = """
[[metric]]
key = "receipts"
label = "Receipts"
emoji = ":receipt:"
events = ["Receipt Uploaded"]

[[metric]]
key = "basket"
label = "Basket value"
emoji = ":moneybag:"
events = ["Receipt Uploaded"]
measure = "sum"
property = "amount"
unit = "currency"
currency = "GBP"

[[metric]]
key = "average_basket"
label = "Average basket"
events = ["Receipt Uploaded"]
measure = "average"
property = "amount"
unit = "currency"
currency = "GBP"

[[metric]]
key = "big_baskets"
label = "Big baskets"
events = ["Receipt Uploaded"]
where = [{ property = "amount", gte = 50 }]

[[metric]]
key = "per_receipt"
label = "Basket per receipt"
formula = "basket / receipts"
unit = "currency"
currency = "GBP"
"""
INF_OR_NAN = re.compile(r"\b(inf|infinity|nan)\b", re.IGNORECASE)


def hostile_events() -> list[RawEvent]:
    """Every day of the last 21: two huge receipts and the hostile names, many times each."""
    events = []
    end = yesterday().date()
    for back in range(21):
        day = end - timedelta(days=back)
        noon = int(datetime.combine(day, time(12), LONDON).timestamp())
        for n, amount in enumerate((1e308, 10**309)):
            events.append(
                RawEvent("Receipt Uploaded", f"evil-{n}", noon + n, f"huge-{day}-{n}",
                         (("amount", amount),))
            )  # fmt: skip
        for name, times in ((RLO_NAME, 60), (MARKUP_NAME, 50)):
            events += [
                RawEvent(name, f"evil-{i}", noon + 10 + i, f"{name}-{day}-{i}")
                for i in range(times)
            ]
    return events


@pytest.fixture(scope="module")
def sample_events() -> list[RawEvent]:
    """The e2e sample project plus the hostile events (the sample data itself is unchanged)."""
    events = sample_project(end=yesterday().date(), days=70, users=300) + hostile_events()
    return sorted(events, key=lambda e: e.time)


@pytest.fixture
def hostile_stack(stack: Stack, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Stack:
    """The stand-ins serving the hostile data, the app reading sums, averages and a formula."""
    metrics = tmp_path / "metrics.toml"
    metrics.write_text(METRICS, encoding="utf-8")
    monkeypatch.setenv("METRICS_FILE", str(metrics))
    return stack


def strict_json(raw: bytes | str) -> Any:
    """JSON as strict parsers read it: NaN and Infinity are errors."""

    def refuse(name: str) -> None:
        raise ValueError(f"{name} is not JSON")

    return json.loads(raw, parse_constant=refuse)


def hidden(text: str) -> list[str]:
    return sorted({f"U+{ord(c):04X}" for c in text if unicodedata.category(c) == "Cf"})


def get(**params: str) -> func.HttpResponse:
    request = func.HttpRequest(
        method="GET", url="/api/CustomReport", params={"code": "k", **params}, body=b""
    )
    return CustomReport.main(request)


def assert_safe_slack_post(post: dict[str, Any]) -> None:
    """Accepted by Slack, no live link but Mixpanel's, no mention, only the renderer's bold,
    no hidden character and no Infinity or NaN anywhere in what is posted."""
    assert slack_rejection(post) is None
    markup = live_markup(post)
    assert all(link.startswith("https://eu.mixpanel.com/") for link in markup.links), markup
    assert markup.mentions == []
    assert {kind for kind, _ in markup.formatted} <= {"bold"}
    assert not any("PAYROLL" in run or "update" in run for _, run in markup.formatted)
    posted = json.dumps(post, ensure_ascii=False)
    assert hidden(posted) == []
    assert "evil.example" not in posted
    assert "evil[.]example" in posted  # the name is shown, defanged
    assert not INF_OR_NAN.search(posted)


def test_an_on_demand_report_with_huge_values_and_hostile_names_answers_and_posts(
    hostile_stack: Stack,
) -> None:
    """200 in strict JSON: sum and average unavailable with the data-quality line naming
    amount, the filter and count exact; one post that shows every name literally."""
    response = get(period="weekly", send_slack="true")
    assert response.status_code == 200, response.get_body()[:500]
    data = strict_json(response.get_body())
    metrics = {m["key"]: m for m in data["report"]["metrics"]}
    for key in ("basket", "average_basket", "per_receipt"):
        assert metrics[key]["available"] is False, key
        assert metrics[key]["value"] is None
    assert metrics["receipts"]["value"] > 0
    assert metrics["big_baskets"]["value"] >= 14  # the huge receipts are >= 50, exactly
    assert any("amount has values (or a total) beyond" in w for w in data["report"]["warnings"])
    assert data["slack"]["posted"] is True
    [post] = accepted_posts(hostile_stack)
    assert_safe_slack_post(post)


def accepted_posts(stack: Stack) -> list[dict[str, Any]]:
    assert stack.slack.rejections == []
    return stack.slack.posts


def test_the_text_preview_shows_the_names_literally_and_no_infinity(hostile_stack: Stack) -> None:
    """format=text: the terminal digest has no hidden character, no live URL, no 'inf'."""
    response = get(period="weekly", send_slack="false", format="text")
    assert response.status_code == 200
    text = response.get_body().decode()
    assert hidden(text) == []
    assert "evil.example" not in text
    assert "Refund \ufffd1,234" in text
    assert not INF_OR_NAN.search(text)


@pytest.mark.azurite
def test_the_scheduled_report_posts_the_report_not_a_failure_notice(
    hostile_stack: Stack, azurite_ledger: str
) -> None:
    """The weekly timer at its slot: one post, the report itself, as safe as the on-demand one."""
    slot = latest_slot(PeriodKind.WEEKLY, datetime.now(LONDON), ScheduleRules(LONDON))
    assert slot is not None
    WeeklyReport.main(
        TimerRequest(past_due=False, schedule_status={"Next": slot.isoformat()}), Invocation()
    )
    [post] = accepted_posts(hostile_stack)
    assert "failed" not in post["text"]
    assert "Basket value unavailable" in post["text"]
    assert_safe_slack_post(post)
