"""A Key Vault reference Azure could not resolve is named at start-up, not sent as a secret."""

from __future__ import annotations

import pytest

from shared.errors import ConfigError
from shared.settings import Settings

BASE = {
    "MIXPANEL_USERNAME": "svc",
    "MIXPANEL_SECRET": "fake-mixpanel-secret",
    "MIXPANEL_PROJECT_ID": "123",
    "SLACK_WEBHOOK_URL": "https://hooks.example.test/fake",
}
REFERENCE = "@Microsoft.KeyVault(VaultName=kv-abc;SecretName=mixpanel-secret)"


@pytest.mark.parametrize("name", ["MIXPANEL_SECRET", "SLACK_WEBHOOK_GROWTH"])
def test_an_unresolved_key_vault_reference_is_a_config_error_naming_the_setting(name: str) -> None:
    """Azure leaves the literal reference in place when it cannot fetch the secret."""
    with pytest.raises(ConfigError) as raised:
        Settings.from_env({**BASE, name: REFERENCE})
    assert (
        f"{name} is a Key Vault reference Azure could not resolve: put the secret in the vault "
        "and check the app identity's Key Vault Secrets User role (docs/deploy.md)"
    ) in str(raised.value)


def test_resolved_values_pass() -> None:
    """Once resolved, the setting holds the secret itself and nothing is reported."""
    assert Settings.from_env(BASE).mixpanel_secret.reveal() == "fake-mixpanel-secret"
