"""Delivery ledger: each (report, window, destination) is claimed once, so Slack gets it once."""

from __future__ import annotations

import hashlib
import logging
import re
import threading
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from enum import StrEnum
from typing import TYPE_CHECKING, Any, NoReturn, Protocol

from shared.delivery.tables import Storage, secrets_of, table_client
from shared.delivery.tables import (  # noqa: F401 - kept: tests import it from here
    resolve_connection_string as _resolve_connection_string,
)
from shared.errors import LedgerError

if TYPE_CHECKING:
    from azure.data.tables import TableClient

logger = logging.getLogger(__name__)

DETAIL_MAX_CHARS = 1000
_TABLE_NAME = re.compile(r"[A-Za-z][A-Za-z0-9]{2,62}")
# Characters Table storage forbids in keys (/ \ # ? and C0/C1 controls), plus '%' (point
# operations on keys containing it fail on the real service) and '~', our escape character.
_KEY_UNSAFE = re.compile(r"[/\\#?%~\x00-\x1f\x7f-\x9f]")
# Keys are limited to 1 KiB of UTF-16; stay well under it and hash the rest.
_KEY_MAX_UTF16_BYTES = 800
_KEY_PREFIX_CHARS = 200
# Secrets that could reach `detail` through an exception text; they must never be stored.
_SECRET_PATTERNS = (
    re.compile(r"(hooks\.slack\.com/)\S+", re.IGNORECASE),
    re.compile(r"\b(xox[abposr]-)[A-Za-z0-9-]+"),
    re.compile(r"(AccountKey=)[^;\s]+", re.IGNORECASE),
    re.compile(r"([?&]sig=)[^&\s]+", re.IGNORECASE),
)


class DeliveryStatus(StrEnum):
    """Where one delivery stands."""

    CLAIMED = "claimed"
    SENT = "sent"
    FAILED = "failed"


@dataclass(frozen=True, slots=True)
class DeliveryKey:
    """One report for one window to one destination: the unit delivered exactly once."""

    report: str
    start: date
    end: date
    destination: str

    def __post_init__(self) -> None:
        if not self.report:
            raise ValueError("DeliveryKey.report must not be empty")
        if not self.destination:
            raise ValueError("DeliveryKey.destination must not be empty")
        # The fingerprint lands in storage and logs; a whole URL there would leak the webhook.
        if "://" in self.destination:
            raise ValueError("DeliveryKey.destination must be a fingerprint, never a URL")
        # datetime is a date subclass whose str() would silently change the row key.
        for name, value in (("start", self.start), ("end", self.end)):
            if isinstance(value, datetime) or not isinstance(value, date):
                raise ValueError(f"DeliveryKey.{name} must be a date, not {type(value).__name__}")
        if self.start > self.end:
            raise ValueError(f"DeliveryKey window is reversed: {self.start} > {self.end}")

    @property
    def partition_key(self) -> str:
        """The Table storage PartitionKey: the report, escaped."""
        return storage_key(self.report)

    @property
    def row_key(self) -> str:
        """The Table storage RowKey: `{start}_{end}_{destination}`, escaped."""
        return storage_key(f"{self.start.isoformat()}_{self.end.isoformat()}_{self.destination}")


@dataclass(frozen=True, slots=True)
class Claim:
    """Proof that this run may deliver `key`; `etag` detects a takeover after the lease expired."""

    key: DeliveryKey
    attempt: int
    etag: str


@dataclass(frozen=True, slots=True)
class DeliveryRecord:
    """One row of delivery history."""

    key: DeliveryKey
    status: DeliveryStatus
    attempt: int
    claimed_at: datetime
    updated_at: datetime
    detail: str
    # The first attempt's time and the first failure's words (rows older than these fields
    # read None/""): a late post says since when and why (shared/pipeline.py catch-up).
    first_attempt_at: datetime | None = None
    first_failure: str = ""

    @property
    def failure(self) -> str:
        """Why this delivery first failed ("" if it never did)."""
        if self.first_failure:
            return self.first_failure
        return self.detail if self.status is DeliveryStatus.FAILED else ""


