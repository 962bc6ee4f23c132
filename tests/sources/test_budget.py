"""The shared Mixpanel call budget: the pure rules, the stores, and the client's one hook."""

from __future__ import annotations

import logging
from collections.abc import Callable
from contextlib import ExitStack
from datetime import date, datetime
from typing import Any
from zoneinfo import ZoneInfo

import pytest
import requests
import responses

from shared.errors import MixpanelBudgetSpent, MixpanelRateLimited
from shared.report.metrics import load_metrics
from shared.retry import RetryPolicy
from shared.settings import DEFAULT_METRICS_FILE, Secret
from shared.sources.budget import (
    MIXPANEL_LIMITS,
    Api,
    ApiLimits,
    BudgetRules,
    BudgetState,
    CallBudget,
    Granted,
    Lease,
    MemoryBudgetStore,
    Priority,
    Spent,
    TableBudgetStore,
    Wait,
    admit,
    release,
    reserve_applies,
    scheduled_reserve,
    shortfall,
)
from shared.sources.mixpanel_client import MixpanelClient
from shared.sources.state_table import StateTable, StateUnavailable
from tests.standin_client import standin_client

LONDON = ZoneInfo("Europe/London")
NOON = datetime(2026, 12, 7, 12, 0, tzinfo=LONDON).timestamp()  # far from REPORT_HOUR 9
RULES = BudgetRules(reserve={Api.QUERY: 8, Api.EXPORT: 24}, report_hour=9, timezone=LONDON)
WINDOW = RULES.window_seconds
PROJECT = ("https://mixpanel.com/api/query", "4242")


def at(hour: int, minute: int = 0) -> float:
    """Epoch seconds of a London wall-clock time on 2026-12-07."""
    return datetime(2026, 12, 7, hour, minute, tzinfo=LONDON).timestamp()


def calls(n: int, *, first: float, step: float = 10.0) -> tuple[float, ...]:
    return tuple(first + i * step for i in range(n))


def decide(
    state: BudgetState,
    *,
    api: Api = Api.QUERY,
    priority: Priority = Priority.ON_DEMAND,
    now: float = NOON,
    rules: BudgetRules = RULES,
) -> tuple[BudgetState, Any]:
    return admit(state, api=api, priority=priority, now=now, rules=rules, lease_id="mine")


# -- the pure rules ------------------------------------------------------------------------------


def test_a_call_with_room_is_granted_counted_and_holds_a_slot():
    """Granted: the call's stamp and a lease (for the concurrency limit) join the record."""
    state, decision = decide(BudgetState())
    assert decision == Granted("mine")
    assert state == BudgetState((NOON,), (Lease("mine", NOON + 120.0),))


def test_the_61st_query_call_of_a_sliding_hour_is_refused_until_the_oldest_leaves():
    """60 calls in the window: refused; Retry-After is when the oldest stops counting."""
    made = calls(60, first=NOON - 3000)
    state, decision = decide(BudgetState(made))
    assert decision == Spent(retry_after=made[0] + WINDOW - NOON, allowed=60)
    assert state.calls == made  # nothing new counted


def test_a_call_counts_for_an_hour_and_two_minutes_then_no_longer():
    """The window is 62 minutes: a call 61 minutes old still counts, one 63 minutes old does not."""
    still = (NOON - 61 * 60, *calls(59, first=NOON - 600))
    assert isinstance(decide(BudgetState(still))[1], Spent)
    gone = (NOON - 63 * 60, *calls(59, first=NOON - 600))
    assert decide(BudgetState(gone))[1] == Granted("mine")


@pytest.mark.parametrize(
    ("now", "priority", "made", "granted"),
    [
        (at(8, 30), Priority.ON_DEMAND, 51, True),
        (at(8, 30), Priority.ON_DEMAND, 52, False),
        (at(8, 30), Priority.SCHEDULED, 59, True),
        (at(9, 5), Priority.ON_DEMAND, 52, False),
        (NOON, Priority.ON_DEMAND, 59, True),
    ],
    ids=[
        "on-demand-before-9-up-to-limit-minus-reserve",
        "on-demand-before-9-not-into-the-reserve",
        "scheduled-spends-the-reserve",
        "on-demand-in-the-report-hour-not-into-the-reserve",
        "on-demand-at-noon-gets-all-60",
    ],
)
def test_on_demand_calls_leave_the_reserve_to_the_scheduled_reports(
    now: float, priority: Priority, made: int, granted: bool
):
    """Around REPORT_HOUR on-demand requests stop 8 calls short of 60; timers may use them."""
    state = BudgetState(calls(made, first=now - 1800, step=1))
    decision = decide(state, priority=priority, now=now)[1]
    assert isinstance(decision, Granted) is granted


