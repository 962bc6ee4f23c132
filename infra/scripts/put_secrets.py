"""Put the app's secrets into its Key Vault (azd postprovision hook, or by hand to rotate one).

Reads values from a dotenv file (default .env, the one `make demo` uses) and writes each to the
vault secret its Key Vault reference names (infra/resources.bicep). Values never reach the
command line, the console or a log: each goes through a private temporary file to `az`.

    python3 infra/scripts/put_secrets.py --from-env-file .env            # first deploy
    python3 infra/scripts/put_secrets.py --from-env-file new.env --rotate  # replace values

Needs the Azure CLI signed in as someone with Key Vault Secrets Officer on the vault (the
template grants it to the person running `azd up`). The vault comes from --vault or the
AZURE_KEY_VAULT_NAME output that azd exports to hooks.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
from datetime import UTC, datetime
from pathlib import Path

# Setting -> vault secret; a [[report]] destination's setting maps the same way (kebab case).
SECRETS = (
    "MIXPANEL_SECRET",
    "SLACK_WEBHOOK_URL",
    "SLACK_BOT_TOKEN",
    "SMTP_PASSWORD",
    "SLACK_SIGNING_SECRET",
)
PARAMETERS = Path(__file__).resolve().parent.parent / "main.parameters.json"


def secret_name(setting: str) -> str:
    """The vault secret holding `setting` (SLACK_WEBHOOK_GROWTH -> slack-webhook-growth)."""
    return setting.lower().replace("_", "-")


def read_env_file(path: Path) -> dict[str, str]:
    """KEY=VALUE lines of a dotenv file (comments, blanks and `export ` ignored)."""
    values: dict[str, str] = {}
    for line in path.read_text(encoding="utf-8").splitlines():
        line = line.strip()
        if not line or line.startswith("#") or "=" not in line:
            continue
        key, _, value = line.removeprefix("export ").partition("=")
        value = value.strip()
        if len(value) >= 2 and value[0] == value[-1] and value[0] in "\"'":
            value = value[1:-1]
        values[key.strip()] = value
    return values


def report_destinations(parameters: Path = PARAMETERS) -> list[str]:
    """The [[report]] destination settings the template turns into Key Vault references."""
    data = json.loads(parameters.read_text(encoding="utf-8"))
    value = data["parameters"].get("reportDestinations", {}).get("value", [])
    return [str(v) for v in value]


def az(*args: str) -> subprocess.CompletedProcess[str]:
    """Run the Azure CLI (never with a secret among its arguments)."""
    return subprocess.run(  # noqa: S603 - fixed program, arguments built here, no shell
        ["az", *args],  # noqa: S607 - the Azure CLI is found on PATH, as azd's hooks expect
        capture_output=True,
        text=True,
        check=False,
    )


def exists(vault: str, name: str) -> bool:
    return az("keyvault", "secret", "show", "--vault-name", vault, "--name", name).returncode == 0


def put(vault: str, name: str, value: str) -> None:
    """Write one secret from a private temporary file, so the value is never an argument."""
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "value"
        path.touch(mode=0o600)
        path.write_text(value, encoding="utf-8")
        done = az(
            "keyvault", "secret", "set", "--vault-name", vault, "--name", name,
            "--file", str(path), "--encoding", "utf-8", "--output", "none",
        )  # fmt: skip
    if done.returncode != 0:
        raise SystemExit(f"could not write secret {name} to {vault} (az exit {done.returncode})")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--from-env-file", type=Path, default=Path(".env"))
    parser.add_argument("--vault", default=os.environ.get("AZURE_KEY_VAULT_NAME", ""))
    parser.add_argument("--rotate", action="store_true", help="replace secrets already set")
    args = parser.parse_args(argv)
    if not args.vault:
        print("no vault: pass --vault or run as an azd hook (AZURE_KEY_VAULT_NAME)")
        return 2
    if not args.from_env_file.is_file():
        print(f"{args.from_env_file} not found: put the secrets by hand (docs/deploy.md)")
        return 0
    values = read_env_file(args.from_env_file)
    changed = 0
    for setting in (*SECRETS, *report_destinations()):
        name = secret_name(setting)
        if not values.get(setting):
            print(f"{setting}: not in {args.from_env_file}, left as it is")
            continue
        if not args.rotate and exists(args.vault, name):
            print(f"{setting}: {name} already in the vault (--rotate replaces it)")
            continue
        put(args.vault, name, values[setting])
        changed += 1
        print(f"{setting}: put into {args.vault}/{name}")
    app, group = os.environ.get("AZURE_FUNCTION_APP_NAME"), os.environ.get("AZURE_RESOURCE_GROUP")
    if changed and app and group:
        # Any configuration change makes the platform fetch Key Vault references again now
        # (otherwise within 24 hours); the next `azd provision` removes this marker.
        stamp = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
        az(
            "functionapp", "config", "appsettings", "set", "--name", app,
            "--resource-group", group, "--settings", f"SECRETS_CHANGED_AT={stamp}",
            "--output", "none",
        )  # fmt: skip
        print(f"{app}: asked to re-read its Key Vault references")
    return 0


if __name__ == "__main__":
    sys.exit(main())
