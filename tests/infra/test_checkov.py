"""checkov (the real one, offline) on infra/: parses every file, 0 failed, the essentials pass."""

from __future__ import annotations

import functools
import json
import subprocess
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parents[2]
CHECKOV = ROOT / ".venv-checkov" / "bin" / "checkov"


@functools.cache
def checkov_report() -> dict[str, Any]:
    """checkov's JSON report of infra/ (--framework bicep, no network); fails if it is missing."""
    if not CHECKOV.exists():
        pytest.fail(f"{CHECKOV} is missing: run `make test` (it installs checkov in its own venv)")
    done = subprocess.run(  # noqa: S603 - a fixed binary and arguments
        [
            str(CHECKOV),
            "--directory",
            str(ROOT / "infra"),
            "--framework",
            "bicep",
            "--skip-download",
            "--output",
            "json",
        ],
        capture_output=True,
        text=True,
        check=False,
        timeout=600,
    )
    if not done.stdout.strip().startswith("{"):
        pytest.fail(f"checkov gave no JSON report (exit {done.returncode}): {done.stderr[-2000:]}")
    report: dict[str, Any] = json.loads(done.stdout)
    return report


# The essentials of the issue, each a check that must PASS (not merely be absent or skipped).
ESSENTIAL = {
    ("CKV_AZURE_14", "Microsoft.Web/sites.app"): "web app redirects HTTP to HTTPS",
    ("CKV_AZURE_70", "Microsoft.Web/sites.app"): "function app only over HTTPS",
    ("CKV_AZURE_15", "Microsoft.Web/sites.app"): "web app on TLS 1.2",
    ("CKV_AZURE_145", "Microsoft.Web/sites.app"): "function app on TLS 1.2",
    ("CKV_AZURE_72", "Microsoft.Web/sites.app"): "remote debugging off",
    ("CKV_AZURE_18", "Microsoft.Web/sites.app"): "HTTP/2 (web app check)",
    ("CKV_AZURE_67", "Microsoft.Web/sites.app"): "HTTP/2 (function app check)",
    ("CKV_AZURE_71", "Microsoft.Web/sites.app"): "managed identity",
    ("CKV_AZURE_3", "Microsoft.Storage/storageAccounts.storage"): "storage HTTPS only",
    ("CKV_AZURE_44", "Microsoft.Storage/storageAccounts.storage"): "storage TLS 1.2",
    (
        "CKV_AZURE_34",
        "Microsoft.Storage/storageAccounts/blobServices/containers.packageContainer",
    ): "no anonymous access to the package container",
    ("CKV_AZURE_110", "Microsoft.KeyVault/vaults.vault"): "Key Vault purge protection",
    ("CKV_AZURE_111", "Microsoft.KeyVault/vaults.vault"): "Key Vault soft delete",
    ("CKV_AZURE_42", "Microsoft.KeyVault/vaults.vault"): "Key Vault recoverable",
}
# Skipped in the template with a reason (checkov:skip comments in infra/resources.bicep).
SKIPPED_WITH_REASON = {
    "CKV_AZURE_78": "Flex Consumption rejects siteConfig.ftpsState",
    "CKV_AZURE_59": "Without a VNet",
}


def results(kind: str) -> list[dict[str, Any]]:
    return list(checkov_report()["results"][kind])


def test_checkov_parses_every_bicep_file() -> None:
    """A file checkov cannot parse is checked by nothing, and checkov still exits 0."""
    report = checkov_report()
    bicep_files = sorted(p.name for p in (ROOT / "infra").rglob("*.bicep"))
    assert report["summary"]["parsing_errors"] == 0, report["results"]["parsing_errors"]
    assert len(bicep_files) >= 2
    checked = {
        Path(r["file_path"]).name for r in results("passed_checks") + results("skipped_checks")
    }
    assert "resources.bicep" in checked


def test_checkov_finds_no_failed_check() -> None:
    """Every check passes, or is skipped inside its resource with a reason."""
    failed = [
        f"{r['check_id']} {r['resource']}: {r['check_name']}" for r in results("failed_checks")
    ]
    assert failed == []


def test_every_skipped_check_says_why() -> None:
    """A `// checkov:skip=ID: reason` without a real reason is a silent waiver."""
    short = [
        r["check_id"]
        for r in results("skipped_checks")
        if len(str(r["check_result"].get("suppress_comment", "")).strip()) < 30
    ]
    assert short == []


@pytest.mark.parametrize(("check", "resource"), sorted(ESSENTIAL), ids=lambda v: str(v))
def test_the_essential_checks_pass(check: str, resource: str) -> None:
    """HTTPS, TLS 1.2, no debugging, HTTP/2, identity, private blobs, a recoverable vault."""
    passed = {(r["check_id"], r["resource"]) for r in results("passed_checks")}
    assert (check, resource) in passed, f"{check} ({ESSENTIAL[check, resource]}) did not pass"


@pytest.mark.parametrize(("check", "reason"), sorted(SKIPPED_WITH_REASON.items()))
def test_the_checks_flex_cannot_meet_are_skipped_with_that_reason(check: str, reason: str) -> None:
    """FTP state (Flex rejects it) and network isolation (no VNet) are waived, saying why."""
    comments = [
        str(r["check_result"].get("suppress_comment", ""))
        for r in results("skipped_checks")
        if r["check_id"] == check
    ]
    assert comments, f"{check} is not skipped"
    assert all(reason in c for c in comments), comments