class DeliveryLedger(Protocol):
    """Exactly-once bookkeeping for scheduled deliveries, shared by every instance of the app."""

    def claim(self, key: DeliveryKey, *, now: datetime) -> Claim | None:
        """Take the right to deliver `key`, or None if it was sent or another run holds it."""
        ...

    def mark_sent(self, claim: Claim, *, now: datetime, detail: str) -> None:
        """Record that Slack accepted the message; never undone."""
        ...

    def mark_failed(self, claim: Claim, *, now: datetime, detail: str) -> None:
        """Record that the run failed before Slack accepted it, so a later run may retry."""
        ...

    def history(self, *, report: str | None = None) -> list[DeliveryRecord]:
        """Every recorded delivery (of one report if given), most recently updated first."""
        ...


def storage_key(value: str) -> str:
    """Escape `value` into a legal, collision-free Table storage PartitionKey/RowKey."""
    escaped = _KEY_UNSAFE.sub(lambda m: f"~{ord(m.group()):02X}", value)
    if len(escaped.encode("utf-16-le")) <= _KEY_MAX_UTF16_BYTES:
        return escaped
    # Escapes are always '~' + two hex digits, so '~h' marks a hashed key and cannot collide.
    digest = hashlib.sha256(value.encode("utf-8")).hexdigest()
    return f"{escaped[:_KEY_PREFIX_CHARS]}~h{digest}"


def clean_detail(detail: str) -> str:
    """Make `detail` one line of at most 1000 characters with webhook URLs and keys masked."""
    text = "".join(ch if ch.isprintable() else " " for ch in str(detail))
    text = " ".join(text.split())
    for pattern in _SECRET_PATTERNS:
        text = pattern.sub(r"\1***", text)
    if len(text) > DETAIL_MAX_CHARS:
        text = text[: DETAIL_MAX_CHARS - 1] + "…"
    return text


def _utc(now: datetime) -> datetime:
    """Reject naive datetimes (their zone is a guess) and normalise aware ones to UTC."""
    if not isinstance(now, datetime):
        raise TypeError(f"now must be a datetime, not {type(now).__name__}")
    if now.tzinfo is None or now.utcoffset() is None:
        raise ValueError("now must be timezone-aware (e.g. datetime.now(UTC))")
    return now.astimezone(UTC)


def _check_lease(lease: timedelta) -> timedelta:
    """A lease must be positive, or a crashed run would block its delivery forever/never."""
    if lease <= timedelta(0):
        raise ValueError(f"lease must be positive, got {lease}")
    return lease


def _can_take_over(status: str, lease_expires: datetime | None, now: datetime) -> bool:
    """Decide whether an existing record may be claimed again (shared by both ledgers)."""
    if status == DeliveryStatus.FAILED:
        return True
    if status == DeliveryStatus.CLAIMED:
        # A missing lease is a corrupt row; treat it as expired rather than blocked forever.
        return lease_expires is None or lease_expires <= now
    # SENT, or a status this version does not know: never risk a second post.
    return False


# --------------------------------------------------------------------------- in memory


@dataclass(slots=True)
class _MemoryRow:
    status: DeliveryStatus
    attempt: int
    claimed_at: datetime
    updated_at: datetime
    lease_expires: datetime
    detail: str
    version: int
    first_attempt_at: datetime | None = None
    first_failure: str = ""


