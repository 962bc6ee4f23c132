"""A deterministic, realistic sample Mixpanel project for demos, stand-ins and tests."""

import gc
import hashlib
import random
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from itertools import accumulate
from operator import itemgetter
from zoneinfo import ZoneInfo

SAMPLE_TIMEZONE = "Europe/London"

METRIC_EVENTS = (
    "Sign Up",
    "User Onboarded",
    "Receipt Uploaded",
    "PlanetPoints Added",
    "Voucher Redeemed",
)
OTHER_EVENTS = (
    "Email Sent",
    "Email Skipped",
    "PlanetPoints Product Tracked",
    "Notifications Disabled",
    "Receipt Authenticity Tracked",
    "Receipt Failed",
    "Receipt Validation Failed",
    "Item Tracked",
    "SpinWheel Spun",
    "Product Viewed",
    "Referral Completed",
    "App Opened",
    "PlanetPoints Profile Enrolled",
)
AUTOMATIC_EVENTS = ("$identify", "$ae_session", "$mp_web_page_view")
# A tracking outage for the alerts (#15): on this local day `Receipt Uploaded` stops entirely
# from 10:00 to 17:00 local and then returns. Outside every other test's window.
OUTAGE_EVENT = "Receipt Uploaded"
OUTAGE_DAY = date(2026, 7, 15)
OUTAGE_HOURS = (10, 17)
ALL_EVENTS = METRIC_EVENTS + OTHER_EVENTS + AUTOMATIC_EVENTS

# Each user slot is taken over by a new sign-up every TENURE_DAYS days, so a pool of `users`
# slots yields users / TENURE_DAYS sign-ups a day (20 for 4000) on any date, for ever.
TENURE_DAYS = 200
REFERENCE_USERS = 4000
_GROWTH_ANCHOR = date(2026, 9, 1)
_GROWTH_PER_DAY = 0.0008  # about 2.4 % a month, clamped to [0.5, 1.5] of the anchor's volume
_WEEKDAY_FACTOR = (1.0, 1.03, 1.0, 0.97, 0.92, 0.7, 0.64)
# Relative share of sessions starting in each local hour (0..23).
_HOUR_WEIGHTS = (
    *(8, 4, 2, 1, 1, 2, 5, 12, 20, 22, 20, 18),  # 00:00-11:59
    *(20, 19, 17, 16, 17, 19, 22, 25, 26, 22, 16, 11),  # 12:00-23:59
)
# Sampling an index into this table is a fast weighted choice of the hour.
_HOUR_TABLE = tuple(hour for hour, weight in enumerate(_HOUR_WEIGHTS) for _ in range(weight))
_DAY_SECONDS = 86_400
_LAST_SECOND = _DAY_SECONDS - 1


@dataclass(frozen=True, slots=True)
class RawEvent:
    """One stored Mixpanel event: its name, who fired it and when (true UTC epoch seconds)."""

    name: str
    distinct_id: str
    time: int
    insert_id: str
    # Event properties as (name, value) pairs, in the order the export writes them.
    properties: tuple[tuple[str, object], ...] = ()
    # Milliseconds past `time` (0-999): Mixpanel stores ms and exports them with time_in_ms.
    ms: int = 0


@dataclass(frozen=True, slots=True)
class _Identity:
    """The user occupying a slot for one tenure."""

    distinct_id: str
    onboards_after_days: int | None  # 0 = on the sign-up day, 1 = the next day, None = never


def _hash64(text: str) -> int:
    return int.from_bytes(hashlib.blake2b(text.encode(), digest_size=8).digest(), "big")


