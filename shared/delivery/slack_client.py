"""Slack incoming-webhook client: posts a Block Kit message; errors never carry the URL."""

from __future__ import annotations

import json
import logging
import re
import time
from collections.abc import Callable
from urllib.parse import urlsplit

import requests
from urllib3.exceptions import ConnectTimeoutError, NewConnectionError

from shared.delivery.port import Postable
from shared.errors import SlackError
from shared.retry import DELIVERY_POLICY, RetryPolicy, parse_retry_after, sleep_seconds
from shared.settings import Secret


class SlackWebhook:
    """Posts to one incoming webhook. Retries only what cannot have been posted yet."""

    def __init__(
        self,
        url: Secret,
        *,
        session: requests.Session,
        timeout: float = 10.0,
        policy: RetryPolicy = DELIVERY_POLICY,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self._url = url
        self._session = session
        self._timeout = timeout
        self._policy = policy
        self._sleep = sleep

    @property
    def destination(self) -> str:
        """A short non-secret fingerprint of the webhook, for delivery records."""
        return self._url.fingerprint()

    def post(self, message: Postable) -> None:
        """Send `message`; returns once Slack answered 200, else raises SlackError."""
        data = json.dumps(message.payload(), ensure_ascii=False, allow_nan=False).encode("utf-8")
        for attempt in range(1, self._policy.max_attempts + 1):
            failure = self._send(data)
            if isinstance(failure, SlackError):
                # Raised here, outside any except block, so no requests error (whose text
                # names the URL) rides along as __context__.
                raise failure
            if isinstance(failure, _NotSent):
                if attempt < self._policy.max_attempts:
                    self._sleep(sleep_seconds(self._policy, attempt, None))
                    continue
                raise SlackError("could not reach Slack (ConnectionError)")
            response = failure
            if response.status_code == 200:
                return
            body = self._scrub(response.text)
            if response.status_code == 429 and attempt < self._policy.max_attempts:
                wait = parse_retry_after(response.headers.get("Retry-After"))
                if wait is not None and self._policy.waits_for(wait):
                    self._sleep(wait)
                    continue
            raise SlackError(
                _advice(response.status_code, body), status=response.status_code, body=body
            )
        raise SlackError("gave up after retries")  # pragma: no cover - loop always returns/raises

    def _send(self, data: bytes) -> requests.Response | SlackError | _NotSent:
        """One POST: the response, _RETRY when nothing was sent, or the error to raise."""
        try:
            return self._session.post(
                self._url.reveal(),
                data=data,
                headers={"Content-Type": "application/json; charset=utf-8"},
                timeout=self._timeout,
            )
        except requests.ConnectionError as exc:
            if _never_sent(exc):  # nothing reached Slack, so trying again cannot post twice
                return _RETRY
            return SlackError(
                f"connection to Slack failed ({type(exc).__name__}); the message may or may "
                "not have been posted",
                maybe_posted=True,
            )
        except requests.RequestException as exc:
            # A read timeout may have posted: never retried, reported as unknown.
            return SlackError(
                f"no answer from Slack ({type(exc).__name__}); the message may or may not "
                "have been posted",
                maybe_posted=True,
            )

    def _scrub(self, text: str) -> str:
        """Slack's answer with the webhook masked, whole or by its path or token."""
        url = self._url.reveal()
        parts = urlsplit(url)
        forms = [url, parts.path, *(seg for seg in parts.path.split("/") if len(seg) >= 8)]
        for form in sorted({f for f in forms if f}, key=len, reverse=True):
            text = text.replace(form, "********")
        return text


class _NotSent:
    """The connection was never made: nothing reached Slack."""


_RETRY = _NotSent()


class _RedactWebhookPaths(logging.Filter):
    """urllib3 logs each request line at DEBUG; a webhook's path is its secret."""

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        if "/services/" in message:
            record.msg = re.sub(r"/services/\S+?(?=[\s\"']|$)", "/services/********", message)
            record.args = ()
        return True


logging.getLogger("urllib3.connectionpool").addFilter(_RedactWebhookPaths())


def _never_sent(exc: requests.ConnectionError) -> bool:
    """True when the connection was never made, so Slack cannot have the message."""
    if isinstance(exc, requests.ConnectTimeout):
        return True
    reason = getattr(exc.args[0], "reason", None) if exc.args else None
    return isinstance(reason, NewConnectionError | ConnectTimeoutError)


def _advice(status: int, body: str) -> str:
    if body in {
        "invalid_payload",
        "invalid_blocks",
        "invalid_blocks_format",
        "no_text",
        "msg_blocks_too_long",
    }:
        return "Slack rejected the message format"
    if body in {
        "no_service",
        "channel_not_found",
        "channel_is_archived",
        "invalid_token",
        "action_prohibited",
        "posting_to_general_channel_denied",
    }:
        return "the webhook is disabled or its channel is gone: check SLACK_WEBHOOK_URL"
    if status == 429:
        return "Slack rate limit reached"
    return "Slack refused the message"
