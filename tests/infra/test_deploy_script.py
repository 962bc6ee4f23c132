"""Spec of `make deploy` (infra/scripts/deploy.sh): it gives ARM every value azd would fill in."""

from __future__ import annotations

import json
import re
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
PARAMETERS = REPO / "infra" / "main.parameters.json"
DEPLOY = REPO / "infra" / "scripts" / "deploy.sh"


def azd_placeholders() -> set[str]:
    """Parameters whose value is an azd `${NAME}` placeholder, which only azd fills in."""
    parameters = json.loads(PARAMETERS.read_text(encoding="utf-8"))["parameters"]
    return {
        name
        for name, entry in parameters.items()
        if isinstance(entry.get("value"), str) and "${" in entry["value"]
    }


def overridden_by_deploy_script() -> set[str]:
    """The `name=value` parameters deploy.sh passes after the parameters file."""
    command = DEPLOY.read_text(encoding="utf-8").split("az deployment sub create", 1)[1]
    command = command.split("--output none", 1)[0]
    return set(re.findall(r"\b([a-zA-Z]+)=", command))


def test_make_deploy_overrides_every_placeholder_that_only_azd_fills_in() -> None:
    """`az` passes "${SLACK_COMMAND_ENABLED=false}" through as text: each one needs a value."""
    placeholders = azd_placeholders()
    assert {"environmentName", "location", "slackCommandEnabled"} <= placeholders
    missing = placeholders - overridden_by_deploy_script()
    assert missing == set(), f"add these to the parameters in {DEPLOY.name}: {sorted(missing)}"
