"""Charts where the destination takes them, the same report without them where it does not.

No source confirms that incoming webhooks accept data_visualization blocks, and refusals do not
always name the blocks: over webhooks the markdown block (the closest analogue) was refused with
HTTP 500 and an empty body, and other refusals come as an empty 400. So ANY answer to a message
with charts that says it was not posted, other than a rate limit, may be the charts: the same
report goes once more without them, inside the same delivery claim, so nothing is lost and
nothing is posted twice (an answer means nothing was posted; a timeout, which may have posted,
is never retried). When that chartless post goes through, the charts were what Slack refused:
the refusal is remembered per destination (in this process and in Table storage beside the
delivery ledger) so later reports skip the failing attempt until SLACK_CHARTS_RETRY_DAYS have
passed (SLACK_CHARTS=auto), or always try (on), or never (off). When it fails too, its error is
the report's failure and the charts are not blamed.
"""

from __future__ import annotations

import contextlib
import logging
import threading
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from http import HTTPStatus
from typing import TYPE_CHECKING, Any, Generic, Protocol, TypeVar

from shared.delivery.ledger import storage_key
from shared.delivery.port import ChartedMessage, Poster
from shared.delivery.tables import Storage, secrets_of, storage_of, table_client
from shared.errors import LedgerError, SlackError
from shared.settings import ChartsMode

if TYPE_CHECKING:
    import requests
    from azure.data.tables import TableClient

    from shared.settings import Secret, Settings

log = logging.getLogger("analytics_reporter")
CM = TypeVar("CM", bound=ChartedMessage)  # the destination's message type (Slack blocks)
PARTITION = "slack-charts"


class ChartMemory(Protocol):
    """Which destinations refused chart blocks, and when."""

    def refused_at(self, destination: str) -> datetime | None: ...

    def remember_refusal(self, destination: str, at: datetime, detail: str) -> None: ...

    def forget(self, destination: str) -> None: ...


def may_refuse_charts(error: SlackError) -> bool:
    """True when Slack answered without posting and not to slow us down: a possible refusal of
    the charts (whatever the status and body say, an empty 500 included), worth one more try
    without them. Never a post that may have landed, never a rate limit (that is retried)."""
    body = error.body.lower()
    return (
        error.status is not None
        and not error.maybe_posted
        and error.status != HTTPStatus.TOO_MANY_REQUESTS
        and body != "ratelimited"
    )


def blames_other_than_charts(error: SlackError) -> bool:
    """True when the refusal names another cause: a message too long is not about charts."""
    return "too_long" in error.body.lower()


