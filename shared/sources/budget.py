"""One Mixpanel call budget per project, shared by every instance of the app.

Mixpanel's limits are per project (Query API: 60 an hour, 5 at once; Raw Export API: 60 an
hour, 3 a second, 100 at once), but Azure runs the app on many instances. Each call is admitted
against one shared record before it is sent: a sliding log of the calls of the last hour (plus a
margin) and the leases of the calls in flight. The record lives in Table storage (every
instance sees it) or, without storage, in this process. When the hour is spent the call is
refused with MixpanelBudgetSpent before it reaches Mixpanel; a full set of concurrent slots or
the per-second pace is waited for (briefly). Outside the scheduled reports' hour on-demand calls
may use every call; around it a reserve is kept for the scheduled runs. See
docs/mixpanel-budget.md.
"""

from __future__ import annotations

import json
import logging
import math
import threading
import time
import uuid
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from datetime import date, datetime, timedelta
from datetime import time as clock_time
from enum import StrEnum
from typing import TYPE_CHECKING, Any, Protocol, TypeVar
from zoneinfo import ZoneInfo

from shared.errors import MixpanelBudgetSpent
from shared.sources.state_table import StateTable, StateUnavailable, project_partition

if TYPE_CHECKING:
    from shared.report.metrics import MetricsConfig

log = logging.getLogger("analytics_reporter")
R = TypeVar("R")
Project = tuple[str, str]  # (query API base, project id): MixpanelClient.project_key

HOUR_SECONDS = 3600.0
# A call is stamped before it is sent and reaches Mixpanel a little later (connection set-up,
# instances' clocks a second apart): counting each call for 62 minutes keeps every 60-minute
# window Mixpanel sees within the limit (docs/mixpanel-budget.md, "Why a sliding log").
WINDOW_MARGIN_SECONDS = 120.0
# The per-second limit is counted over 1.5 s of stamps: some slack for arrival jitter.
SECOND_WINDOW_SECONDS = 1.5
# The longest a call waits for a free concurrent slot (or the per-second pace) before it is
# refused; slots are released as calls end, so it is polled this often.
MAX_WAIT_SECONDS = 30.0
POLL_SECONDS = 0.25


class Api(StrEnum):
    """Which of Mixpanel's two budgets a call spends."""

    QUERY = "query"
    EXPORT = "export"

    @property
    def label(self) -> str:
        """The API's name in messages."""
        return "Query API" if self is Api.QUERY else "Raw Export API"


class Priority(StrEnum):
    """Scheduled runs may spend the reserve; on-demand requests may not."""

    SCHEDULED = "scheduled"
    ON_DEMAND = "on-demand"


@dataclass(frozen=True, slots=True)
class ApiLimits:
    """One API's limits per project; `lease_seconds` frees the slot of a call that crashed."""

    per_hour: int
    concurrent: int
    per_second: int | None = None
    lease_seconds: float = 120.0


# Mixpanel's published limits (reference/rate-limits.mdx): per project, for every caller.
MIXPANEL_LIMITS: Mapping[Api, ApiLimits] = {
    Api.QUERY: ApiLimits(per_hour=60, concurrent=5, lease_seconds=120.0),
    # An export streams for minutes: its slot is held longer if its instance dies.
    Api.EXPORT: ApiLimits(per_hour=60, concurrent=100, per_second=3, lease_seconds=900.0),
}


