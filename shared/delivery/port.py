"""The one port every destination implements: where it posts (a fingerprint) and how.

Slack webhooks, the Slack bot, SMTP email, the chart fallback around a Slack poster and every
test fake are `Poster`s; shared/delivery/once.py is the only code that calls `post`.
"""

from __future__ import annotations

from typing import Any, Protocol, Self, TypeVar

M_contra = TypeVar("M_contra", contravariant=True)


class Poster(Protocol[M_contra]):
    """A destination that takes a ready message (rendering is the caller's job)."""

    @property
    def destination(self) -> str:
        """A short non-secret fingerprint of the destination: the delivery ledger keys on it."""
        ...

    def post(self, message: M_contra) -> None:
        """Post `message` once; raises DeliveryError (shared/errors.py) when it was not taken,
        with `maybe_posted` True when the destination may have it all the same."""
        ...


class Postable(Protocol):
    """A Slack message that knows its payload ({"text": ..., "blocks": [...]})."""

    def payload(self) -> dict[str, Any]: ...


class Message(Protocol):
    """A ready message whose one-line text the ledger records when it is posted."""

    @property
    def text(self) -> str: ...


class ChartedMessage(Postable, Protocol):
    """A Slack message that may hold charts, and knows itself without them (the renderer
    builds both: delivery only chooses, shared/delivery/chart_fallback.py)."""

    def has_charts(self) -> bool: ...

    def without_charts(self) -> Self: ...
