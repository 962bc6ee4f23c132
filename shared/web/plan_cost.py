"""The dry-run plan's cost lines: how many Mixpanel requests the report (or each report) takes."""

from __future__ import annotations

from datetime import date
from typing import TYPE_CHECKING, Any

from shared.report.cost import request_cost
from shared.schedule.periods import report_period

if TYPE_CHECKING:
    from shared.root import App
    from shared.web.custom_request import CustomRequest


def plan_costs(app: App, request: CustomRequest, today: date) -> dict[str, Any]:
    """{'report', 'mixpanel_requests', 'workspace_id'} for this request, plus one line per
    configured report."""
    config = app.ctx.config
    if request.events is not None:
        config = config.with_events(request.events)
    elif request.report is not None:
        config = config.report(request.report)
    out: dict[str, Any] = {
        "report": request.report,
        "mixpanel_requests": request_cost(config, request.period, today=today),
        # The Data View every request would name (MIXPANEL_WORKSPACE_ID), or None.
        "workspace_id": app.settings.mixpanel_workspace_id,
    }
    if app.ctx.config.reports and request.report is None and request.events is None:
        out["reports"] = [
            {
                "name": spec.name,
                "cadence": spec.cadence.value,
                "mixpanel_requests": request_cost(
                    app.ctx.config.report(spec.name),
                    report_period(spec.cadence, today),
                    today=today,
                ),
            }
            for spec in app.ctx.config.reports
        ]
    return out