@dataclass(frozen=True, slots=True)
class BudgetRules:
    """The limits, the reserve kept for scheduled runs, and when that reserve holds."""

    limits: Mapping[Api, ApiLimits] = field(default_factory=lambda: dict(MIXPANEL_LIMITS))
    reserve: Mapping[Api, int] = field(default_factory=dict)
    report_hour: int = 9
    timezone: ZoneInfo = field(default_factory=lambda: ZoneInfo("UTC"))
    margin_seconds: float = WINDOW_MARGIN_SECONDS

    @property
    def window_seconds(self) -> float:
        """How long a call counts against the hourly limit."""
        return HOUR_SECONDS + self.margin_seconds

    def allowed(self, api: Api, priority: Priority, now: float) -> int:
        """How many calls of the window `priority` may have made for one more to go out."""
        limit = self.limits[api].per_hour
        if priority is Priority.ON_DEMAND and reserve_applies(now, self):
            limit -= self.reserved(api)
        return limit

    def reserved(self, api: Api) -> int:
        """Calls kept for scheduled runs around REPORT_HOUR: at most half of the hour's."""
        return max(min(self.reserve.get(api, 0), self.limits[api].per_hour // 2), 0)


def reserve_applies(now: float, rules: BudgetRules) -> bool:
    """Whether `now` (epoch seconds) is within one window before REPORT_HOUR or in that hour.

    A call counts for one window, so on-demand calls made from REPORT_HOUR minus one window
    onwards would still count when the scheduled reports run: from then until an hour after
    REPORT_HOUR, on-demand requests leave the reserve alone.
    """
    local = datetime.fromtimestamp(now, rules.timezone)
    for day in (local.date() - timedelta(days=1), local.date(), local.date() + timedelta(days=1)):
        at = datetime.combine(day, clock_time(rules.report_hour), rules.timezone).timestamp()
        if at - rules.window_seconds <= now < at + HOUR_SECONDS:
            return True
    return False


# -- the shared record and the pure rules over it ----------------------------------------------


@dataclass(frozen=True, slots=True)
class Lease:
    """A call in flight: it holds a concurrent slot until released or `expires`."""

    id: str
    expires: float


@dataclass(frozen=True, slots=True)
class BudgetState:
    """One API's record for one project: call stamps (epoch seconds, sorted) and leases."""

    calls: tuple[float, ...] = ()
    leases: tuple[Lease, ...] = ()

    def to_json(self) -> str:
        """The record as stored (stamps to the millisecond)."""
        return json.dumps(
            {
                "calls": [round(t, 3) for t in self.calls],
                "leases": [[lease.id, round(lease.expires, 3)] for lease in self.leases],
            },
            separators=(",", ":"),
        )

    @classmethod
    def from_json(cls, text: object) -> BudgetState:
        """A stored record; anything unreadable raises ValueError (never read as 'no calls')."""
        if not isinstance(text, str):
            raise ValueError("the budget record is not text")
        data: Any = json.loads(text)
        calls = data["calls"]
        leases = data["leases"]
        if not isinstance(calls, list) or not isinstance(leases, list):
            raise ValueError("the budget record's calls and leases must be lists")
        return cls(
            tuple(sorted(float(t) for t in calls)),
            tuple(Lease(str(i), float(e)) for i, e in leases),
        )


@dataclass(frozen=True, slots=True)
class Granted:
    """The call may go out now; release `lease` when it ends."""

    lease: str


@dataclass(frozen=True, slots=True)
class Wait:
    """The call must wait `seconds` (a concurrent slot, or the per-second pace)."""

    seconds: float
    why: str


@dataclass(frozen=True, slots=True)
class Spent:
    """The hour's calls are spent for this priority: the next frees in `retry_after` seconds."""

    retry_after: float
    allowed: int


Decision = Granted | Wait | Spent


def current(state: BudgetState, now: float, rules: BudgetRules) -> BudgetState:
    """`state` without the calls that left the window and the leases that expired."""
    start = now - rules.window_seconds
    return BudgetState(
        tuple(sorted(t for t in state.calls if t > start)),
        tuple(lease for lease in state.leases if lease.expires > now),
    )


def admit(
    state: BudgetState,
    *,
    api: Api,
    priority: Priority,
    now: float,
    rules: BudgetRules,
    lease_id: str,
) -> tuple[BudgetState, Decision]:
    """Whether one more call may go out now, and the record with it counted if it may."""
    limits = rules.limits[api]
    live = current(state, now, rules)
    allowed = rules.allowed(api, priority, now)
    if len(live.calls) >= allowed:
        return live, Spent(_frees_in(live.calls, allowed, 1, now, rules), allowed)
    if len(live.leases) >= limits.concurrent:
        soonest = min(lease.expires for lease in live.leases)
        return live, Wait(soonest - now, f"all {limits.concurrent} concurrent calls in use")
    if limits.per_second is not None:
        recent = [t for t in live.calls if t > now - SECOND_WINDOW_SECONDS]
        if len(recent) >= limits.per_second:
            until = recent[-limits.per_second] + SECOND_WINDOW_SECONDS - now
            return live, Wait(until, f"{limits.per_second} calls a second")
    counted = BudgetState(
        (*live.calls, now),
        (*live.leases, Lease(lease_id, now + limits.lease_seconds)),
    )
    return counted, Granted(lease_id)


def release(state: BudgetState, lease_id: str) -> BudgetState | None:
    """`state` with the lease freed (None when it is not there: expired or never written)."""
    kept = tuple(lease for lease in state.leases if lease.id != lease_id)
    return None if len(kept) == len(state.leases) else replace(state, leases=kept)


def shortfall(
    state: BudgetState,
    *,
    api: Api,
    priority: Priority,
    now: float,
    needed: int,
    rules: BudgetRules,
) -> Spent | None:
    """Spent (and when enough calls free up) if fewer than `needed` calls are left this hour."""
    live = current(state, now, rules)
    allowed = rules.allowed(api, priority, now)
    needed = min(needed, allowed) if allowed else needed  # a bigger run is refused call by call
    free = allowed - len(live.calls)
    if free >= needed:
        return None
    return Spent(_frees_in(live.calls, allowed, needed, now, rules), allowed)


def _frees_in(
    calls: tuple[float, ...], allowed: int, needed: int, now: float, rules: BudgetRules
) -> float:
    """Seconds until the window holds at most `allowed - needed` calls (at least 1)."""
    expire = len(calls) - allowed + needed  # how many of the oldest calls must leave
    if expire <= 0:
        return 1.0
    if expire > len(calls):
        return rules.window_seconds
    return max(calls[expire - 1] + rules.window_seconds - now, 1.0)


# -- where the record lives ---------------------------------------------------------------------


class BudgetStore(Protocol):
    """Read-modify-write of one project's record for one API, atomic across its users."""

    def update(
        self,
        project: Project,
        api: Api,
        change: Callable[[BudgetState], tuple[BudgetState | None, R]],
    ) -> R:
        """Apply `change` (new record or None to keep it, and a result) atomically."""
        ...


class MemoryBudgetStore:
    """The record in this process: the budget without storage, and the fallback when it fails."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._states: dict[tuple[Project, Api], BudgetState] = {}

    def update(
        self,
        project: Project,
        api: Api,
        change: Callable[[BudgetState], tuple[BudgetState | None, R]],
    ) -> R:
        """Apply `change` under this process's lock."""
        with self._lock:
            new, result = change(self._states.get((project, api), BudgetState()))
            if new is not None:
                self._states[(project, api)] = new
            return result

    def clear(self) -> None:
        """Forget every record (tests start afresh)."""
        with self._lock:
            self._states.clear()


PROCESS_BUDGET_STORE = MemoryBudgetStore()


class TableBudgetStore:
    """The record in Azure Table storage: read, change, write only if nobody wrote since (etag).

    A lost race (HTTP 412, or 409 when two instances create the row) reads again and re-applies
    the change, up to `attempts` times with a short jittered pause.
    """

    def __init__(
        self,
        table: StateTable,
        *,
        attempts: int = 60,
        sleep: Callable[[float], None] = time.sleep,
        jitter: Callable[[], float] | None = None,
    ) -> None:
        import random

        self._table = table
        self._attempts = attempts
        self._sleep = sleep
        self._jitter = jitter or random.random
        self.conflicts = 0  # lost races, for tests and the bench

    def update(
        self,
        project: Project,
        api: Api,
        change: Callable[[BudgetState], tuple[BudgetState | None, R]],
    ) -> R:
        """Apply `change` with an etag-conditional write; StateUnavailable if storage fails."""
        from azure.core import MatchConditions
        from azure.core.exceptions import (
            ResourceExistsError,
            ResourceModifiedError,
            ResourceNotFoundError,
        )
        from azure.data.tables import TableClient, UpdateMode

        pk, rk = project_partition(project), f"budget-{api}"

        def read(client: TableClient) -> Any:
            try:
                return client.get_entity(pk, rk)
            except ResourceNotFoundError:
                return None

        for attempt in range(self._attempts):
            row = self._table.call("read", read)
            try:
                state = BudgetState.from_json(row["state"]) if row is not None else BudgetState()
            except (ValueError, KeyError, TypeError, IndexError):
                raise StateUnavailable("the Mixpanel budget row is unreadable") from None
            new, result = change(state)
            if new is None:
                return result
            entity = {"PartitionKey": pk, "RowKey": rk, "state": new.to_json()}

            def write(client: TableClient, row: Any = row, entity: Any = entity) -> bool:
                try:
                    if row is None:
                        client.create_entity(entity)
                    else:
                        client.update_entity(
                            entity,
                            mode=UpdateMode.REPLACE,
                            etag=row.metadata["etag"],
                            match_condition=MatchConditions.IfNotModified,
                        )
                except (ResourceExistsError, ResourceModifiedError, ResourceNotFoundError):
                    return False
                return True

            if self._table.call("write", write):
                return result
            self.conflicts += 1
            self._sleep(self._jitter() * min(0.02 * (attempt + 1), 0.25))
        raise StateUnavailable(
            f"the Mixpanel budget row kept changing under us ({self._attempts} attempts)"
        )


# -- the budget a client spends ------------------------------------------------------------------


class CallBudget:
    """Admit each Mixpanel call against the shared record; refuse it when the hour is spent."""

    def __init__(
        self,
        store: BudgetStore,
        rules: BudgetRules | None = None,
        *,
        fallback: BudgetStore = PROCESS_BUDGET_STORE,
        clock: Callable[[], float] = time.time,  # epoch seconds: comparable across instances
        sleep: Callable[[float], None] = time.sleep,
        max_wait_seconds: float = MAX_WAIT_SECONDS,
    ) -> None:
        self._store = store
        self.rules = rules or BudgetRules()
        self._fallback = fallback
        self._clock = clock
        self._sleep = sleep
        self._max_wait = max_wait_seconds

    @contextmanager
    def call(
        self, project: Project, api: Api, priority: Priority, *, endpoint: str
    ) -> Iterator[None]:
        """Hold one admitted call for the `with` block; MixpanelBudgetSpent if there is none."""
        store, lease = self._acquire(project, api, priority, endpoint)
        try:
            yield
        finally:
            self._release(store, project, api, lease)

    def ensure_room(
        self, project: Project, needs: Mapping[Api, int], priority: Priority, *, endpoint: str
    ) -> None:
        """Raise MixpanelBudgetSpent unless `needs` calls of each API are left this hour."""
        for api, needed in needs.items():
            if needed <= 0:
                continue

            def check(state: BudgetState, api: Api = api, needed: int = needed) -> Any:
                return None, shortfall(
                    state,
                    api=api,
                    priority=priority,
                    now=self._clock(),
                    needed=needed,
                    rules=self.rules,
                )

            spent = self._on_store(project, api, check)[1]
            if isinstance(spent, Spent):
                raise self._spent(api, priority, spent, endpoint, needed=needed)

    def _on_store(
        self, project: Project, api: Api, change: Callable[[BudgetState], tuple[Any, R]]
    ) -> tuple[BudgetStore, R]:
        """Run `change` on the shared store, or on this process's when storage fails."""
        try:
            return self._store, self._store.update(project, api, change)
        except StateUnavailable as exc:
            if self._store is self._fallback:
                raise
            log.warning("%s: counting this instance's Mixpanel calls on their own", exc)
            return self._fallback, self._fallback.update(project, api, change)

    def _acquire(
        self, project: Project, api: Api, priority: Priority, endpoint: str
    ) -> tuple[BudgetStore, str]:
        lease = uuid.uuid4().hex
        waited = 0.0

        def change(state: BudgetState) -> tuple[BudgetState | None, Decision]:
            new, decision = admit(
                state,
                api=api,
                priority=priority,
                now=self._clock(),
                rules=self.rules,
                lease_id=lease,
            )
            return (new if isinstance(decision, Granted) else None), decision

        while True:
            store, decision = self._on_store(project, api, change)
            if isinstance(decision, Granted):
                return store, lease
            if isinstance(decision, Spent):
                raise self._spent(api, priority, decision, endpoint)
            pause = max(decision.seconds, 0.01)
            if decision.why.endswith("in use"):  # a slot frees when a call ends: poll for it
                pause = min(pause, POLL_SECONDS)
            if waited + pause > self._max_wait:
                raise MixpanelBudgetSpent(
                    f"{decision.why} for {math.ceil(waited)} s across every instance of the "
                    f"reporter ({api.label}); this request was not sent to Mixpanel",
                    endpoint=endpoint,
                    retry_after=max(min(decision.seconds, 60.0), 1.0),
                )
            self._sleep(pause)
            waited += pause

    def _release(self, store: BudgetStore, project: Project, api: Api, lease: str) -> None:
        try:
            store.update(project, api, lambda state: (release(state, lease), None))
        except StateUnavailable as exc:
            log.warning("%s: the call's slot frees itself when its lease expires", exc)

    def _spent(
        self, api: Api, priority: Priority, spent: Spent, endpoint: str, *, needed: int = 1
    ) -> MixpanelBudgetSpent:
        reserved = self.rules.limits[api].per_hour - spent.allowed
        kept = (
            f", {reserved} more kept for the scheduled reports at {self.rules.report_hour:02d}:00"
            if reserved
            else ""
        )
        asked = f" ({needed} needed)" if needed > 1 else ""
        return MixpanelBudgetSpent(
            f"the reporter's shared budget of {spent.allowed} {api.label} calls an hour for "
            f"this project is spent{asked} ({priority} requests{kept}; counted across every "
            f"instance, under Mixpanel's limit of {self.rules.limits[api].per_hour}); this "
            f"request was not sent to Mixpanel; calls free up in {math.ceil(spent.retry_after)} s",
            endpoint=endpoint,
            retry_after=spent.retry_after,
        )


# -- composition -----------------------------------------------------------------------------------


def scheduled_reserve(
    config: MetricsConfig, *, today: date, alert_source: str = "query"
) -> dict[Api, int]:
    """Calls per API the scheduled runs of one busy morning take (BudgetRules keeps at most half
    of the hour's for them).

    Every [[report]] (or, without them, the single report's daily, weekly and bi-weekly runs)
    as if all fell on one morning, each at what shared/report/cost.py states plus the 7 extra
    day ranges a large export may be split into, and one alert check.
    """
    from shared.report.cost import request_cost
    from shared.schedule.periods import PeriodKind, report_period
    from shared.sources.gathering import DEFAULT_EXPORT_MAX_RANGES

    kinds = (PeriodKind.DAILY, PeriodKind.WEEKLY, PeriodKind.BIWEEKLY)
    runs = [(config.report(spec.name), spec.cadence) for spec in config.reports] or [
        (config, kind) for kind in kinds
    ]
    query, export = (2, 0) if alert_source == "query" else (1, 1)  # an alert check at :15
    for metrics, kind in runs:
        cost = request_cost(metrics, report_period(kind, today), today=today)
        query += int(cost["query_api"])
        if cost["export_api"]:
            export += int(cost["export_api"]) + DEFAULT_EXPORT_MAX_RANGES - 1
    return {Api.QUERY: query, Api.EXPORT: export}
