"""DeliveryHistory: the ledger's last days as JSON, by setting name, under the documented rules."""

from __future__ import annotations

import json
import os
from datetime import UTC, datetime

import azure.functions as func
import pytest

import DeliveryHistory
from shared.delivery.ledger import DeliveryKey, TableDeliveryLedger
from shared.settings import Secret
from tests.e2e import WEBHOOK_TOKEN, Stack, yesterday
from tests.openapi_check import validate_against_openapi

pytestmark = pytest.mark.azurite


@pytest.fixture
def ledger(stack: Stack, azurite_connection_string, azurite_ledger):
    return TableDeliveryLedger(azurite_connection_string, table_name=azurite_ledger)


def get(query: str = "", method: str = "GET") -> func.HttpResponse:
    params = dict(p.split("=", 1) for p in query.split("&") if p)
    url = f"/api/DeliveryHistory?{query}" if query else "/api/DeliveryHistory"
    return DeliveryHistory.main(func.HttpRequest(method=method, url=url, params=params, body=b""))


def test_the_history_names_the_setting_and_fits_the_spec(stack: Stack, ledger):
    """A sent daily report to SLACK_WEBHOOK_URL: its window, setting, attempts; never the URL."""
    now = datetime.now(UTC)
    day = yesterday().date()
    hook = Secret(stack.env["SLACK_WEBHOOK_URL"]).fingerprint()
    claim = ledger.claim(DeliveryKey("daily", day, day, hook), now=now)
    assert claim is not None
    ledger.mark_sent(claim, now=now, detail="daily ok")
    response = get("days=3&code=FUNCKEY-e2e-0b5e")
    assert response.status_code == 200
    answer = json.loads(response.get_body())
    validate_against_openapi("DeliveryHistory", answer)
    assert answer["days"] == 3
    [delivery] = answer["deliveries"]
    assert delivery["destination"] == "SLACK_WEBHOOK_URL"
    assert (delivery["report"], delivery["status"], delivery["attempts"]) == ("daily", "sent", 1)
    assert delivery["window"] == {"from": day.isoformat(), "to": day.isoformat()}
    assert WEBHOOK_TOKEN not in response.get_body().decode()


@pytest.mark.parametrize(
    ("query", "status", "code", "field"),
    [
        ("days=0", 400, "invalid_parameter", "days"),
        ("days=91", 400, "invalid_parameter", "days"),
        ("days=%D9%A3", 400, "invalid_parameter", "days"),
        ("days=+7", 400, "invalid_parameter", "days"),
        ("days=7&days=8", 400, "duplicate_parameter", "days"),
        ("weeks=1", 400, "unknown_parameter", "weeks"),
    ],
    ids=["zero", "over 90", "Arabic-Indic digit", "sign", "repeated", "unknown"],
)
def test_bad_parameters_are_400_naming_the_field(ledger, query, status, code, field):
    """ASCII digits 1 to 90, once; nothing else but the function key."""
    if "%D9%A3" in query:
        response = DeliveryHistory.main(
            func.HttpRequest(
                method="GET", url=f"/api/DeliveryHistory?{query}", params={"days": "٣"}, body=b""
            )
        )
    else:
        response = get(query)
    answer = json.loads(response.get_body())
    validate_against_openapi("Error", answer)
    assert (response.status_code, answer["error"]["code"], answer["error"]["field"]) == (
        status,
        code,
        field,
    )


def test_only_get_is_answered(ledger):
    """405 with Allow: GET."""
    response = get(method="POST")
    assert response.status_code == 405
    assert response.headers["Allow"] == "GET"


def test_without_storage_the_history_is_unavailable(stack: Stack, monkeypatch):
    """No AzureWebJobsStorage: 503 storage_unavailable, side storage."""
    monkeypatch.delenv("AzureWebJobsStorage", raising=False)
    response = get()
    answer = json.loads(response.get_body())
    assert response.status_code == 503
    assert answer["error"]["code"] == "storage_unavailable"
    assert "AzureWebJobsStorage" in answer["error"]["message"]
    assert os.environ.get("AzureWebJobsStorage") is None  # noqa: SIM112 - the host's name