class InMemoryLedger:
    """DeliveryLedger in process memory, lock-protected; same rules as TableDeliveryLedger."""

    def __init__(self, *, lease: timedelta = timedelta(minutes=15)) -> None:
        self._lease = _check_lease(lease)
        self._lock = threading.Lock()
        self._rows: dict[DeliveryKey, _MemoryRow] = {}
        self._versions = 0

    def _next_version(self) -> int:
        self._versions += 1
        return self._versions

    def claim(self, key: DeliveryKey, *, now: datetime) -> Claim | None:
        """Take the right to deliver `key`, or None if it was sent or another run holds it."""
        now = _utc(now)
        with self._lock:
            row = self._rows.get(key)
            if row is None:
                row = _MemoryRow(
                    status=DeliveryStatus.CLAIMED,
                    attempt=1,
                    claimed_at=now,
                    updated_at=now,
                    lease_expires=now + self._lease,
                    detail="",
                    version=self._next_version(),
                    first_attempt_at=now,
                )
                self._rows[key] = row
                return Claim(key=key, attempt=1, etag=str(row.version))
            if not _can_take_over(row.status, row.lease_expires, now):
                return None
            if row.status == DeliveryStatus.CLAIMED:
                logger.warning(
                    "delivery %s: taking over attempt %d whose lease expired at %s",
                    _describe(key),
                    row.attempt,
                    row.lease_expires.isoformat(),
                )
            if row.status == DeliveryStatus.FAILED and not row.first_failure:
                row.first_failure = row.detail
            row.status = DeliveryStatus.CLAIMED
            row.attempt += 1
            row.claimed_at = now
            row.updated_at = now
            row.lease_expires = now + self._lease
            row.version = self._next_version()
            return Claim(key=key, attempt=row.attempt, etag=str(row.version))

    def mark_sent(self, claim: Claim, *, now: datetime, detail: str) -> None:
        """Record that Slack accepted the message; written even if the lease was taken over."""
        now = _utc(now)
        detail = clean_detail(detail)
        with self._lock:
            row = self._rows.get(claim.key)
            if row is None:
                logger.warning("delivery %s: record vanished; recording sent", _describe(claim.key))
                self._rows[claim.key] = _MemoryRow(
                    status=DeliveryStatus.SENT,
                    attempt=claim.attempt,
                    claimed_at=now,
                    updated_at=now,
                    lease_expires=now,
                    detail=detail,
                    version=self._next_version(),
                )
                return
            if str(row.version) != claim.etag:
                logger.warning(
                    "delivery %s: attempt %d lost its claim to attempt %d; recording sent anyway",
                    _describe(claim.key),
                    claim.attempt,
                    row.attempt,
                )
            row.status = DeliveryStatus.SENT
            row.attempt = claim.attempt
            row.updated_at = now
            row.detail = detail
            row.version = self._next_version()

    def mark_failed(self, claim: Claim, *, now: datetime, detail: str) -> None:
        """Record a failure so a later run may retry; ignored if the claim was taken over."""
        now = _utc(now)
        detail = clean_detail(detail)
        with self._lock:
            row = self._rows.get(claim.key)
            if row is None or str(row.version) != claim.etag:
                logger.warning(
                    "delivery %s: attempt %d no longer holds the claim; failure not recorded: %s",
                    _describe(claim.key),
                    claim.attempt,
                    detail,
                )
                return
            row.status = DeliveryStatus.FAILED
            row.updated_at = now
            row.detail = detail
            row.version = self._next_version()

    def history(self, *, report: str | None = None) -> list[DeliveryRecord]:
        """Every recorded delivery (of one report if given), most recently updated first."""
        with self._lock:
            records = [
                DeliveryRecord(
                    key=key,
                    status=row.status,
                    attempt=row.attempt,
                    claimed_at=row.claimed_at,
                    updated_at=row.updated_at,
                    detail=row.detail,
                    first_attempt_at=row.first_attempt_at,
                    first_failure=row.first_failure,
                )
                for key, row in self._rows.items()
                if report is None or key.report == report
            ]
        return _newest_first(records)


# --------------------------------------------------------------------------- Table storage


