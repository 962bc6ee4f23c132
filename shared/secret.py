"""A credential's value, kept out of every repr, str, log line and message."""

from __future__ import annotations

import hashlib


class Secret:
    """A credential: its value is only available through `reveal()`, never in repr or str."""

    __slots__ = ("_value",)

    def __init__(self, value: str) -> None:
        self._value = value

    def reveal(self) -> str:
        """The real value, for the one place that sends it."""
        return self._value

    def fingerprint(self) -> str:
        """A short non-secret identifier (for delivery records)."""
        return hashlib.sha256(self._value.encode()).hexdigest()[:12]

    def __repr__(self) -> str:
        return "Secret('********')"

    __str__ = __repr__

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Secret) and other._value == self._value

    def __hash__(self) -> int:
        return hash(self._value)
