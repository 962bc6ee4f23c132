"""Schemathesis hooks: the rules openapi.yaml states in prose only, applied to positive cases.

AlertBacktest's one such rule: each `rule` name exists. The served sample's alerts file
defines no rules, so a positive case's names become `watch:<an event the sample project has>`.

OpenAPI can express every CustomReport rule but these (the spec lists them in its info):
`to_date` is yesterday or earlier in the app's TIMEZONE, on or after `from_date`, at most 366
days from it; `events` names at most 200 distinct events, each one the project has; `report`
names a [[report]] the deployment defines (the served sample defines none, so it is dropped). A
contract-driven client follows them as written; so does this hook, and only for cases
Schemathesis means to be valid (positive). Negative cases are left exactly as generated.
Loaded by tests/web/test_schemathesis.py through SCHEMATHESIS_HOOKS.
"""

from __future__ import annotations

import hashlib
from datetime import date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import schemathesis
from schemathesis import GenerationMode

from devtools.sample_data import METRIC_EVENTS, OTHER_EVENTS, SAMPLE_TIMEZONE
from devtools.serve import BACKTEST_ROUTE
from shared.web.custom_request import MAX_SPAN_DAYS

KNOWN_EVENTS = tuple(dict.fromkeys(METRIC_EVENTS + OTHER_EVENTS))


def _known(name: str) -> str:
    """A name the sample project has, picked by the generated name (so it still varies)."""
    digest = hashlib.sha256(name.encode("utf-8", "surrogatepass")).digest()
    return KNOWN_EVENTS[int.from_bytes(digest[:4], "big") % len(KNOWN_EVENTS)]


def _events(value: Any) -> Any:
    if isinstance(value, str):
        return ",".join(_known(name) for name in value.split(","))
    if isinstance(value, list):
        return [_known(str(name)) for name in value]
    return value


def _dates(values: dict[str, Any]) -> None:
    """Clamp a generated range to one the prose allows: ordered, ended, at most 366 days."""
    try:
        first = date.fromisoformat(str(values["from_date"]))
        last = date.fromisoformat(str(values["to_date"]))
    except (KeyError, ValueError):
        return
    yesterday = datetime.now(ZoneInfo(SAMPLE_TIMEZONE)).date() - timedelta(days=1)
    end = min(max(first, last), yesterday)
    start = min(first, last, end)
    start = max(start, end - timedelta(days=MAX_SPAN_DAYS - 1))
    values["from_date"], values["to_date"] = start.isoformat(), end.isoformat()


def _follow_the_prose(values: Any) -> None:
    if not isinstance(values, dict):
        return
    if "events" in values:
        values["events"] = _events(values["events"])
    values.pop("report", None)  # the served sample project's metrics file has no [[report]]s
    _dates(values)


def _watches(value: Any) -> Any:
    """Each generated rule name as the watch of a known event (the sample defines no rules)."""
    if not isinstance(value, str):
        return value
    return ",".join(f"watch:{_known(name)}" for name in value.split(","))


@schemathesis.hook
def map_case(context: Any, case: Any) -> Any:
    """Positive cases only: apply the rules the spec states in prose."""
    meta = getattr(case, "meta", None)
    if meta is None or meta.generation.mode != GenerationMode.POSITIVE:
        return case
    if case.operation.path == BACKTEST_ROUTE:
        if isinstance(case.query, dict) and "rule" in case.query:
            case.query["rule"] = _watches(case.query["rule"])
        return case
    _follow_the_prose(case.query)
    _follow_the_prose(case.body)
    return case
