"""CustomReport's `report=<name>`: a [[report]] of the metrics file, with did-you-mean; pure."""

from __future__ import annotations

import difflib
from collections.abc import Mapping

from shared.errors import InvalidRequest
from shared.schedule.periods import PeriodKind


def report_choice(values: Mapping[str, object], reports: Mapping[str, PeriodKind]) -> str | None:
    """The [[report]] named by `report` (None when not given); InvalidRequest names the field.

    Without `period` or dates, the report's own cadence is the period; `events` cannot be
    combined with it (a report is its own list of metrics).
    """
    if "report" not in values:
        return None
    value = values["report"]
    name = value.strip() if isinstance(value, str) else ""
    if not reports:
        raise InvalidRequest(
            "report",
            "report: this deployment defines no [[report]]s in its metrics file",
            code="unknown_report",
        )
    if name not in reports:
        shown = (
            name
            if len(name) <= 64 and name.isprintable()
            else name[:64].encode("ascii", "backslashreplace").decode()
        )
        close = difflib.get_close_matches(name, list(reports), n=3, cutoff=0.6)
        hint = f"did you mean {', '.join(repr(c) for c in close)}? " if close else ""
        raise InvalidRequest(
            "report",
            f"report {shown!r} is not defined; {hint}configured: {', '.join(reports)}",
            code="unknown_report",
        )
    if "events" in values:
        raise InvalidRequest(
            "report",
            "report cannot be combined with events; a report is its own list of metrics",
            code="conflicting_parameters",
        )
    return name