@pytest.mark.parametrize(
    ("hour", "minute", "applies"),
    [(7, 57, False), (7, 59, True), (9, 0, True), (9, 59, True), (10, 0, False), (0, 0, False)],
    ids=["07:57", "07:59", "09:00", "09:59", "10:00", "midnight"],
)
def test_the_reserve_holds_from_one_window_before_report_hour_to_an_hour_after(
    hour: int, minute: int, applies: bool
):
    """A call made 62 minutes before 09:00 or later would still count at 09:00."""
    assert reserve_applies(at(hour, minute), RULES) is applies


def test_the_reserve_is_at_most_half_of_the_hour(mixpanel_limits: None):
    """A reserve larger than half the limit keeps only half: on-demand always has some."""
    rules = BudgetRules(reserve={Api.QUERY: 500}, report_hour=9, timezone=LONDON)
    assert rules.reserved(Api.QUERY) == 30
    assert rules.allowed(Api.QUERY, Priority.ON_DEMAND, at(9)) == 30


def test_a_call_waits_while_every_concurrent_slot_is_held():
    """5 live Query API leases: wait until the soonest expires; expired leases do not count."""
    held = tuple(Lease(f"l{i}", NOON + 30 + i) for i in range(5))
    assert decide(BudgetState((), held))[1] == Wait(30.0, "all 5 concurrent calls in use")
    stale = (*held[:4], Lease("dead", NOON - 1))
    assert decide(BudgetState((), stale))[1] == Granted("mine")


def test_export_calls_keep_to_three_a_second_and_query_calls_have_no_such_limit():
    """Three export stamps in the last 1.5 s: the fourth waits until the first leaves."""
    recent = (NOON - 1.0, NOON - 0.5, NOON - 0.2)
    assert decide(BudgetState(recent), api=Api.EXPORT)[1] == Wait(0.5, "3 calls a second")
    assert decide(BudgetState(recent), api=Api.QUERY)[1] == Granted("mine")


def test_release_frees_the_slot_and_an_unknown_lease_changes_nothing():
    """A finished call's lease goes; its stamp stays for the hour."""
    state = BudgetState((NOON,), (Lease("a", NOON + 9), Lease("b", NOON + 9)))
    assert release(state, "a") == BudgetState((NOON,), (Lease("b", NOON + 9),))
    assert release(state, "zzz") is None


def test_a_report_needing_more_calls_than_are_left_is_refused_with_when_enough_free():
    """2 calls left, 3 needed: Spent until the oldest one leaves the window."""
    made = calls(58, first=NOON - 3000)

    def short(needed: int) -> Spent | None:
        return shortfall(
            BudgetState(made),
            api=Api.QUERY,
            priority=Priority.ON_DEMAND,
            now=NOON,
            needed=needed,
            rules=RULES,
        )

    assert short(3) == Spent(retry_after=made[0] + WINDOW - NOON, allowed=60)
    assert short(2) is None


def test_the_stored_record_reads_back_and_garbage_is_never_read_as_no_calls():
    """A round trip keeps stamps and leases; an unreadable row raises instead of granting."""
    state = BudgetState((NOON - 5, NOON), (Lease("x", NOON + 120),))
    assert BudgetState.from_json(state.to_json()) == state
    for bad in ("", "{}", '{"calls": 3, "leases": []}', None):
        with pytest.raises((ValueError, KeyError, TypeError)):
            BudgetState.from_json(bad)


