"""azd conventions: the service azure.yaml deploys is the app the template tags for it."""

from __future__ import annotations

import json
import re
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[2]


def test_azure_yaml_deploys_this_folder_as_a_python_function_app() -> None:
    """One service: the repository root, Python, hosted as a function app, infra in infra/."""
    project = yaml.safe_load((ROOT / "azure.yaml").read_text(encoding="utf-8"))
    assert project["infra"] == {"provider": "bicep", "path": "infra", "module": "main"}
    [(name, service)] = project["services"].items()
    assert service == {"project": ".", "language": "python", "host": "function"}
    resources = (ROOT / "infra" / "resources.bicep").read_text(encoding="utf-8")
    assert f"'azd-service-name': '{name}'" in resources


def test_every_resource_carries_the_azd_environment_tag() -> None:
    """azd finds its resources by `azd-env-name`; each resource is tagged with it."""
    main = (ROOT / "infra" / "main.bicep").read_text(encoding="utf-8")
    assert "'azd-env-name': environmentName" in main
    resources = (ROOT / "infra" / "resources.bicep").read_text(encoding="utf-8")
    located = len(re.findall(r"^  location: location$", resources, flags=re.M))
    tagged = len(re.findall(r"^  tags: (tags|union\(tags, \{)$", resources, flags=re.M))
    assert located == tagged > 0


def test_parameters_come_from_the_azd_environment() -> None:
    """AZURE_ENV_NAME, AZURE_LOCATION and AZURE_PRINCIPAL_ID, as azd names them."""
    parameters = json.loads((ROOT / "infra" / "main.parameters.json").read_text())["parameters"]
    assert parameters["environmentName"]["value"] == "${AZURE_ENV_NAME}"
    assert parameters["location"]["value"] == "${AZURE_LOCATION}"
    assert parameters["principalId"]["value"] == "${AZURE_PRINCIPAL_ID}"
    main = (ROOT / "infra" / "main.bicep").read_text(encoding="utf-8")
    declared = set(re.findall(r"^param (\w+) ", main, flags=re.M))
    assert set(parameters) <= declared
    assert "@metadata({ azd: { type: 'location' } })\nparam location string" in main


def test_the_app_runs_on_flex_consumption_with_the_chosen_python() -> None:
    """FC1 Linux, python 3.11 by default (docs/deploy.md says why), 3.12 allowed."""
    resources = (ROOT / "infra" / "resources.bicep").read_text(encoding="utf-8")
    assert "tier: 'FlexConsumption'\n    name: 'FC1'" in resources
    assert "kind: 'functionapp,linux'" in resources
    assert "name: 'python'\n        version: pythonVersion" in resources
    main = (ROOT / "infra" / "main.bicep").read_text(encoding="utf-8")
    assert "param pythonVersion string = '3.11'" in main