class InMemoryChartMemory:
    """Refusals remembered for the life of this process (and the only memory in tests)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._refused: dict[str, datetime] = {}

    def refused_at(self, destination: str) -> datetime | None:
        with self._lock:
            return self._refused.get(destination)

    def remember_refusal(self, destination: str, at: datetime, detail: str) -> None:
        with self._lock:
            self._refused[destination] = at

    def forget(self, destination: str) -> None:
        with self._lock:
            self._refused.pop(destination, None)

    def clear(self) -> None:
        """Forget every destination (tests whose stand-ins may reuse a port)."""
        with self._lock:
            self._refused.clear()


PROCESS_CHART_MEMORY = InMemoryChartMemory()


class TableChartMemory:
    """Refusals in Azure Table storage (one row per destination fingerprint), cached in process.

    A storage failure never blocks a report: it is logged and the process memory answers.
    """

    def __init__(
        self,
        connection_string: Storage,
        *,
        table_name: str,
        process: InMemoryChartMemory = PROCESS_CHART_MEMORY,
    ) -> None:
        self._process = process
        self._table_name = table_name
        self._secrets = secrets_of(connection_string)
        try:
            self._client: TableClient | None = table_client(connection_string, table_name)
        except (ValueError, TypeError) as exc:
            log.warning(
                "chart memory unavailable (%s): using this process only", type(exc).__name__
            )
            self._client = None
        self._ready = False

    def _call(self, action: str, operation: Callable[[Any], Any]) -> Any:
        from azure.core.exceptions import AzureError, ResourceExistsError

        if self._client is None:
            return None
        try:
            if not self._ready:
                with contextlib.suppress(ResourceExistsError):
                    self._client.create_table()
                self._ready = True
            return operation(self._client)
        except AzureError as exc:
            text = " ".join(str(getattr(exc, "message", None) or exc).split())[:200]
            for secret in sorted(self._secrets, key=len, reverse=True):
                text = text.replace(secret, "***")
            log.warning(
                "chart memory: %s on table %r failed (%s): %s; using this process only",
                action,
                self._table_name,
                type(exc).__name__,
                text,
            )
            return None

    def refused_at(self, destination: str) -> datetime | None:
        known = self._process.refused_at(destination)
        if known is not None:
            return known
        from azure.core.exceptions import ResourceNotFoundError

        def read(client: Any) -> datetime | None:
            try:
                row = client.get_entity(PARTITION, storage_key(destination))
            except ResourceNotFoundError:
                return None
            value = row.get("refused_at")
            if not isinstance(value, datetime):
                return None
            return value if value.tzinfo else value.replace(tzinfo=UTC)

        found: datetime | None = self._call("read", read)
        if found is not None:
            self._process.remember_refusal(destination, found, "")
        return found

    def remember_refusal(self, destination: str, at: datetime, detail: str) -> None:
        self._process.remember_refusal(destination, at, detail)
        entity = {
            "PartitionKey": PARTITION,
            "RowKey": storage_key(destination),
            "destination": destination,
            "refused_at": at.astimezone(UTC),
            "detail": detail[:500],
        }
        self._call("write", lambda client: client.upsert_entity(entity))

    def forget(self, destination: str) -> None:
        self._process.forget(destination)
        self._call(
            "delete", lambda client: client.delete_entity(PARTITION, storage_key(destination))
        )


class ChartFallbackPoster(Generic[CM]):
    """Posts charts where accepted; on a refusal, the same report once more without them."""

    def __init__(
        self,
        inner: Poster[CM],
        *,
        memory: ChartMemory,
        mode: ChartsMode = ChartsMode.AUTO,
        retry_after: timedelta = timedelta(days=30),
        clock: Callable[[], datetime],
    ) -> None:
        self._inner = inner
        self._memory = memory
        self._mode = mode
        self._retry_after = retry_after
        self._clock = clock

    @property
    def destination(self) -> str:
        """The wrapped destination's fingerprint (the delivery ledger keys on it)."""
        return self._inner.destination

    def post(self, message: CM) -> None:
        """Post `message` once; charts are dropped when refused, now or remembered."""
        if not message.has_charts():
            self._inner.post(message)
            return
        if self._mode is ChartsMode.OFF:
            self._inner.post(message.without_charts())
            return
        destination = self._inner.destination
        refused = self._refused_at(destination)
        recent = refused is not None and self._clock() - refused < self._retry_after
        if self._mode is ChartsMode.AUTO and recent:
            self._inner.post(message.without_charts())
            return
        try:
            self._inner.post(message)
        except SlackError as exc:
            if not may_refuse_charts(exc):
                raise
            log.warning(
                "Slack did not take the message with charts (HTTP %s %s); posting the same "
                "report without charts",
                exc.status,
                exc.body or "(empty body)",
            )
            self._inner.post(message.without_charts())
            # Remembered only once the same message without charts went through: then the
            # charts, not some other block or an outage, were what Slack refused.
            if not blames_other_than_charts(exc):
                log.warning(
                    "skipping charts for this destination for %s days (SLACK_CHARTS_RETRY_DAYS)",
                    self._retry_after.days,
                )
                self._remember(destination, exc)
            return
        if refused is not None:
            log.info("Slack accepted chart blocks again for this destination")
            self._forget(destination)

    def _refused_at(self, destination: str) -> datetime | None:
        try:
            return self._memory.refused_at(destination)
        except LedgerError as exc:
            log.warning("chart memory unreadable: %s", exc)
            return None

    def _remember(self, destination: str, exc: SlackError) -> None:
        try:
            self._memory.remember_refusal(destination, self._clock(), str(exc))
        except LedgerError as exc2:
            log.warning("chart memory not written: %s", exc2)

    def _forget(self, destination: str) -> None:
        try:
            self._memory.forget(destination)
        except LedgerError as exc:
            log.warning("chart memory not cleared: %s", exc)


def charted_poster(
    settings: Settings, session: requests.Session, *, webhook: Secret | None = None
) -> ChartFallbackPoster[Any]:
    """A Slack destination: `webhook` if given, else the bot token and channel if set, else
    SLACK_WEBHOOK_URL."""
    from shared.clock import utc_now
    from shared.delivery.slack_bot import SlackBotPoster
    from shared.delivery.slack_client import SlackWebhook

    inner: Poster[Any]
    if webhook is not None:
        inner = SlackWebhook(webhook, session=session)
    elif settings.slack_bot_token is not None and settings.slack_channel:
        inner = SlackBotPoster(
            settings.slack_bot_token, settings.slack_channel, api_url=settings.slack_api_url
        )
    else:
        inner = SlackWebhook(settings.slack_webhook_url, session=session)
    memory: ChartMemory = PROCESS_CHART_MEMORY
    storage = storage_of(settings)
    if storage is not None:
        memory = TableChartMemory(storage, table_name=chart_table(settings.delivery_table))
    return ChartFallbackPoster(
        inner,
        memory=memory,
        mode=settings.slack_charts,
        retry_after=timedelta(days=settings.slack_charts_retry_days),
        clock=utc_now,
    )


def chart_table(delivery_table: str) -> str:
    """The table beside the delivery ledger's that remembers chart refusals."""
    return f"{delivery_table[:57]}charts"
