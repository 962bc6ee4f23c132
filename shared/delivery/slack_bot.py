"""Slack bot-token delivery: chat.postMessage through slack_sdk's WebClient; no token in errors.

The Web API answers most errors as HTTP 200 with {"ok": false, "error": "..."}: slack_sdk
raises SlackApiError for those, and each becomes a SlackError here, so a refused message is a
failure exactly as a webhook's HTTP 400 is. Blocks go out as plain dicts: slack_sdk has no model
for data_visualization, and Block.parse() would drop it.
"""

from __future__ import annotations

import logging
import socket
import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any
from urllib.error import URLError

from shared.delivery.port import Postable
from shared.errors import SlackError
from shared.retry import DELIVERY_POLICY, RetryPolicy, parse_retry_after, sleep_seconds
from shared.settings import Secret

if TYPE_CHECKING:
    from slack_sdk import WebClient

DEFAULT_API_URL = "https://slack.com/api/"
WHERE = "Slack chat.postMessage"
log = logging.getLogger("analytics_reporter")


class SlackBotPoster:
    """Posts to one channel with a bot token. Retries only what cannot have been posted yet."""

    def __init__(
        self,
        token: Secret,
        channel: str,
        *,
        api_url: str | None = None,
        timeout: float = 10.0,
        policy: RetryPolicy = DELIVERY_POLICY,
        sleep: Callable[[float], None] = time.sleep,
        client: WebClient | None = None,
    ) -> None:
        from slack_sdk import WebClient  # imported here: only bot-token deployments pay for it

        self._token = token
        self._channel = channel
        self._policy = policy
        self._sleep = sleep
        base = (api_url or DEFAULT_API_URL).rstrip("/") + "/"
        if api_url and not base.endswith("/api/"):
            base += "api/"
        # No retry handlers: this class decides what is safe to repeat (never a maybe-posted).
        self._client = client or WebClient(
            token=token.reveal(), base_url=base, timeout=int(max(1, timeout)), retry_handlers=[]
        )

    @property
    def destination(self) -> str:
        """A short non-secret fingerprint of the token and channel, for delivery records."""
        return Secret(f"{self._token.reveal()}\n{self._channel}").fingerprint()

    def post(self, message: Postable) -> None:
        """Send `message` with chat.postMessage; returns once Slack said ok, else SlackError."""
        payload = message.payload()
        for attempt in range(1, self._policy.max_attempts + 1):
            outcome = self._send(payload)
            if outcome is None:
                return
            if isinstance(outcome, _Wait):
                if attempt < self._policy.max_attempts:
                    self._sleep(sleep_seconds(self._policy, attempt, outcome.retry_after))
                    continue
                raise outcome.error
            raise outcome
        raise SlackError("gave up after retries")  # pragma: no cover - loop always returns/raises

    def _send(self, payload: dict[str, Any]) -> SlackError | _Wait | None:
        """One call: None when posted, a wait before retrying, or the error to raise."""
        from slack_sdk.errors import SlackApiError, SlackClientError

        try:
            self._client.chat_postMessage(
                channel=self._channel, text=payload["text"], blocks=payload.get("blocks")
            )
        except SlackApiError as exc:
            return self._refused(exc)
        except URLError as exc:
            if isinstance(exc.reason, ConnectionRefusedError | socket.gaierror):
                return _Wait(
                    None, SlackError("could not reach Slack (ConnectionError)", where=WHERE)
                )
            return _maybe_posted(exc)
        except (OSError, SlackClientError) as exc:  # a timeout or a dropped connection
            return _maybe_posted(exc)
        return None

    def _refused(self, exc: Any) -> SlackError | _Wait:
        response = exc.response
        status = int(getattr(response, "status_code", 0) or 0)
        data = getattr(response, "data", None)
        code = str(data.get("error", "")) if isinstance(data, dict) else ""
        code = self._scrub(" ".join(code.split())[:200])
        error = SlackError(_advice(code, status), status=status, body=code or "not_ok", where=WHERE)
        if status == 429 or code == "ratelimited":
            headers = getattr(response, "headers", {}) or {}
            wait = parse_retry_after(headers.get("Retry-After") or headers.get("retry-after"))
            if wait is not None and self._policy.waits_for(wait):
                return _Wait(wait, error)
        return error

    def _scrub(self, text: str) -> str:
        return text.replace(self._token.reveal(), "********") if self._token.reveal() else text


class _Wait:
    """Nothing was posted: wait (Slack's Retry-After, else the policy's backoff), then try
    again, or raise `error` when out of tries."""

    def __init__(self, retry_after: float | None, error: SlackError) -> None:
        self.retry_after = retry_after
        self.error = error


def _maybe_posted(exc: BaseException) -> SlackError:
    return SlackError(
        f"no answer from Slack ({type(exc).__name__}); the message may or may not have been posted",
        maybe_posted=True,
        where=WHERE,
    )


def _advice(code: str, status: int) -> str:
    if code in {"invalid_blocks", "invalid_blocks_format", "msg_blocks_too_long", "no_text"}:
        return "Slack rejected the message format (chat.postMessage)"
    if code in {
        "invalid_auth",
        "not_authed",
        "token_revoked",
        "account_inactive",
        "channel_not_found",
        "not_in_channel",
        "is_archived",
        "missing_scope",
    }:
        return (
            "the bot cannot post there: check SLACK_BOT_TOKEN, its chat:write scope "
            "and SLACK_CHANNEL"
        )
    if status == 429 or code == "ratelimited":
        return "Slack rate limit reached"
    return "Slack refused the message (chat.postMessage)"