class _Population:
    """User slots with fixed sign-up phases and engagement, derived from (seed, users) only."""

    def __init__(self, *, users: int, seed: int) -> None:
        self.users = users
        self.seed = seed
        self.phases: list[int] = []
        weights: list[float] = []
        self.by_phase: dict[int, list[int]] = {}
        for slot in range(users):
            h = _hash64(f"{seed}:slot:{slot}")
            phase = h % TENURE_DAYS
            self.phases.append(phase)
            self.by_phase.setdefault(phase, []).append(slot)
            u = ((h >> 20) & 0xFFFF) / 0x10000
            weights.append(0.15 + 3.0 * u * u)  # a few power users, a long tail of occasional ones
        self.cum_weights = list(accumulate(weights))
        self.slots = range(users)
        self._identities: dict[tuple[int, int], _Identity] = {}

    def identity(self, slot: int, ordinal: int) -> _Identity:
        """Who holds `slot` on the day with this ordinal."""
        generation = (ordinal - self.phases[slot]) // TENURE_DAYS
        key = (slot, generation)
        found = self._identities.get(key)
        if found is None:
            h = _hash64(f"{self.seed}:user:{slot}:{generation}")
            bucket = (h >> 40) % 100
            onboards = 0 if bucket < 70 else 1 if bucket < 82 else None
            found = _Identity(f"{h & 0xFFFF_FFFF_FFFF:012x}-{slot:04x}", onboards)
            self._identities[key] = found
        return found

    def joined_days_ago(self, days: int, ordinal: int) -> list[int]:
        """Slots whose current user signed up exactly `days` days before this ordinal."""
        return self.by_phase.get((ordinal - days) % TENURE_DAYS, [])


def _trend(day: date) -> float:
    return min(1.5, max(0.5, 1.0 + _GROWTH_PER_DAY * (day - _GROWTH_ANCHOR).days))


class _Day:
    """Collects (local second, event name, distinct_id) for one local day."""

    def __init__(self, rng: random.Random) -> None:
        self.rng = rng
        self.random = rng.random
        # (local clock second, which may overshoot the day and is clamped later, name, id)
        self.rows: list[tuple[int, str, str]] = []
        self.add = self.rows.append

    def below(self, n: int) -> int:
        """A pseudo-random int in [0, n); much faster than randrange, plenty good here."""
        return int(self.random() * n)

    def session_start(self) -> int:
        r = self.random
        return _HOUR_TABLE[int(r() * len(_HOUR_TABLE))] * 3600 + int(r() * 3600)


def _user_events(day: _Day, uid: str, *, signs_up: bool, onboards: bool) -> None:
    r = day.random
    below = day.below
    add = day.add
    sessions = [day.session_start() for _ in range(1 + (r() < 0.35))]
    for start in sessions:
        add((start, "App Opened", uid))
        add((start + 1 + below(4), "$ae_session", uid))
    start = sessions[0]

    def later(spread: int = 900) -> int:
        return start + 5 + below(spread)

    if signs_up:
        add((start + 2, "Sign Up", uid))
        add((start + 3, "$identify", uid))
        if r() < 0.5:
            add((later(), "PlanetPoints Profile Enrolled", uid))
    elif r() < 0.03:
        add((start + 2, "$identify", uid))
    elif r() < 0.004:
        add((later(), "PlanetPoints Profile Enrolled", uid))
    if onboards:
        add((later(600), "User Onboarded", uid))
    if r() < 0.22:
        for _ in range(1 + below(3)):
            add((later(), "$mp_web_page_view", uid))
    if r() < 0.4:
        for _ in range(1 + below(5)):
            add((later(), "Product Viewed", uid))
    if r() < 0.18:
        add((later(), "SpinWheel Spun", uid))
    if r() < 0.28:
        for _ in range(1 + (r() < 0.25)):
            uploaded = later(1800)
            add((uploaded, "Receipt Uploaded", uid))
            if r() < 0.9:
                add((uploaded + 1, "Receipt Authenticity Tracked", uid))
            outcome = r()
            if outcome < 0.07:
                add((uploaded + 4, "Receipt Failed", uid))
            elif outcome < 0.12:
                add((uploaded + 4, "Receipt Validation Failed", uid))
            else:
                for item in range(1 + below(4)):
                    add((uploaded + 5 + item, "Item Tracked", uid))
                    if r() < 0.5:
                        add((uploaded + 5 + item, "PlanetPoints Product Tracked", uid))
                if r() < 0.85:
                    add((uploaded + 20, "PlanetPoints Added", uid))
    if r() < 0.019:
        add((later(), "Voucher Redeemed", uid))
    if r() < 0.005:
        add((later(), "Referral Completed", uid))
    if r() < 0.01:
        add((later(), "Notifications Disabled", uid))


