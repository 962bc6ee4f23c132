"""The Table client factory: a connection string locally, the app's identity in Azure."""

from __future__ import annotations

import pytest
from azure.core.credentials import AccessToken
from azure.data.tables import TableClient
from azure.identity import DefaultAzureCredential, ManagedIdentityCredential

from shared.delivery.tables import (
    DEV_CONNECTION_STRING,
    IdentityStorage,
    secrets_of,
    storage_of,
    table_client,
)
from shared.settings import Settings

BASE = {
    "MIXPANEL_USERNAME": "svc",
    "MIXPANEL_SECRET": "fake-mixpanel-secret",
    "MIXPANEL_PROJECT_ID": "123",
    "SLACK_WEBHOOK_URL": "https://hooks.example.test/fake",
}
CLIENT_ID = "00000000-0000-0000-0000-00000000abcd"


class FakeCredential:
    """A token credential that records which identity it was asked for; never calls Azure."""

    def __init__(self, client_id: str | None) -> None:
        self.client_id = client_id

    def get_token(self, *scopes: str, **kwargs: object) -> AccessToken:
        raise AssertionError("no token is requested while a client is only built")


@pytest.mark.parametrize(
    ("env", "expected"),
    [
        ({"AzureWebJobsStorage": "UseDevelopmentStorage=true"}, "UseDevelopmentStorage=true"),
        (
            {
                "AzureWebJobsStorage": "UseDevelopmentStorage=true",
                "AzureWebJobsStorage__accountName": "stabc123",
            },
            "UseDevelopmentStorage=true",
        ),
        (
            {"AzureWebJobsStorage__accountName": "stabc123"},
            IdentityStorage("https://stabc123.table.core.windows.net"),
        ),
        (
            {
                "AzureWebJobsStorage__accountName": "stabc123",
                "AzureWebJobsStorage__clientId": CLIENT_ID,
            },
            IdentityStorage("https://stabc123.table.core.windows.net", CLIENT_ID),
        ),
        (
            {
                "AzureWebJobsStorage__accountName": "stabc123",
                "AzureWebJobsStorage__tableServiceUri": "https://stabc123.table.core.chinacloudapi.cn",
            },
            IdentityStorage("https://stabc123.table.core.chinacloudapi.cn"),
        ),
        ({}, None),
    ],
    ids=[
        "connection-string",
        "connection-string-wins-over-identity",
        "account-with-default-identity",
        "account-with-user-assigned-identity",
        "table-uri-for-sovereign-clouds",
        "no-storage",
    ],
)
def test_storage_is_the_connection_string_when_given_else_the_identity_based_settings(
    env: dict[str, str], expected: object
) -> None:
    """Azurite keeps its connection string; in Azure the host's identity settings are used."""
    settings = Settings.from_env({**BASE, **env})
    assert storage_of(settings) == expected
    assert settings.has_storage is (expected is not None)


def test_identity_storage_builds_a_client_on_the_account_endpoint_with_a_token_credential() -> None:
    """No key: the client holds the table endpoint and the identity's token credential."""
    client = table_client(
        IdentityStorage("https://stabc123.table.core.windows.net", CLIENT_ID),
        "reportdeliveries",
        credential=FakeCredential,
    )
    assert isinstance(client, TableClient)
    assert client.url == "https://stabc123.table.core.windows.net"
    assert client.account_name == "stabc123"
    assert client.table_name == "reportdeliveries"
    assert isinstance(client.credential, FakeCredential)
    assert client.credential.client_id == CLIENT_ID


@pytest.mark.parametrize(
    ("client_id", "kind"),
    [(CLIENT_ID, ManagedIdentityCredential), (None, DefaultAzureCredential)],
    ids=["user-assigned-identity", "default-chain"],
)
def test_the_real_credential_is_the_named_managed_identity_or_the_default_chain(
    client_id: str | None, kind: type
) -> None:
    """AzureWebJobsStorage__clientId picks the user-assigned identity (built, never called)."""
    client = table_client(
        IdentityStorage("https://stabc123.table.core.windows.net", client_id), "ledger"
    )
    assert isinstance(client.credential, kind)


def test_a_connection_string_builds_a_client_on_azurite_with_the_shorthand_expanded() -> None:
    """UseDevelopmentStorage=true; (any spelling) reaches Azurite's table endpoint."""
    client = table_client("usedevelopmentstorage=true;", "ledger")
    assert client.url.startswith("http://127.0.0.1:10002/devstoreaccount1")


def test_only_connection_strings_carry_secrets() -> None:
    """The key of a connection string is scrubbed from messages; an identity has none."""
    assert secrets_of(IdentityStorage("https://stabc123.table.core.windows.net")) == set()
    key = DEV_CONNECTION_STRING.split("AccountKey=")[1].split(";")[0]
    assert key in secrets_of("UseDevelopmentStorage=true")


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("AzureWebJobsStorage__accountName", "Not_An_Account"),
        ("AzureWebJobsStorage__tableServiceUri", "http://stabc123.table.core.windows.net"),
    ],
    ids=["bad-account-name", "plain-http-table-uri"],
)
def test_malformed_identity_storage_settings_are_named_in_the_config_error(
    name: str, value: str
) -> None:
    """A typo in the identity settings fails at start-up, naming the setting."""
    from shared.errors import ConfigError

    with pytest.raises(ConfigError, match=name):
        Settings.from_env({**BASE, name: value})
