"""What a job reads from the host's invocation Context (by attribute: no azure.functions)."""

from __future__ import annotations


def function_name(context: object, default: str) -> str:
    """The invoked function's name from the host's Context, else `default`."""
    name = getattr(context, "function_name", None)
    return name if isinstance(name, str) and name else default


def will_retry(context: object) -> bool | None:
    """Whether the host runs this invocation again if it fails (None when it does not say)."""
    retry = getattr(context, "retry_context", None)
    count, most = getattr(retry, "retry_count", None), getattr(retry, "max_retry_count", None)
    if not isinstance(count, int) or not isinstance(most, int):
        return None
    return count < most
