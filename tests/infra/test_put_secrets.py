"""put_secrets.py: which vault secret each setting goes to, and how .env is read."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "infra" / "scripts"))
import put_secrets  # noqa: E402 - infra/scripts is not a package


@pytest.mark.parametrize(
    ("setting", "secret"),
    [
        ("MIXPANEL_SECRET", "mixpanel-secret"),
        ("SLACK_WEBHOOK_URL", "slack-webhook-url"),
        ("SLACK_WEBHOOK_GROWTH", "slack-webhook-growth"),
    ],
)
def test_a_setting_is_kept_in_the_vault_under_its_kebab_case_name(
    setting: str, secret: str
) -> None:
    """The same rule as the template's toLower(replace(name, '_', '-'))."""
    assert put_secrets.secret_name(setting) == secret


def test_the_env_file_is_read_like_dotenv(tmp_path: Path) -> None:
    """Comments, blanks, `export ` and quotes are handled; values keep their '=' signs."""
    env = tmp_path / ".env"
    env.write_text(
        "# a comment\n\nexport MIXPANEL_SECRET='fake-secret'\n"
        'SLACK_WEBHOOK_URL="https://hooks.example.test/a=b"\nREPORT_HOUR=9\n',
        encoding="utf-8",
    )
    assert put_secrets.read_env_file(env) == {
        "MIXPANEL_SECRET": "fake-secret",
        "SLACK_WEBHOOK_URL": "https://hooks.example.test/a=b",
        "REPORT_HOUR": "9",
    }


def test_without_a_vault_it_stops_before_touching_azure(capsys: pytest.CaptureFixture[str]) -> None:
    """No AZURE_KEY_VAULT_NAME and no --vault: exit 2 with the reason."""
    assert put_secrets.main(["--vault", ""]) == 2
    assert "no vault" in capsys.readouterr().out


def test_the_deployed_report_destinations_are_read_from_the_parameters_file() -> None:
    """The hook puts the same destinations the template turns into references."""
    assert put_secrets.report_destinations() == []