def _emails(day: _Day, pop: _Population, ordinal: int, *, volume: float) -> None:
    below = day.below
    identity = pop.identity
    add = day.add
    sent = max(0, round(day.rng.gauss(1000, 40) * volume))
    nightly, morning = sent // 20, sent * 13 // 20
    for n in range(sent):
        uid = identity(below(pop.users), ordinal).distinct_id
        if n < nightly:  # the nightly digest job starts on the stroke of local midnight
            second = below(180)
        elif n < morning:  # the morning campaign
            second = 8 * 3600 + below(1800)
        else:  # transactional mail follows user activity
            second = day.session_start()
        add((second, "Email Sent", uid))
    skipped = max(0, round(day.rng.gauss(150, 12) * volume))
    for n in range(skipped):
        uid = identity(below(pop.users), ordinal).distinct_id
        # The suppression sweep runs in the last minute of the local day.
        second = _DAY_SECONDS - 60 + below(60) if n % 3 == 0 else day.session_start()
        add((second, "Email Skipped", uid))


def _active_slots(rng: random.Random, pop: _Population, day: date) -> list[tuple[int, int]]:
    """(slot, days since sign-up) of everyone active on `day`, sign-ups first."""
    ordinal = day.toordinal()
    active: dict[int, int] = dict.fromkeys(pop.joined_days_ago(0, ordinal), 0)
    for since in range(1, 7):
        for slot in pop.joined_days_ago(since, ordinal):
            ident = pop.identity(slot, ordinal)
            late_onboarding = since == 1 and ident.onboards_after_days == 1
            if late_onboarding or rng.random() < 0.55 - 0.06 * since:
                active.setdefault(slot, since)
    scale = pop.users / REFERENCE_USERS
    regulars = round(rng.gauss(240, 12) * scale * _trend(day) * _WEEKDAY_FACTOR[day.weekday()])
    for slot in rng.choices(pop.slots, cum_weights=pop.cum_weights, k=max(0, regulars)):
        if slot not in active:
            active[slot] = (ordinal - pop.phases[slot]) % TENURE_DAYS
    return list(active.items())


def _local_midnight(day: date, tz: ZoneInfo) -> tuple[int, bool]:
    """(UTC epoch of the local midnight starting `day`, whether the clock changes that day)."""
    start = datetime.combine(day, time(), tz)
    end = datetime.combine(day + timedelta(days=1), time(), tz)
    return int(start.timestamp()), start.utcoffset() != end.utcoffset()