def test_the_reserve_of_the_default_metrics_is_what_their_scheduled_runs_cost():
    """Daily, weekly and bi-weekly runs at 2 Query API calls each, plus an alert check's 2;
    each one export that may split into 8 ranges: 8 and 24 calls."""
    config = load_metrics(DEFAULT_METRICS_FILE)
    assert scheduled_reserve(config, today=date(2026, 12, 7)) == {Api.QUERY: 8, Api.EXPORT: 24}
    with_export_alerts = scheduled_reserve(config, today=date(2026, 12, 7), alert_source="export")
    assert with_export_alerts == {Api.QUERY: 7, Api.EXPORT: 25}


# -- the budget a client spends --------------------------------------------------------------------


class Clock:
    """A fake clock whose sleep advances it (and can run a hook, e.g. end another call)."""

    def __init__(self, now: float = NOON) -> None:
        self.now = now
        self.slept: list[float] = []
        self.on_sleep: Callable[[], None] | None = None

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.slept.append(seconds)
        self.now += seconds
        if self.on_sleep is not None:
            self.on_sleep()


def spend(budget: CallBudget) -> None:
    """One on-demand Query API call that must be refused before it runs."""
    with budget.call(PROJECT, Api.QUERY, Priority.ON_DEMAND, endpoint="/events"):
        pytest.fail("the call must not run")


def small_rules(**query: Any) -> BudgetRules:
    limits = {Api.QUERY: ApiLimits(**{"per_hour": 3, "concurrent": 2, **query}),
              Api.EXPORT: MIXPANEL_LIMITS[Api.EXPORT]}  # fmt: skip
    return BudgetRules(limits=limits, report_hour=9, timezone=LONDON)


def test_calls_beyond_the_hour_are_refused_before_they_leave_with_our_own_message():
    """The 4th call of a 3-an-hour budget raises MixpanelBudgetSpent (a MixpanelRateLimited)."""
    clock = Clock()
    budget = CallBudget(MemoryBudgetStore(), small_rules(), clock=clock, sleep=clock.sleep)
    for _ in range(3):
        with budget.call(PROJECT, Api.QUERY, Priority.ON_DEMAND, endpoint="/events"):
            clock.now += 60
    with pytest.raises(MixpanelBudgetSpent) as refused:
        spend(budget)
    assert isinstance(refused.value, MixpanelRateLimited)
    assert refused.value.retry_after == pytest.approx(WINDOW - 180)
    assert "shared budget of 3 Query API calls an hour" in refused.value.reason
    assert "not sent to Mixpanel" in str(refused.value)


def test_a_call_waits_for_a_slot_another_call_frees():
    """Both slots held; the third call polls until one of them ends, then goes out."""
    clock = Clock()
    budget = CallBudget(MemoryBudgetStore(), small_rules(), clock=clock, sleep=clock.sleep)
    holders = ExitStack()
    for _ in range(2):
        holders.enter_context(budget.call(PROJECT, Api.QUERY, Priority.ON_DEMAND, endpoint="/e"))
    clock.on_sleep = holders.close
    with budget.call(PROJECT, Api.QUERY, Priority.ON_DEMAND, endpoint="/e"):
        pass
    assert clock.slept == [0.25]


def test_a_slot_held_longer_than_the_wait_limit_refuses_the_call():
    """Slots never free within 30 s: MixpanelBudgetSpent, saying what was full."""
    clock = Clock()
    budget = CallBudget(
        MemoryBudgetStore(), small_rules(per_hour=60), clock=clock, sleep=clock.sleep
    )
    with ExitStack() as holders:
        for _ in range(2):
            holders.enter_context(
                budget.call(PROJECT, Api.QUERY, Priority.ON_DEMAND, endpoint="/e")
            )
        with pytest.raises(MixpanelBudgetSpent, match="all 2 concurrent calls in use"):
            spend(budget)
    assert sum(clock.slept) <= 30


class BrokenStore:
    """A store whose storage is down."""

    def update(self, project: Any, api: Any, change: Any) -> Any:
        raise StateUnavailable("Mixpanel state table read failed (ServiceRequestError)")


