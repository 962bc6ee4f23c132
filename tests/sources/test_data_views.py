"""Spec of Data Views (issue 21, item 4): MIXPANEL_WORKSPACE_ID reaches every request and the plan.

Mixpanel's query-api-authentication.mdx: "In addition to `project_id`, you should include the
global data view's `workspace_id`". The stand-in, told the project has Data Views, refuses any
Query or Export request without it, so a report that answers proves every request named it.
"""

from __future__ import annotations

import json

import azure.functions as func
import pytest

import CustomReport
from tests.e2e import Stack
from tests.openapi_check import validate_against_openapi

ROUTE = "/api/CustomReport"


def custom(**params: str) -> func.HttpResponse:
    request = func.HttpRequest(method="GET", url=ROUTE, params=params, body=b"")
    return CustomReport.main(request)


@pytest.mark.parametrize("workspace", ["777", None], ids=["data-view", "no-data-view"])
def test_the_dry_run_plan_shows_the_data_view_every_request_would_name(
    stack: Stack, monkeypatch: pytest.MonkeyPatch, workspace: str | None
) -> None:
    """dry_run answers workspace_id (null without the setting), in the Plan schema."""
    if workspace is None:
        monkeypatch.delenv("MIXPANEL_WORKSPACE_ID", raising=False)
    else:
        monkeypatch.setenv("MIXPANEL_WORKSPACE_ID", workspace)
    response = custom(dry_run="true", send_slack="false")
    assert response.status_code == 200
    plan = json.loads(response.get_body())
    assert plan["workspace_id"] == workspace
    validate_against_openapi("Plan", plan)
    assert stack.mixpanel.requests == []


@pytest.mark.parametrize("source", ["query", "export"])
def test_a_report_on_a_data_views_project_names_the_view_on_every_request(
    stack: Stack, monkeypatch: pytest.MonkeyPatch, source: str
) -> None:
    """Names, totals and the export (or the export alone) all carry workspace_id."""
    stack.mixpanel.workspace_id = "777"
    monkeypatch.setenv("MIXPANEL_WORKSPACE_ID", "777")
    monkeypatch.setenv("MIXPANEL_SOURCE", source)
    response = custom(period="weekly", send_slack="false", format="json")
    assert response.status_code == 200, response.get_body()[:300]
    sent = stack.mixpanel.requests
    assert {r.path for r in sent} >= {"/api/2.0/export"}
    assert [r.query.get("workspace_id") for r in sent] == ["777"] * len(sent)


def test_without_the_setting_a_data_views_project_refuses_the_report(
    stack: Stack, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The stand-in has teeth: no workspace_id, no report (a clear Mixpanel 400, not numbers)."""
    stack.mixpanel.workspace_id = "777"
    monkeypatch.delenv("MIXPANEL_WORKSPACE_ID", raising=False)
    response = custom(period="weekly", send_slack="false", format="json")
    assert response.status_code != 200
    assert "workspace_id=777 is required" in response.get_body().decode()