def _day_events(pop: _Population, day: date, tz: ZoneInfo) -> list[RawEvent]:
    rng = random.Random(f"{pop.seed}:{day.isoformat()}")
    ordinal = day.toordinal()
    collector = _Day(rng)
    for slot, since in _active_slots(rng, pop, day):
        ident = pop.identity(slot, ordinal)
        _user_events(
            collector,
            ident.distinct_id,
            signs_up=since == 0,
            onboards=ident.onboards_after_days == since,
        )
    volume = pop.users / REFERENCE_USERS * _trend(day) * (0.8 if day.weekday() >= 5 else 1.0)
    _emails(collector, pop, ordinal, volume=volume)

    midnight, clock_changes = _local_midnight(day, tz)
    rows = collector.rows
    if day == OUTAGE_DAY:
        first, end = (hour * 3600 for hour in OUTAGE_HOURS)
        rows = [r for r in rows if not (r[1] == OUTAGE_EVENT and first <= r[0] < end)]
    rows.sort(key=itemgetter(0))
    stamp = day.isoformat()
    if not clock_changes:
        return [
            RawEvent(name, uid, midnight + min(second, _LAST_SECOND), f"{stamp}-{n}")
            for n, (second, name, uid) in enumerate(rows)
        ]
    timed: list[tuple[int, str, str]] = []
    for second, name, uid in rows:
        hour, rest = divmod(min(second, _LAST_SECOND), 3600)
        wall = datetime.combine(day, time(hour, rest // 60, rest % 60))
        # In the repeated autumn hour either occurrence is plausible.
        local = wall.replace(tzinfo=tz, fold=int(rng.random() < 0.5))
        epoch = int(local.timestamp())
        if datetime.fromtimestamp(epoch, tz).replace(tzinfo=None) != wall:
            continue  # this wall-clock time does not exist (spring-forward gap)
        timed.append((epoch, name, uid))
    timed.sort(key=itemgetter(0))
    return [
        RawEvent(name, uid, epoch, f"{stamp}-{n}") for n, (epoch, name, uid) in enumerate(timed)
    ]


# -- event properties (platform, country, amount, points, source) ------------------------------
# Derived from each event's own user and insert id, never from the generator's random stream,
# so the events' names, users and times are exactly those of a project without properties.

_PLATFORMS = (("iOS", 55), ("Android", 35), ("Web", 10))
_COUNTRIES = (("GB", 62), ("IE", 9), ("US", 12), ("DE", 7), ("FR", 5), ("NL", 5))
_SOURCES = (("organic", 45), ("instagram_ads", 25), ("tiktok_ads", 15), ("friend_referral", 15))
# Sent by the backend, not the app: no device properties (a "not" filter still matches them).
SERVER_EVENTS = frozenset({"Email Sent", "Email Skipped"})
AMOUNT_MISSING_PER_MILLE = 15  # receipts whose basket total the scanner could not read
AMOUNT_TEXT_PER_MILLE = 5  # ... or read as text: skipped and counted, never taken as 0


def _pick(h: int, table: tuple[tuple[str, int], ...]) -> str:
    point = h % sum(weight for _, weight in table)
    for value, weight in table:
        if point < weight:
            return value
        point -= weight
    return table[-1][0]


def _event_properties(
    event: RawEvent, users: dict[str, tuple[tuple[str, object], ...]]
) -> tuple[tuple[str, object], ...]:
    base = users.get(event.distinct_id)
    if base is None:
        h = _hash64(f"props:{event.distinct_id}")
        base = (("platform", _pick(h, _PLATFORMS)), ("country", _pick(h >> 16, _COUNTRIES)))
        users[event.distinct_id] = base
    name = event.name
    if name == "Receipt Uploaded":
        h = _hash64(event.insert_id)
        per_mille = h % 1000
        if per_mille < AMOUNT_MISSING_PER_MILLE:
            return base
        if per_mille < AMOUNT_MISSING_PER_MILLE + AMOUNT_TEXT_PER_MILLE:
            return (*base, ("amount", "unreadable"))
        return (*base, ("amount", (500 + (h >> 10) % 9500) / 100))  # 5.00 to 99.99 GBP
    if name == "PlanetPoints Added":
        return (*base, ("points", 10 * (1 + _hash64(event.insert_id) % 50)))
    if name == "Sign Up":
        return (*base, ("source", _pick(_hash64(event.distinct_id), _SOURCES)))
    return base


def with_properties(events: list[RawEvent]) -> list[RawEvent]:
    """`events` with their sample properties: device ones on app events, values on some."""
    users: dict[str, tuple[tuple[str, object], ...]] = {}
    return [
        event
        if event.name.startswith("$") or event.name in SERVER_EVENTS
        else RawEvent(
            event.name,
            event.distinct_id,
            event.time,
            event.insert_id,
            _event_properties(event, users),
        )
        for event in events
    ]


def sample_project(
    *, end: date, days: int = 120, users: int = 4000, seed: int = 7
) -> list[RawEvent]:
    """Events for the local days end-days+1 .. end (inclusive) in SAMPLE_TIMEZONE, sorted by time.

    The events of a local date depend only on (seed, that date, users), never on `end` or `days`.
    """
    if days < 0 or users < 1:
        raise ValueError("days must be >= 0 and users >= 1")
    tz = ZoneInfo(SAMPLE_TIMEZONE)
    pop = _Population(users=users, seed=seed)
    events: list[RawEvent] = []
    # Hundreds of thousands of small acyclic objects: pausing the cycle collector saves ~25 %.
    collecting = gc.isenabled()
    gc.disable()
    try:
        for offset in range(days - 1, -1, -1):
            events.extend(with_properties(_day_events(pop, end - timedelta(days=offset), tz)))
    finally:
        if collecting:
            gc.enable()
    return events
