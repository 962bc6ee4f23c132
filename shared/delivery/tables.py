"""Table storage clients, from a connection string (Azurite, local) or the app's identity (Azure).

The one place that decides how the delivery ledger and the chart memory reach their tables:
- a connection string (`AzureWebJobsStorage`, e.g. `UseDevelopmentStorage=true`) wins when given;
- otherwise the identity-based host storage settings the Functions host uses itself
  (`AzureWebJobsStorage__accountName` or `__tableServiceUri`) with an Entra token: the
  user-assigned identity `AzureWebJobsStorage__clientId` when set, else DefaultAzureCredential
  (the system-assigned identity in Azure, a developer's `az login` elsewhere). No key anywhere.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from azure.data.tables import TableClient

    from shared.settings import Settings

# Azurite's published development account (not a secret: it is in every Azure SDK and doc).
_DEV_ACCOUNT_KEY = (
    "Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw=="
)
DEV_CONNECTION_STRING = (
    "DefaultEndpointsProtocol=http;AccountName=devstoreaccount1;"
    f"AccountKey={_DEV_ACCOUNT_KEY};"
    "TableEndpoint=http://127.0.0.1:10002/devstoreaccount1;"
)
ACCOUNT_NAME = re.compile(r"[a-z0-9]{3,24}")
# Bounded waits: the Function's own timeout must not be eaten by a hung socket.
TIMEOUTS: dict[str, Any] = {"connection_timeout": 10, "read_timeout": 30}


@dataclass(frozen=True, slots=True)
class IdentityStorage:
    """A storage account reached with an Entra token: its table endpoint and which identity."""

    table_endpoint: str  # https://<account>.table.core.windows.net (or __tableServiceUri)
    client_id: str | None = None  # a user-assigned identity; None: DefaultAzureCredential

    @classmethod
    def for_account(cls, account: str, client_id: str | None = None) -> IdentityStorage:
        """The public-cloud table endpoint of `account`."""
        if not ACCOUNT_NAME.fullmatch(account):
            raise ValueError(f"invalid storage account name {account!r}")
        return cls(f"https://{account}.table.core.windows.net", client_id)


# What a table client is built from: a connection string, or an account and an identity.
Storage = str | IdentityStorage
CredentialFactory = Callable[[str | None], Any]


def storage_of(settings: Settings) -> Storage | None:
    """How `settings` reach storage: the connection string if set, else the identity, else None."""
    if settings.storage_connection is not None:
        return settings.storage_connection.reveal()
    if settings.storage_table_uri:
        return IdentityStorage(settings.storage_table_uri, settings.storage_client_id)
    if settings.storage_account:
        return IdentityStorage.for_account(settings.storage_account, settings.storage_client_id)
    return None


def identity_credential(client_id: str | None) -> Any:
    """The app's token credential: its user-assigned identity if named, else the default chain."""
    # Imported here: azure.identity (and msal) would cost every cold start, used or not.
    from azure.identity import DefaultAzureCredential, ManagedIdentityCredential

    if client_id:
        return ManagedIdentityCredential(client_id=client_id)
    return DefaultAzureCredential()


def table_client(
    storage: Storage,
    table_name: str,
    *,
    credential: CredentialFactory = identity_credential,
) -> TableClient:
    """A client for `table_name`; ValueError/TypeError if a connection string is unusable."""
    # Imported here: azure.data.tables costs ~0.2 s, more than a cold start may spend.
    from azure.data.tables import TableClient

    if isinstance(storage, IdentityStorage):
        return TableClient(
            endpoint=storage.table_endpoint,
            table_name=table_name,
            credential=credential(storage.client_id),
            **TIMEOUTS,
        )
    return TableClient.from_connection_string(
        resolve_connection_string(storage), table_name, **TIMEOUTS
    )


def resolve_connection_string(connection_string: str) -> str:
    """Expand the `UseDevelopmentStorage=true` shorthand (any case, optional ';') for Azurite."""
    # azure-data-tables 12.7 maps only the exact lower-cased string; local.settings.json
    # files often carry a trailing ';' or spaces, which it would reject.
    compact = connection_string.strip().rstrip(";").replace(" ", "").lower()
    if compact == "usedevelopmentstorage=true":
        return DEV_CONNECTION_STRING
    return connection_string


def secrets_of(storage: Storage) -> set[str]:
    """The parts of a storage description that must never appear in a message."""
    if isinstance(storage, IdentityStorage):
        return set()  # an endpoint and a client id: no credential in them
    secrets: set[str] = set()
    for text in {storage, resolve_connection_string(storage)}:
        if text.strip():
            secrets.add(text.strip())
        for part in text.split(";"):
            name, _, value = part.partition("=")
            if name.strip().lower() in {"accountkey", "sharedaccesssignature"} and value.strip():
                secrets.add(value.strip())
    return secrets
