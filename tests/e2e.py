"""Loopback stand-ins and environment for end-to-end tests of the function entry points."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from types import SimpleNamespace
from zoneinfo import ZoneInfo

import pytest

from devtools.mixpanel_standin import MixpanelStandIn
from devtools.sample_data import SAMPLE_TIMEZONE, sample_project
from devtools.slack_standin import SlackStandIn
from shared.delivery.chart_fallback import PROCESS_CHART_MEMORY
from shared.sources.mixpanel_client import PROCESS_NAMES_CACHE

# Recognisable fake secrets: a test scans everything that came out for them.
MIXPANEL_SECRET = "MPSECRET-e2e-7c1f0d9a"
WEBHOOK_TOKEN = "WEBHOOKSECRET-e2e-42af"
FUNCTION_KEY = "FUNCKEY-e2e-0b5e"
USERNAME = "svc.e2e"
PROJECT_ID = "777777"
LONDON = ZoneInfo(SAMPLE_TIMEZONE)


class Invocation:
    """What the timers read of func.Context (abstract in azure.functions): the retry counters.

    retry_count=None leaves retry_context out, as a host that does not say would.
    """

    def __init__(self, retry_count: int | None = 0, max_retry_count: int = 3) -> None:
        self.invocation_id = "e2e-invocation"
        self.retry_context = (
            None
            if retry_count is None
            else SimpleNamespace(retry_count=retry_count, max_retry_count=max_retry_count)
        )


def yesterday() -> datetime:
    return datetime.now(UTC).astimezone(LONDON) - timedelta(days=1)


@dataclass
class Stack:
    """The running stand-ins and the environment that points the app at them."""

    mixpanel: MixpanelStandIn
    slack: SlackStandIn
    env: dict[str, str]


@pytest.fixture(scope="session")
def sample_events():
    """A small deterministic project: 70 days up to yesterday, 300 users."""
    return sample_project(end=yesterday().date(), days=70, users=300)


@pytest.fixture
def stack(sample_events, monkeypatch: pytest.MonkeyPatch) -> Iterator[Stack]:
    """Fresh Mixpanel and Slack stand-ins, with os.environ pointing the functions at them."""
    mixpanel = MixpanelStandIn(
        sample_events, username=USERNAME, secret=MIXPANEL_SECRET, project_id=PROJECT_ID
    )
    slack = SlackStandIn(path=f"/services/T0E2E/B0E2E/{WEBHOOK_TOKEN}")
    env = {
        "MIXPANEL_USERNAME": USERNAME,
        "MIXPANEL_SECRET": MIXPANEL_SECRET,
        "MIXPANEL_PROJECT_ID": PROJECT_ID,
        "MIXPANEL_REGION": "eu",
        "MIXPANEL_API_URL": mixpanel.start(),
        "SLACK_WEBHOOK_URL": slack.start(),
        "COMPANY_NAME": "Acme",
        "TIMEZONE": SAMPLE_TIMEZONE,
        "REPORT_BUDGET_SECONDS": "20",
    }
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    monkeypatch.delenv("AzureWebJobsStorage", raising=False)
    for name in ("SMTP_HOST", "EMAIL_TO", "SMTP_SENDER", "SMTP_USERNAME", "SMTP_PASSWORD"):
        monkeypatch.delenv(name, raising=False)  # email only where a test turns it on
    # A new stand-in may reuse an old one's port: its names must not come from the cache.
    PROCESS_NAMES_CACHE.clear()
    PROCESS_CHART_MEMORY.clear()
    try:
        yield Stack(mixpanel, slack, env)
    finally:
        mixpanel.stop()
        slack.stop()