class TableDeliveryLedger:
    """DeliveryLedger on Azure Table storage: atomic inserts and etag-conditional updates."""

    def __init__(
        self,
        connection_string: Storage,
        *,
        table_name: str = "reportdeliveries",
        lease: timedelta = timedelta(minutes=15),
    ) -> None:
        """`connection_string`: a connection string, or an account reached with the app's
        identity (shared/delivery/tables.py)."""
        if not _TABLE_NAME.fullmatch(table_name):
            raise ValueError(
                f"invalid table name {table_name!r}: 3-63 letters/digits, starting with a letter"
            )
        self._table_name = table_name
        self._lease = _check_lease(lease)
        self._secrets = secrets_of(connection_string)
        try:
            self._client: TableClient = table_client(connection_string, table_name)
        except (ValueError, TypeError) as exc:
            # The SDK's message may quote the string; only the exception type is safe to show.
            raise LedgerError(
                f"the storage connection string is not usable ({type(exc).__name__})"
            ) from None
        self._table_lock = threading.Lock()
        self._table_ready = False

    # -- helpers

    def _fail(self, action: str, exc: Exception) -> NoReturn:
        """Raise LedgerError for a storage failure, with every secret scrubbed from the text."""
        status = getattr(exc, "status_code", None)
        code = getattr(exc, "error_code", None)
        text = str(getattr(exc, "message", None) or exc).strip().splitlines()
        first = text[0] if text else ""
        for secret in sorted(self._secrets, key=len, reverse=True):
            first = first.replace(secret, "***")
        first = clean_detail(first)[:300]
        parts = [type(exc).__name__]
        if status is not None:
            parts.append(f"HTTP {status}")
        if code:
            parts.append(str(code))
        raise LedgerError(
            f"table storage {action} on table {self._table_name!r} failed "
            f"({', '.join(parts)}): {first}"
        ) from exc

    def _call(self, action: str, operation: Callable[[], Any]) -> Any:
        """Run one storage call; unexpected Azure errors become LedgerError."""
        from azure.core.exceptions import AzureError

        try:
            return operation()
        except AzureError as exc:
            self._fail(action, exc)

    def _ensure_table(self) -> None:
        """Create the table on first use, once per instance (other hosts may race us: fine)."""
        if self._table_ready:
            return
        from azure.core.exceptions import AzureError, ResourceExistsError

        with self._table_lock:
            if self._table_ready:
                return
            try:
                self._client.create_table()
            except ResourceExistsError:
                pass
            except AzureError as exc:
                self._fail("create table", exc)
            self._table_ready = True

    def _entity(self, key: DeliveryKey, **fields: Any) -> dict[str, Any]:
        return {"PartitionKey": key.partition_key, "RowKey": key.row_key, **fields}

    def _full_entity(
        self,
        key: DeliveryKey,
        *,
        status: DeliveryStatus,
        attempt: int,
        now: datetime,
        detail: str,
        owner: str,
        first_attempt_at: datetime | None = None,
        first_failure: str = "",
    ) -> dict[str, Any]:
        # The original key parts are stored too: the escaped keys are not meant to be parsed.
        return self._entity(
            key,
            report=key.report,
            start=key.start.isoformat(),
            end=key.end.isoformat(),
            destination=key.destination,
            status=str(status),
            attempt=attempt,
            claimed_at=now,
            updated_at=now,
            lease_expires=now + self._lease if status == DeliveryStatus.CLAIMED else now,
            detail=detail,
            owner=owner,
            first_attempt_at=first_attempt_at or now,
            first_failure=first_failure,
        )

    # -- DeliveryLedger

    def claim(self, key: DeliveryKey, *, now: datetime) -> Claim | None:
        """Take the right to deliver `key`, or None if it was sent or another run holds it."""
        from azure.core import MatchConditions
        from azure.core.exceptions import (
            AzureError,
            ResourceExistsError,
            ResourceModifiedError,
            ResourceNotFoundError,
        )
        from azure.data.tables import UpdateMode

        now = _utc(now)
        self._ensure_table()
        # A token per attempt lets us recognise our own write when the SDK retried a request
        # whose first try succeeded (the retry then sees 409/412 for a claim that is ours).
        owner = uuid.uuid4().hex
        # Two rounds at most: only a row deleted between our insert and our read loops back.
        for _ in range(2):
            entity = self._full_entity(
                key, status=DeliveryStatus.CLAIMED, attempt=1, now=now, detail="", owner=owner
            )
            try:
                created = self._client.create_entity(entity)
                return Claim(key=key, attempt=1, etag=str(created["etag"]))
            except ResourceExistsError:
                pass
            except AzureError as exc:
                self._fail("claim (insert)", exc)

            try:
                current = self._client.get_entity(key.partition_key, key.row_key)
            except ResourceNotFoundError:
                continue
            except AzureError as exc:
                self._fail("claim (read)", exc)
            etag = str(current.metadata["etag"])
            status = str(current.get("status", ""))
            attempt = int(current.get("attempt", 0))
            if current.get("owner") == owner and status == DeliveryStatus.CLAIMED:
                return Claim(key=key, attempt=attempt, etag=etag)
            if not _can_take_over(status, current.get("lease_expires"), now):
                return None
            if status == DeliveryStatus.CLAIMED:
                logger.warning(
                    "delivery %s: taking over attempt %d whose lease expired at %s",
                    _describe(key),
                    attempt,
                    current.get("lease_expires"),
                )
            detail = str(current.get("detail", ""))
            first_failure = str(current.get("first_failure", "") or "")
            if status == DeliveryStatus.FAILED and not first_failure:
                first_failure = detail
            first = current.get("first_attempt_at") or current.get("claimed_at")
            takeover = self._full_entity(
                key,
                status=DeliveryStatus.CLAIMED,
                attempt=attempt + 1,
                now=now,
                detail=detail,
                owner=owner,
                first_attempt_at=_aware(first) if isinstance(first, datetime) else None,
                first_failure=first_failure,
            )
            try:
                updated = self._client.update_entity(
                    takeover,
                    mode=UpdateMode.REPLACE,
                    etag=etag,
                    match_condition=MatchConditions.IfNotModified,
                )
                return Claim(key=key, attempt=attempt + 1, etag=str(updated["etag"]))
            except (ResourceModifiedError, ResourceNotFoundError):
                # Another run changed the row first; unless it was our own retried write, it won.
                return self._own_claim(key, owner)
            except AzureError as exc:
                self._fail("claim (take over)", exc)
        return None

    def _own_claim(self, key: DeliveryKey, owner: str) -> Claim | None:
        """After a lost conditional write, return the claim if the winner was in fact us."""
        from azure.core.exceptions import ResourceNotFoundError

        def read() -> Any:
            try:
                return self._client.get_entity(key.partition_key, key.row_key)
            except ResourceNotFoundError:
                return None

        current = self._call("claim (re-read)", read)
        if (
            current is not None
            and current.get("owner") == owner
            and current.get("status") == DeliveryStatus.CLAIMED
        ):
            return Claim(key=key, attempt=int(current["attempt"]), etag=current.metadata["etag"])
        return None

    def _update_if_ours(self, claim: Claim, fields: dict[str, Any], action: str) -> bool:
        """Merge `fields` only if the row is still as this claim left it; False if it is not."""
        from azure.core import MatchConditions
        from azure.core.exceptions import AzureError, ResourceModifiedError, ResourceNotFoundError
        from azure.data.tables import UpdateMode

        self._ensure_table()
        try:
            self._client.update_entity(
                fields,
                mode=UpdateMode.MERGE,
                etag=claim.etag,
                match_condition=MatchConditions.IfNotModified,
            )
        except (ResourceModifiedError, ResourceNotFoundError):
            return False
        except AzureError as exc:
            self._fail(action, exc)
        return True

    def mark_sent(self, claim: Claim, *, now: datetime, detail: str) -> None:
        """Record that Slack accepted the message; written even if the lease was taken over."""
        from azure.core.exceptions import ResourceNotFoundError
        from azure.data.tables import UpdateMode

        now = _utc(now)
        detail = clean_detail(detail)
        fields = self._entity(
            claim.key,
            status=str(DeliveryStatus.SENT),
            attempt=claim.attempt,
            updated_at=now,
            lease_expires=now,
            detail=detail,
        )
        if self._update_if_ours(claim, fields, "mark sent"):
            return
        logger.warning(
            "delivery %s: attempt %d lost its claim (lease taken over); recording sent anyway",
            _describe(claim.key),
            claim.attempt,
        )

        # The message is in Slack: SENT must be recorded whoever holds the row now.
        def force() -> None:
            try:
                self._client.update_entity(fields, mode=UpdateMode.MERGE)
            except ResourceNotFoundError:
                full = self._full_entity(
                    claim.key,
                    status=DeliveryStatus.SENT,
                    attempt=claim.attempt,
                    now=now,
                    detail=detail,
                    owner="",
                )
                self._client.upsert_entity(full, mode=UpdateMode.MERGE)

        self._call("mark sent (unconditional)", force)

    def mark_failed(self, claim: Claim, *, now: datetime, detail: str) -> None:
        """Record a failure so a later run may retry; ignored if the claim was taken over."""
        now = _utc(now)
        detail = clean_detail(detail)
        fields = self._entity(
            claim.key,
            status=str(DeliveryStatus.FAILED),
            updated_at=now,
            lease_expires=now,
            detail=detail,
        )
        if not self._update_if_ours(claim, fields, "mark failed"):
            logger.warning(
                "delivery %s: attempt %d no longer holds the claim; failure not recorded: %s",
                _describe(claim.key),
                claim.attempt,
                detail,
            )

    def history(self, *, report: str | None = None) -> list[DeliveryRecord]:
        """Every recorded delivery (of one report if given), most recently updated first."""
        self._ensure_table()

        def query() -> list[Any]:
            if report is None:
                return list(self._client.list_entities())
            return list(
                self._client.query_entities(
                    "PartitionKey eq @pk", parameters={"pk": storage_key(report)}
                )
            )

        records: list[DeliveryRecord] = []
        for entity in self._call("read history", query):
            record = _record_from_entity(entity)
            if record is not None:
                records.append(record)
        return _newest_first(records)


