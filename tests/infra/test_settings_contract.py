"""The contract between the code and the template: every setting the app reads has its infra line.

A setting read in shared/ must be set by infra/resources.bicep, be a Key Vault reference there
(secrets), or be catalogued in docs/settings.md as optional (or local) with its default. Secrets
are never plain values, and the template holds no key.
"""

from __future__ import annotations

import ast
import json
import re
import sys
import tomllib
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
TEMPLATE = ROOT / "infra" / "resources.bicep"
CATALOGUE = ROOT / "docs" / "settings.md"
PARAMETERS = ROOT / "infra" / "main.parameters.json"
# Names the environment mapping goes by in shared/ (`env.get`, `environ.get`, `os.environ[...]`).
ENV_NAMES = frozenset({"env", "environ"})
# Fewer than this means the scanner lost its way (a refactor renamed `env`): fail, do not pass.
AT_LEAST = 35
SENTINELS = ("MIXPANEL_SECRET", "SLACK_WEBHOOK_URL", "SMTP_PASSWORD", "REPORT_HOUR", "EMAIL_TO")
# A name like these holds a credential: it may only reach Azure as a Key Vault reference.
SECRET_LIKE = re.compile(r"SECRET|PASSWORD|TOKEN|WEBHOOK|_KEY\b|KEY_|CONNECTION")
# Set by the template for the Functions host and Application Insights, not read by shared/.
PLATFORM = frozenset(
    {
        "AzureWebJobsStorage__credential",
        "APPLICATIONINSIGHTS_CONNECTION_STRING",
        "APPLICATIONINSIGHTS_AUTHENTICATION_STRING",
    }
)
KINDS = frozenset({"template", "secret", "optional", "local"})
KEY_VAULT_REF = re.compile(r"^'@Microsoft\.KeyVault\(VaultName=\$\{vault\.name\};SecretName=")

sys.path.insert(0, str(ROOT / "infra" / "scripts"))
import put_secrets  # noqa: E402 - infra/scripts is not a package


def _is_env(node: ast.expr) -> bool:
    if isinstance(node, ast.Name):
        return node.id in ENV_NAMES
    return isinstance(node, ast.Attribute) and node.attr in ENV_NAMES


def _reads_a_setting(func: ast.expr) -> bool:
    """`required(...)`, `optional(...)` or `<env>.get(...)`."""
    if isinstance(func, ast.Name):
        return func.id in {"required", "optional"}
    return isinstance(func, ast.Attribute) and func.attr == "get" and _is_env(func.value)


def _literal(node: ast.expr) -> str | None:
    return node.value if isinstance(node, ast.Constant) and isinstance(node.value, str) else None


def settings_read(root: Path = ROOT) -> dict[str, str]:
    """Every setting name shared/ reads from the environment, with where it is first read.

    `required("X")` / `optional("X", ...)` (shared/settings.py), `env.get("X")`,
    `environ.get("X")` and `env["X"]` anywhere in shared/ (shared/email_settings.py too).
    """
    found: dict[str, str] = {}
    for path in sorted((root / "shared").rglob("*.py")):
        tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
        for node in ast.walk(tree):
            name = None
            if isinstance(node, ast.Call) and node.args and _reads_a_setting(node.func):
                name = _literal(node.args[0])
            elif isinstance(node, ast.Subscript) and _is_env(node.value):
                name = _literal(node.slice)
            if name:
                found.setdefault(name, f"{path.relative_to(root)}:{node.lineno}")
    return found


def template_settings(text: str | None = None) -> dict[str, str]:
    """App settings the template writes: {name: value expression as written}."""
    text = TEMPLATE.read_text(encoding="utf-8") if text is None else text
    pairs = re.findall(r"name: '([A-Za-z_][A-Za-z0-9_]*)'\n\s*value: (.+)", text)
    return dict(pairs)


def catalogue(text: str | None = None) -> dict[str, tuple[str, str]]:
    """docs/settings.md's table: {setting: (kind, default)}."""
    text = CATALOGUE.read_text(encoding="utf-8") if text is None else text
    block = text.split("<!-- settings-catalogue:begin -->")[1].split("<!-- settings-catalogue:end")[
        0
    ]
    rows: dict[str, tuple[str, str]] = {}
    for line in block.splitlines():
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if len(cells) == 4 and cells[0].startswith("`"):
            rows[cells[0].strip("`")] = (cells[1], cells[2])
    return rows


