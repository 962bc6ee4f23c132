"""The strict stand-in enforces every data_visualization rule, and can refuse charts outright."""

from __future__ import annotations

import copy
import json
from collections.abc import Callable, Iterator
from typing import Any

import pytest
import requests

from devtools.slack_standin import DEFAULT_BOT_TOKEN, SlackStandIn, explain_slack_rejection

Chart = dict[str, Any]


def chart(series: int = 2, points: int = 3) -> Chart:
    categories = [f"Day {i}" for i in range(points)]
    return {
        "type": "data_visualization",
        "title": "Daily trend vs previous week",
        "chart": {
            "type": "line",
            "series": [
                {
                    "name": f"S{n}",
                    "data": [{"label": c, "value": n + i} for i, c in enumerate(categories)],
                }
                for n in range(series)
            ],
            "axis_config": {"categories": categories, "x_label": "Day"},
        },
    }


def verdict(*blocks: Chart) -> str | None:
    return explain_slack_rejection({"text": "t", "blocks": list(blocks)})


def changed(edit: Callable[[Chart], None], base: Chart | None = None) -> Chart:
    block = copy.deepcopy(base or chart())
    edit(block)
    return block


def test_a_valid_chart_and_two_per_message_are_accepted_but_not_three() -> None:
    """At most 2 data_visualization blocks per message."""
    assert verdict(chart()) is None
    assert verdict(chart(), chart()) is None
    assert verdict(chart(), chart(), chart()) == (
        "invalid_blocks: the message has 3 data_visualization blocks; MAX_CHARTS is 2"
    )


@pytest.mark.parametrize(
    ("block", "problem"),
    [
        (chart(series=6), None),
        (chart(series=7), "chart.series must hold 1 to 6 series"),
        (chart(series=0), "chart.series must hold 1 to 6 series"),
        (chart(points=20), None),
        (chart(points=21), "categories must hold 1 to 20"),
        (changed(lambda b: b.update(title="t" * 50)), None),
        (changed(lambda b: b.update(title="t" * 51)), "title has 51 characters"),
        (changed(lambda b: b.update(title={"type": "plain_text", "text": "x"})), "plain string"),
        (changed(lambda b: b["chart"].update(type="scatter")), "chart.type must be one of"),
        (
            changed(lambda b: b["chart"]["series"][0].update(name="n" * 21)),
            "series[0].name has 21 characters",
        ),
        (
            changed(lambda b: b["chart"]["series"][1].update(name="S0")),
            "series names repeat",
        ),
        (
            changed(lambda b: b["chart"]["series"][0]["data"][0].update(value="12")),
            "must be a number",
        ),
        (
            changed(lambda b: b["chart"]["series"][0]["data"][0].update(value=True)),
            "must be a number",
        ),
        (
            changed(lambda b: b["chart"]["series"][0]["data"].reverse()),
            "do not match the categories",
        ),
        (changed(lambda b: b["chart"]["series"][0]["data"].pop()), "do not match the categories"),
        (
            changed(lambda b: b["chart"]["axis_config"]["categories"].__setitem__(1, "Day 0")),
            "categories repeat a label",
        ),
        (
            changed(lambda b: b["chart"]["axis_config"].update(x_label="x" * 51)),
            "x_label has 51 characters",
        ),
        (changed(lambda b: b["chart"].pop("axis_config")), "axis_config is required"),
    ],
    ids=[
        "6-series",
        "7-series",
        "0-series",
        "20-points",
        "21-points",
        "title-50",
        "title-51",
        "title-object",
        "unknown-type",
        "name-21",
        "duplicate-names",
        "string-value",
        "bool-value",
        "wrong-order",
        "missing-point",
        "duplicate-category",
        "x-label-51",
        "no-axis",
    ],
)
def test_each_chart_rule_and_its_boundary(block: Chart, problem: str | None) -> None:
    """Every rule Slack documents for the block, with the pair on each side of a limit."""
    answer = verdict(block)
    if problem is None:
        assert answer is None
    else:
        assert answer is not None
        assert answer.startswith("invalid_blocks: ")
        assert problem in answer


@pytest.fixture
def standin() -> Iterator[SlackStandIn]:
    stand = SlackStandIn()
    stand.start()
    try:
        yield stand
    finally:
        stand.stop()


def test_a_chart_refusing_stand_in_answers_invalid_blocks_only_to_charts(
    standin: SlackStandIn,
) -> None:
    """As a webhook that does not take the block might: 400 invalid_blocks; text still posts."""
    standin.refuse_charts = True
    with requests.Session() as http:
        refused = http.post(standin.url, json={"text": "t", "blocks": [chart()]}, timeout=5)
        plain = http.post(standin.url, json={"text": "t"}, timeout=5)
    assert (refused.status_code, refused.text) == (400, "invalid_blocks")
    assert (plain.status_code, plain.text) == (200, "ok")
    assert standin.posts == [{"text": "t"}]


@pytest.mark.parametrize("refusal", [(500, ""), (400, "")], ids=["500-empty", "400-empty"])
def test_a_chart_refusing_webhook_can_answer_as_webhooks_refused_the_markdown_block(
    standin: SlackStandIn, refusal: tuple[int, str]
) -> None:
    """HTTP 500 (or 400) with an empty body and no word about blocks, to charted posts only."""
    standin.refuse_charts = True
    standin.chart_refusal = refusal
    with requests.Session() as http:
        refused = http.post(standin.url, json={"text": "t", "blocks": [chart()]}, timeout=5)
        plain = http.post(standin.url, json={"text": "t"}, timeout=5)
    assert (refused.status_code, refused.text) == refusal
    assert (plain.status_code, plain.text) == (200, "ok")
    assert standin.rejections == [refusal]
    assert standin.posts == [{"text": "t"}]


def test_chat_post_message_answers_like_the_web_api(standin: SlackStandIn) -> None:
    """HTTP 200 always: ok true with channel and ts, or ok false with the error."""
    api = f"{standin.api_url}/api/chat.postMessage"
    good = {"Authorization": f"Bearer {DEFAULT_BOT_TOKEN}"}
    message = {"channel": "C1", "text": "t", "blocks": [chart()]}
    with requests.Session() as http:
        ok = http.post(api, json=message, headers=good, timeout=5)
        unauthed = http.post(api, json=message, timeout=5)
        wrong = http.post(api, json=message, headers={"Authorization": "Bearer xoxb-no"}, timeout=5)
        bad = http.post(api, json={**message, "blocks": [chart(series=7)]}, headers=good, timeout=5)
        standin.refuse_charts = True
        refused = http.post(api, json=message, headers=good, timeout=5)
    assert ok.status_code == 200
    assert ok.json() == {"ok": True, "channel": "C1", "ts": "1.000100"}
    assert ok.headers["Content-Type"].startswith("application/json")
    for answer, error in (
        (unauthed, "not_authed"),
        (wrong, "invalid_auth"),
        (bad, "invalid_blocks"),
        (refused, "invalid_blocks"),
    ):
        assert (answer.status_code, answer.json()) == (200, {"ok": False, "error": error})
    assert [json.dumps(p, sort_keys=True) for p in standin.posts] == [
        json.dumps(message, sort_keys=True)
    ]