# --------------------------------------------------------------------------- helpers


def _describe(key: DeliveryKey) -> str:
    return f"{key.report} {key.start}..{key.end} -> {key.destination}"


def _newest_first(records: list[DeliveryRecord]) -> list[DeliveryRecord]:
    return sorted(
        records,
        key=lambda r: (r.updated_at, r.claimed_at, r.key.report, r.key.start, r.key.destination),
        reverse=True,
    )


def _aware(value: Any) -> datetime:
    if not isinstance(value, datetime):
        raise ValueError(f"expected a datetime, got {type(value).__name__}")
    # Edm.DateTime is UTC by definition; the SDK marks it so, but a plain value may slip in.
    if value.tzinfo is None:
        return value.replace(tzinfo=UTC)
    return value.astimezone(UTC)


def _record_from_entity(entity: Any) -> DeliveryRecord | None:
    """Build a history record from a table row; skip (and log) rows this code did not write."""
    try:
        key = DeliveryKey(
            report=str(entity["report"]),
            start=date.fromisoformat(str(entity["start"])),
            end=date.fromisoformat(str(entity["end"])),
            destination=str(entity["destination"]),
        )
        updated_at = _aware(entity["updated_at"])
        return DeliveryRecord(
            key=key,
            status=DeliveryStatus(str(entity["status"])),
            attempt=int(entity["attempt"]),
            claimed_at=_aware(entity.get("claimed_at", updated_at)),
            updated_at=updated_at,
            detail=str(entity.get("detail", "")),
            first_attempt_at=(
                _aware(entity["first_attempt_at"]) if entity.get("first_attempt_at") else None
            ),
            first_failure=str(entity.get("first_failure", "") or ""),
        )
    except (KeyError, ValueError, TypeError) as exc:
        logger.warning(
            "delivery history: skipping malformed row %r/%r (%s)",
            entity.get("PartitionKey"),
            entity.get("RowKey"),
            exc,
        )
        return None