def is_secret(name: str, catalogued: dict[str, tuple[str, str]]) -> bool:
    """Catalogued as a secret, or named like one (the App Insights connection string is not:
    with local auth disabled it admits nothing without the app's Entra token)."""
    if name in PLATFORM:
        return False
    kind = catalogued.get(name, ("", ""))[0]
    return kind == "secret" or (kind != "local" and bool(SECRET_LIKE.search(name)))


def key_vault_line(name: str) -> str:
    return (
        f"{{ name: '{name}'  value: '@Microsoft.KeyVault(VaultName=${{vault.name}};"
        f"SecretName={put_secrets.secret_name(name)})' }}"
    )


def missing_infra_lines(
    read: dict[str, str], template: dict[str, str], catalogued: dict[str, tuple[str, str]]
) -> list[str]:
    """One instruction per setting without its infra line: exactly what to add, and where."""
    problems = []
    for name, where in sorted(read.items()):
        if is_secret(name, catalogued):
            if not KEY_VAULT_REF.match(template.get(name, "")):
                problems.append(
                    f"{name} (read at {where}) is a secret: add a Key Vault reference to "
                    f"infra/resources.bicep (a *Settings array): {key_vault_line(name)}, its "
                    f"catalogue line to docs/settings.md: | `{name}` | secret | none | ... |, "
                    f"and {name!r} to SECRETS in infra/scripts/put_secrets.py"
                )
        elif name not in template and catalogued.get(name, ("", ""))[0] not in {
            "optional",
            "local",
        }:
            problems.append(
                f"{name} (read at {where}) has no infra line: add this row to the table in "
                f"docs/settings.md: | `{name}` | optional | <its default> | <what it is> | "
                f"(or set it in plainSettings in infra/resources.bicep)"
            )
    return problems


def test_the_scanner_finds_the_settings_the_app_reads() -> None:
    """Guards the guard: a scanner that finds next to nothing would pass everything."""
    read = settings_read()
    assert len(read) >= AT_LEAST, f"only {len(read)} settings found in shared/: {sorted(read)}"
    assert set(SENTINELS) <= set(read), f"missing {set(SENTINELS) - set(read)}"


def test_every_setting_the_app_reads_has_its_infra_line() -> None:
    """Set by the template, a Key Vault reference (secrets), or catalogued optional/local."""
    problems = missing_infra_lines(settings_read(), template_settings(), catalogue())
    assert problems == [], "\n".join(problems)


def test_a_new_setting_without_its_infra_line_fails_with_the_line_to_add() -> None:
    """What adding a new setting, or a new secret, without its infra line would be told."""
    read = {"EXAMPLE_NEW_KNOB": "shared/settings.py:1", "EXAMPLE_SIGNING_SECRET": "x.py:2"}
    problems = missing_infra_lines(read, template_settings(), catalogue())
    assert problems == [
        "EXAMPLE_NEW_KNOB (read at shared/settings.py:1) has no infra line: add this row "
        "to the table in docs/settings.md: | `EXAMPLE_NEW_KNOB` | optional | <its default> "
        "| <what it is> | (or set it in plainSettings in infra/resources.bicep)",
        "EXAMPLE_SIGNING_SECRET (read at x.py:2) is a secret: add a Key Vault reference to "
        "infra/resources.bicep (a *Settings array): { name: 'EXAMPLE_SIGNING_SECRET'  value: "
        "'@Microsoft.KeyVault(VaultName=${vault.name};SecretName=example-signing-secret)' }, its "
        "catalogue line to docs/settings.md: | `EXAMPLE_SIGNING_SECRET` | secret | none | ... |, "
        "and 'EXAMPLE_SIGNING_SECRET' to SECRETS in infra/scripts/put_secrets.py",
    ]