def test_storage_failure_counts_in_this_process_and_says_so(caplog: pytest.LogCaptureFixture):
    """Storage down: the process's own record still enforces the same rules; a warning logs it."""
    clock = Clock()
    fallback = MemoryBudgetStore()
    budget = CallBudget(
        BrokenStore(), small_rules(), fallback=fallback, clock=clock, sleep=clock.sleep
    )
    with caplog.at_level(logging.WARNING, logger="analytics_reporter"):
        for _ in range(3):
            with budget.call(PROJECT, Api.QUERY, Priority.ON_DEMAND, endpoint="/e"):
                pass
        with pytest.raises(MixpanelBudgetSpent):
            budget.ensure_room(PROJECT, {Api.QUERY: 1}, Priority.ON_DEMAND, endpoint="/e")
    assert "counting this instance's Mixpanel calls on their own" in caplog.text


# -- the hook in MixpanelClient -------------------------------------------------------------------


def client(budget: CallBudget, **kwargs: Any) -> MixpanelClient:
    return MixpanelClient(
        query_base="https://mixpanel.com/api/query",
        export_url="https://data.mixpanel.com/api/2.0/export",
        username="svc",
        secret=Secret("budget-test-secret"),
        project_id="4242",
        session=requests.Session(),
        call_budget=budget,
        sleep=lambda _s: None,
        **kwargs,
    )


def test_the_client_spends_one_call_per_attempt_and_is_refused_before_sending():
    """A 429 then 200 costs 2 of 3 calls; the next question's 2nd call is refused unsent."""
    clock = Clock()
    budget = CallBudget(MemoryBudgetStore(), small_rules(), clock=clock, sleep=clock.sleep)
    with responses.RequestsMock() as http:
        names = "https://mixpanel.com/api/query/events/names"
        http.get(names, status=429, headers={"Retry-After": "0"}, json={"error": "limit"})
        http.get(names, json=["Sign Up"])
        mp = client(budget, policy=RetryPolicy(max_attempts=3))
        assert mp.event_names() == ["Sign Up"]
        http.get(names, json=["Sign Up"])
        assert mp.event_names() == ["Sign Up"]
        with pytest.raises(MixpanelBudgetSpent):
            mp.event_names()
        assert len(http.calls) == 3


def test_export_calls_spend_the_export_budget_not_the_query_budget():
    """A spent Query API hour leaves the export's 60 untouched."""
    clock = Clock()
    budget = CallBudget(MemoryBudgetStore(), small_rules(), clock=clock, sleep=clock.sleep)
    for _ in range(3):
        with budget.call(client(budget).project_key, Api.QUERY, Priority.ON_DEMAND, endpoint="/"):
            pass
    with responses.RequestsMock() as http:
        http.get("https://data.mixpanel.com/api/2.0/export", body="")
        assert client(budget).export_accepts_credentials(date(2026, 12, 6))
        with pytest.raises(MixpanelBudgetSpent):
            client(budget).event_names()
        assert len(http.calls) == 1


# -- in Table storage (Azurite) -------------------------------------------------------------------


@pytest.fixture
def state_table_name() -> str:
    import uuid

    return f"budget{uuid.uuid4().hex[:20]}"


@pytest.mark.azurite
def test_two_instances_count_one_budget_in_table_storage(
    azurite_connection_string: str, state_table_name: str
):
    """Two stores on separate table clients: three calls between them, then both refuse."""
    clock = Clock()
    budgets = [
        CallBudget(
            TableBudgetStore(StateTable(azurite_connection_string, table_name=state_table_name)),
            small_rules(),
            fallback=BrokenStore(),  # storage must work here: no silent fallback
            clock=clock,
            sleep=clock.sleep,
        )
        for _ in range(2)
    ]
    for budget in (budgets[0], budgets[1], budgets[0]):
        with budget.call(PROJECT, Api.QUERY, Priority.ON_DEMAND, endpoint="/e"):
            clock.now += 1
    for budget in budgets:
        with pytest.raises(MixpanelBudgetSpent):
            spend(budget)


