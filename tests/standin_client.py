"""A MixpanelClient of a loopback Mixpanel (the stand-in, or the bench's synthetic server)."""

from __future__ import annotations

from typing import Any

import requests

from shared.settings import Secret
from shared.sources.mixpanel_client import MixpanelClient


def standin_client(
    origin: str,
    *,
    username: str,
    secret: str,
    project_id: str,
    session: requests.Session,
    **options: Any,
) -> MixpanelClient:
    """The client of the project served at `origin`: its Query API and Raw Export API paths;
    `options` are MixpanelClient's own (sleep, call_budget, names_cache, timeouts...)."""
    return MixpanelClient(
        query_base=f"{origin}/api/query",
        export_url=f"{origin}/api/2.0/export",
        username=username,
        secret=Secret(secret),
        project_id=project_id,
        session=session,
        **options,
    )