def test_every_secret_setting_is_a_key_vault_reference_never_a_value() -> None:
    """MIXPANEL_SECRET, SLACK_WEBHOOK_URL, SLACK_BOT_TOKEN, SMTP_PASSWORD: references only."""
    template, catalogued = template_settings(), catalogue()
    secrets = {n for n in set(template) | set(catalogued) if is_secret(n, catalogued)}
    assert {"MIXPANEL_SECRET", "SLACK_WEBHOOK_URL", "SLACK_BOT_TOKEN", "SMTP_PASSWORD"} <= secrets
    not_references = {
        n: template.get(n) for n in secrets if not KEY_VAULT_REF.match(template.get(n, ""))
    }
    assert not_references == {}


def test_every_vault_secret_the_template_names_is_one_put_secrets_can_put() -> None:
    """The hook that fills the vault knows every secret the template reads from it."""
    named = {
        match.group(1)
        for value in template_settings().values()
        if (match := re.search(r"SecretName=([a-z0-9-]+)\)", value))
    }
    assert named == {put_secrets.secret_name(s) for s in put_secrets.SECRETS}


def test_the_template_sets_only_settings_the_app_or_the_platform_reads() -> None:
    """A typo in a template setting name is caught, not silently ignored by the app."""
    unknown = set(template_settings()) - set(settings_read()) - PLATFORM
    assert unknown == set()


def test_the_catalogue_is_well_formed_and_knows_no_stale_setting() -> None:
    """Each row has a known kind and a default; each names a setting the code reads."""
    rows = catalogue()
    assert {kind for kind, _ in rows.values()} <= KINDS
    assert all(default for _, default in rows.values())
    assert set(rows) - set(settings_read()) == set()


def report_destinations(toml_path: Path) -> set[str]:
    data = tomllib.loads(toml_path.read_text(encoding="utf-8"))
    return {str(r["destination"]) for r in data.get("report", []) if r.get("destination")}


def missing_destinations(toml_path: Path) -> list[str]:
    listed = set(json.loads(PARAMETERS.read_text())["parameters"]["reportDestinations"]["value"])
    return [
        f"[[report]] destination {name} ({toml_path.name}) is not deployed: add "
        f'"{name}" to reportDestinations in infra/main.parameters.json and put its webhook in '
        f"the vault as {put_secrets.secret_name(name)} (docs/deploy.md)"
        for name in sorted(report_destinations(toml_path) - listed)
    ]


def test_every_report_destination_of_the_deployed_metrics_file_is_a_key_vault_reference() -> None:
    """Each [[report]]'s webhook setting is listed, so the template makes it a reference."""
    assert missing_destinations(ROOT / "shared" / "metrics.toml") == []
    loop = re.search(
        r"for destination in reportDestinations: \{\n\s*name: destination\n\s*value: (.+)",
        TEMPLATE.read_text(encoding="utf-8"),
    )
    assert loop is not None
    assert KEY_VAULT_REF.match(loop.group(1))


def test_a_report_destination_not_listed_fails_with_the_line_to_add() -> None:
    """The sample reports (devtools/) name destinations this deployment does not list."""
    problems = missing_destinations(ROOT / "devtools" / "sample_reports.toml")
    assert problems
    assert all("to reportDestinations in infra/main.parameters.json" in p for p in problems)


@pytest.mark.parametrize(
    "forbidden",
    ["listKeys(", "AccountKey=", "@secure()", "SharedAccessSignature", "InstrumentationKey="],
)
def test_the_template_holds_no_key_and_no_secure_parameter(forbidden: str) -> None:
    """No storage key, no connection string with a key, no secret passing through a parameter."""
    offenders = [
        p.relative_to(ROOT).as_posix()
        for p in (ROOT / "infra").rglob("*")
        if p.is_file() and p.suffix in {".bicep", ".json"} and forbidden in p.read_text()
    ]
    assert offenders == []


@pytest.mark.parametrize(
    "line",
    [
        "allowSharedKeyAccess: false",
        "allowBlobPublicAccess: false",
        "DisableLocalAuth: true",
        "enableRbacAuthorization: true",
        "@2026-02-01",
        "keyVaultReferenceIdentity: identity.id",
    ],
)
def test_keys_are_off_where_the_platform_allows_it(line: str) -> None:
    """Shared keys, anonymous blobs, App Insights keys and vault access policies are off."""
    assert line in TEMPLATE.read_text(encoding="utf-8")