@pytest.mark.azurite
def test_a_lost_etag_race_reads_again_and_counts_both_calls(
    azurite_connection_string: str, state_table_name: str
):
    """Another instance writes between our read and our write: 412, re-read, both counted."""
    mine = TableBudgetStore(
        StateTable(azurite_connection_string, table_name=state_table_name), sleep=lambda _s: None
    )
    theirs = TableBudgetStore(StateTable(azurite_connection_string, table_name=state_table_name))
    theirs.update(PROJECT, Api.QUERY, lambda s: (BudgetState((NOON - 5,)), None))
    interfered = []

    def change(state: BudgetState) -> tuple[BudgetState, int]:
        if not interfered:  # the other instance's call lands after our read
            interfered.append(True)
            theirs.update(PROJECT, Api.QUERY, lambda s: (BudgetState((*s.calls, NOON - 1)), None))
        return BudgetState((*state.calls, NOON)), len(state.calls)

    seen = mine.update(PROJECT, Api.QUERY, change)
    assert seen == 2  # the re-applied change saw both earlier calls
    assert mine.conflicts == 1
    final = mine.update(PROJECT, Api.QUERY, lambda s: (None, s))
    assert final.calls == (NOON - 5, NOON - 1, NOON)


# -- CustomReport at the limit (no storage: this process's budget) ---------------------------------


def test_custom_report_answers_429_before_calling_mixpanel_when_the_hour_is_spent(
    stack: Any, mixpanel_limits: None
):
    """The process's Query API hour is full: 429, Retry-After, our reason; Mixpanel sees nothing."""
    from shared.jobs.custom_report import handle_custom_report
    from shared.sources.budget import PROCESS_BUDGET_STORE

    project = (f"{stack.env['MIXPANEL_API_URL']}/api/query", stack.env["MIXPANEL_PROJECT_ID"])
    now = datetime.now(LONDON).timestamp()
    PROCESS_BUDGET_STORE.update(
        project, Api.QUERY, lambda s: (BudgetState(calls(60, first=now - 600, step=1)), None)
    )
    answer = handle_custom_report(
        "GET", {"period": "weekly", "send_slack": "false"}, b"", environ=stack.env
    )
    assert answer.status == 429
    assert 3000 < int(answer.headers["Retry-After"]) <= 3720 - 600 + 1
    error = answer.json()["error"]
    assert error["code"] == "mixpanel_rate_limited"
    assert "shared budget" in error["message"]
    assert stack.mixpanel.requests == []


def test_timers_build_scheduled_clients_and_requests_on_demand_ones(stack: Any):
    """App.mixpanel() is on-demand unless a timer asks for the scheduled runs' reserve."""
    from shared.root import App

    app = App.from_environ(stack.env)
    assert app.mixpanel()._priority is Priority.ON_DEMAND
    assert app.mixpanel(Priority.SCHEDULED)._priority is Priority.SCHEDULED
    today = datetime.now(LONDON).date()
    assert app.call_budget().rules.reserve == scheduled_reserve(app.ctx.config, today=today)


def test_a_scheduled_report_whose_export_is_refused_says_the_shared_budget_is_spent(
    sample_events: Any,
):
    """Totals come; the export's hour is spent: unique figures read unavailable, with our reason,
    and the stand-in never sees an export request."""
    from devtools.mixpanel_standin import MixpanelStandIn
    from shared.pipeline import ReportContext, produce_report
    from shared.schedule.periods import PeriodKind, report_period

    limits = {Api.QUERY: MIXPANEL_LIMITS[Api.QUERY], Api.EXPORT: ApiLimits(0, 100, 3)}
    budget = CallBudget(MemoryBudgetStore(), BudgetRules(limits=limits))
    config = load_metrics(DEFAULT_METRICS_FILE)
    now = datetime.now(LONDON)
    with MixpanelStandIn(sample_events, username="svc", secret="s3cret-x", project_id="9") as mp:
        mixpanel = standin_client(
            mp.origin,
            username="svc",
            secret="s3cret-x",
            project_id="9",
            session=requests.Session(),
            call_budget=budget,
            priority=Priority.SCHEDULED,
        )
        report = produce_report(
            report_period(PeriodKind.WEEKLY, now.date()),
            ReportContext(config, "Acme", LONDON, "https://x"),
            mixpanel=mixpanel,
            now=now,
        )
        paths = [r.path for r in mp.requests]
    active = next(m for m in report.metrics if m.spec.key == "active_users")
    assert active.value is None
    assert "shared budget of Mixpanel calls is spent" in str(active.unavailable)
    assert any(m.value is not None for m in report.metrics)  # the totals came
    assert not any("export" in p for p in paths)
    assert isinstance(mixpanel.budget_refusal, MixpanelBudgetSpent)
