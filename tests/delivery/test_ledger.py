"""The delivery ledger's rules, run against Azurite (TableDeliveryLedger) and InMemoryLedger."""

from __future__ import annotations

import logging
import subprocess
import sys
from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta, timezone
from pathlib import Path

import pytest

from shared.delivery.ledger import (
    Claim,
    DeliveryKey,
    DeliveryLedger,
    DeliveryStatus,
    InMemoryLedger,
    LedgerError,
    TableDeliveryLedger,
    _resolve_connection_string,
    clean_detail,
    storage_key,
)
from tests.azurite import ACCOUNT_KEY, free_port, table_connection_string
from tests.race import race

T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
LEASE = timedelta(minutes=15)
KEY = DeliveryKey("daily", date(2026, 3, 1), date(2026, 3, 1), "a1b2c3d4e5f6")

LedgerFactory = Callable[[], DeliveryLedger]


@pytest.fixture(params=["memory", pytest.param("table", marks=pytest.mark.azurite)])
def make_ledger(request: pytest.FixtureRequest, ledger_table_name: str) -> LedgerFactory:
    """Build ledgers sharing one store: one table on Azurite, or one InMemoryLedger."""
    if request.param == "memory":
        shared = InMemoryLedger(lease=LEASE)
        return lambda: shared
    conn = request.getfixturevalue("azurite_connection_string")
    # A new instance per call mimics separate hosts that share only the storage account.
    return lambda: TableDeliveryLedger(conn, table_name=ledger_table_name, lease=LEASE)


@pytest.fixture
def ledger(make_ledger: LedgerFactory) -> DeliveryLedger:
    """One ledger over a fresh store."""
    return make_ledger()


def _claim(ledger: DeliveryLedger, key: DeliveryKey = KEY, now: datetime = T0) -> Claim:
    claim = ledger.claim(key, now=now)
    assert claim is not None
    return claim


# ------------------------------------------------------------------------------ spec


def test_the_first_claim_wins_with_attempt_one(ledger: DeliveryLedger) -> None:
    """No record yet: claim creates one and returns attempt 1."""
    claim = _claim(ledger)
    assert claim.key == KEY
    assert claim.attempt == 1
    assert claim.etag
    [record] = ledger.history()
    assert record.status is DeliveryStatus.CLAIMED
    assert record.claimed_at == T0


def test_a_second_claim_while_the_first_is_in_progress_gets_none(
    make_ledger: LedgerFactory,
) -> None:
    """A live lease held by another run blocks the claim."""
    _claim(make_ledger())
    assert make_ledger().claim(KEY, now=T0 + timedelta(minutes=1)) is None
    assert make_ledger().claim(KEY, now=T0 + LEASE - timedelta(seconds=1)) is None


def test_after_mark_sent_no_claim_ever_succeeds_again(ledger: DeliveryLedger) -> None:
    """SENT is final, even long after the lease would have expired."""
    claim = _claim(ledger)
    ledger.mark_sent(claim, now=T0 + timedelta(seconds=5), detail="posted 12 metrics")
    assert ledger.claim(KEY, now=T0 + timedelta(minutes=1)) is None
    assert ledger.claim(KEY, now=T0 + timedelta(days=400)) is None
    [record] = ledger.history()
    assert record.status is DeliveryStatus.SENT
    assert record.detail == "posted 12 metrics"


def test_mark_failed_after_mark_sent_never_reopens_the_delivery(ledger: DeliveryLedger) -> None:
    """A run that fails after Slack accepted its message must not make the report post again."""
    claim = _claim(ledger)
    ledger.mark_sent(claim, now=T0 + timedelta(seconds=5), detail="posted")
    ledger.mark_failed(claim, now=T0 + timedelta(seconds=6), detail="crashed while logging")
    [record] = ledger.history()
    assert (record.status, record.detail) == (DeliveryStatus.SENT, "posted")
    assert ledger.claim(KEY, now=T0 + timedelta(minutes=1)) is None


def test_after_mark_failed_the_next_claim_succeeds_with_attempt_two(
    ledger: DeliveryLedger,
) -> None:
    """FAILED is retryable at once; the attempt counter goes up."""
    claim = _claim(ledger)
    ledger.mark_failed(claim, now=T0 + timedelta(seconds=3), detail="Mixpanel 503")
    [failed] = ledger.history()
    assert failed.status is DeliveryStatus.FAILED
    assert failed.detail == "Mixpanel 503"
    retry = _claim(ledger, now=T0 + timedelta(minutes=1))
    assert retry.attempt == 2
    ledger.mark_sent(retry, now=T0 + timedelta(minutes=2), detail="ok")
    [sent] = ledger.history()
    assert (sent.status, sent.attempt) == (DeliveryStatus.SENT, 2)
    assert ledger.claim(KEY, now=T0 + timedelta(minutes=3)) is None


def test_an_expired_lease_can_be_taken_over(make_ledger: LedgerFactory) -> None:
    """A run that crashed while CLAIMED blocks only until its lease expires."""
    _claim(make_ledger())
    takeover = make_ledger().claim(KEY, now=T0 + LEASE)
    assert takeover is not None
    assert takeover.attempt == 2
    assert make_ledger().claim(KEY, now=T0 + LEASE + timedelta(minutes=1)) is None


def test_mark_sent_after_a_takeover_still_records_sent(
    make_ledger: LedgerFactory, caplog: pytest.LogCaptureFixture
) -> None:
    """A message that reached Slack is recorded SENT even if the lease was taken over."""
    slow, other = make_ledger(), make_ledger()
    first = _claim(slow)
    second = _claim(other, now=T0 + LEASE + timedelta(minutes=1))
    with caplog.at_level(logging.WARNING, logger="shared.delivery.ledger"):
        slow.mark_sent(first, now=T0 + LEASE + timedelta(minutes=2), detail="late but posted")
    assert "lost its claim" in caplog.text
    # The taker-over fails later: that must not reopen a delivery that reached Slack.
    other.mark_failed(second, now=T0 + LEASE + timedelta(minutes=3), detail="boom")
    [record] = other.history()
    assert record.status is DeliveryStatus.SENT
    assert record.detail == "late but posted"
    assert other.claim(KEY, now=T0 + timedelta(days=1)) is None


def test_mark_failed_from_a_run_that_lost_its_lease_changes_nothing(
    make_ledger: LedgerFactory,
) -> None:
    """Only the current holder may mark a delivery failed."""
    slow, other = make_ledger(), make_ledger()
    first = _claim(slow)
    second = _claim(other, now=T0 + LEASE)
    slow.mark_failed(first, now=T0 + LEASE + timedelta(minutes=1), detail="stale failure")
    [record] = other.history()
    assert (record.status, record.attempt) == (DeliveryStatus.CLAIMED, second.attempt)
    assert other.claim(KEY, now=T0 + LEASE + timedelta(minutes=2)) is None


def test_history_is_newest_first_with_details_and_filters_by_report(
    ledger: DeliveryLedger,
) -> None:
    """history() orders by last update, newest first, and can select one report."""
    weekly = DeliveryKey("weekly", date(2026, 2, 23), date(2026, 3, 1), "a1b2c3d4e5f6")
    other_dest = DeliveryKey("daily", date(2026, 3, 1), date(2026, 3, 1), "ffffeeee0000")
    ledger.mark_sent(_claim(ledger, KEY), now=T0 + timedelta(minutes=1), detail="daily sent")
    ledger.mark_failed(_claim(ledger, weekly), now=T0 + timedelta(minutes=3), detail="weekly err")
    _claim(ledger, other_dest, now=T0 + timedelta(minutes=2))

    records = ledger.history()
    assert [r.key for r in records] == [weekly, other_dest, KEY]
    assert [r.detail for r in records] == ["weekly err", "", "daily sent"]
    assert [r.status for r in records] == [
        DeliveryStatus.FAILED,
        DeliveryStatus.CLAIMED,
        DeliveryStatus.SENT,
    ]
    for record in records:
        assert record.updated_at.utcoffset() == timedelta(0)
        assert record.claimed_at.utcoffset() == timedelta(0)
    assert [r.key for r in ledger.history(report="daily")] == [other_dest, KEY]
    assert ledger.history(report="biweekly") == []


def test_naive_datetimes_are_rejected(ledger: DeliveryLedger) -> None:
    """`now` without a time zone is ambiguous, so every method refuses it."""
    naive = datetime(2026, 3, 2, 9, 0)  # noqa: DTZ001 - the point of the test
    with pytest.raises(ValueError, match="timezone-aware"):
        ledger.claim(KEY, now=naive)
    claim = _claim(ledger)
    with pytest.raises(ValueError, match="timezone-aware"):
        ledger.mark_sent(claim, now=naive, detail="x")
    with pytest.raises(ValueError, match="timezone-aware"):
        ledger.mark_failed(claim, now=naive, detail="x")


def test_aware_non_utc_times_are_stored_as_utc(ledger: DeliveryLedger) -> None:
    """A local-time `now` is the same instant in UTC, and the lease is computed from it."""
    london_summer = timezone(timedelta(hours=1))
    local = datetime(2026, 6, 1, 10, 0, tzinfo=london_summer)
    _claim(ledger, now=local)
    [record] = ledger.history()
    assert record.claimed_at == datetime(2026, 6, 1, 9, 0, tzinfo=UTC)
    assert record.claimed_at.utcoffset() == timedelta(0)
    assert ledger.claim(KEY, now=datetime(2026, 6, 1, 9, 14, tzinfo=UTC)) is None
    assert ledger.claim(KEY, now=datetime(2026, 6, 1, 9, 15, tzinfo=UTC)) is not None


@pytest.mark.parametrize(
    ("report", "destination"),
    [
        ("custom:a/b\\c#d?e", "dest/1"),
        ("custom:tab\tnew\nline\x7f\x85", "x"),
        ("custom:100%~7E'quote'", "é漢字🙂"),
        ("custom:" + "k" * 2000, "z" * 300),
    ],
    ids=["slashes-hash-question", "control-chars", "percent-tilde-quote-unicode", "very-long"],
)
def test_keys_with_odd_characters_work_and_round_trip(
    ledger: DeliveryLedger, report: str, destination: str
) -> None:
    """Forbidden characters are escaped, and the original key comes back from history."""
    key = DeliveryKey(report, date(2026, 1, 1), date(2026, 1, 31), destination)
    claim = _claim(ledger, key)
    assert ledger.claim(key, now=T0) is None
    ledger.mark_sent(claim, now=T0, detail="ok")
    [record] = ledger.history(report=report)
    assert record.key == key
    assert record.status is DeliveryStatus.SENT


def test_escaped_keys_that_look_alike_do_not_collide(ledger: DeliveryLedger) -> None:
    """'a/b' and its escaped spelling are different deliveries."""
    plain = DeliveryKey("custom:a/b", date(2026, 1, 1), date(2026, 1, 1), "d")
    lookalike = DeliveryKey("custom:" + storage_key("a/b"), date(2026, 1, 1), date(2026, 1, 1), "d")
    assert _claim(ledger, plain).attempt == 1
    assert _claim(ledger, lookalike).attempt == 1


def test_ten_simultaneous_claims_yield_exactly_one_winner(make_ledger: LedgerFactory) -> None:
    """Instances firing the same timer at once: the storage insert lets exactly one through."""
    _race_and_count(make_ledger, expected_attempt=1)


def test_ten_simultaneous_takeovers_of_a_failed_delivery_yield_one_winner(
    make_ledger: LedgerFactory,
) -> None:
    """Retrying a FAILED delivery is also atomic (etag-conditional update)."""
    seed = make_ledger()
    seed.mark_failed(_claim(seed), now=T0, detail="first try failed")
    _race_and_count(make_ledger, expected_attempt=2)


def _race_and_count(make_ledger: LedgerFactory, *, expected_attempt: int) -> None:
    ledgers = [make_ledger() for _ in range(10)]

    def claimer(ledger: DeliveryLedger) -> Callable[[], Claim | None]:
        return lambda: ledger.claim(KEY, now=T0 + timedelta(minutes=1))

    results = race([claimer(ledger) for ledger in ledgers])  # raises if any claim raised
    winners = [c for c in results if c is not None]
    assert len(results) == 10
    assert len(winners) == 1
    assert winners[0].attempt == expected_attempt


# ------------------------------------------------------------------------------ table only


@pytest.mark.azurite
def test_storage_errors_never_show_the_account_key_or_connection_string(
    ledger_table_name: str,
) -> None:
    """A closed port becomes LedgerError whose message names the table, not the secret."""
    conn = table_connection_string(free_port())
    ledger = TableDeliveryLedger(conn, table_name=ledger_table_name)
    with pytest.raises(LedgerError) as caught:
        ledger.claim(KEY, now=T0)
    message = str(caught.value)
    assert ledger_table_name in message
    assert ACCOUNT_KEY not in message
    assert conn not in message
    assert "AccountKey" not in message


@pytest.mark.azurite
def test_a_wrong_account_key_is_a_ledger_error_without_the_key(
    azurite_connection_string: str, ledger_table_name: str
) -> None:
    """Authentication failures also surface as LedgerError, without either key."""
    wrong_key = "V3JvbmdLZXlXcm9uZ0tleVdyb25nS2V5V3JvbmdLZXk="
    conn = azurite_connection_string.replace(ACCOUNT_KEY, wrong_key)
    ledger = TableDeliveryLedger(conn, table_name=ledger_table_name)
    with pytest.raises(LedgerError) as caught:
        ledger.history()
    message = str(caught.value)
    assert "403" in message
    assert wrong_key not in message
    assert ACCOUNT_KEY not in message
    assert conn not in message


def test_a_malformed_connection_string_is_a_ledger_error_without_its_text() -> None:
    """Construction fails cleanly and does not echo what it was given."""
    secret = "AccountKey=c2VjcmV0c2VjcmV0"
    with pytest.raises(LedgerError) as caught:
        TableDeliveryLedger(f"nonsense;{secret}")
    assert secret not in str(caught.value)
    assert "c2VjcmV0c2VjcmV0" not in str(caught.value)


@pytest.mark.azurite
def test_the_table_is_created_once_per_instance(
    azurite_connection_string: str, ledger_table_name: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Only the first call on an instance creates the table; later calls go straight to rows."""
    ledger = TableDeliveryLedger(azurite_connection_string, table_name=ledger_table_name)
    calls: list[int] = []
    create = ledger._client.create_table

    def counting_create() -> object:
        calls.append(1)
        return create()

    monkeypatch.setattr(ledger._client, "create_table", counting_create)
    claim = _claim(ledger)
    ledger.mark_sent(claim, now=T0, detail="ok")
    ledger.history()
    assert ledger.claim(KEY, now=T0) is None
    assert calls == [1]
    # A second host finds the table already there, which is not an error.
    assert TableDeliveryLedger(azurite_connection_string, table_name=ledger_table_name).history()


@pytest.mark.azurite
def test_a_claim_whose_response_was_lost_is_still_recognised_as_ours(
    azurite_connection_string: str, ledger_table_name: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """An SDK retry that hits our own committed insert/update (409/412) still returns the claim."""
    from azure.core.exceptions import ResourceExistsError, ResourceModifiedError

    ledger = TableDeliveryLedger(azurite_connection_string, table_name=ledger_table_name)
    create, update = ledger._client.create_entity, ledger._client.update_entity

    def create_then_conflict(*args: object, **kwargs: object) -> object:
        create(*args, **kwargs)
        raise ResourceExistsError("The specified entity already exists.")

    monkeypatch.setattr(ledger._client, "create_entity", create_then_conflict)
    first = _claim(ledger)
    assert first.attempt == 1
    ledger.mark_failed(first, now=T0, detail="Mixpanel 503")
    [record] = ledger.history()
    assert record.status is DeliveryStatus.FAILED

    def update_then_precondition_failed(*args: object, **kwargs: object) -> object:
        update(*args, **kwargs)
        raise ResourceModifiedError("The update condition specified in the request was not met.")

    monkeypatch.setattr(ledger._client, "update_entity", update_then_precondition_failed)
    second = _claim(ledger, now=T0 + timedelta(minutes=1))
    assert second.attempt == 2
    monkeypatch.undo()
    ledger.mark_sent(second, now=T0 + timedelta(minutes=2), detail="ok")
    [record] = ledger.history()
    assert (record.status, record.attempt) == (DeliveryStatus.SENT, 2)


@pytest.mark.azurite
def test_mark_sent_recreates_a_record_that_vanished(
    azurite_connection_string: str, ledger_table_name: str
) -> None:
    """Even a deleted row ends up SENT: the message is in Slack either way."""
    ledger = TableDeliveryLedger(azurite_connection_string, table_name=ledger_table_name)
    claim = _claim(ledger)
    ledger._client.delete_entity(KEY.partition_key, KEY.row_key)
    ledger.mark_sent(claim, now=T0 + timedelta(minutes=1), detail="posted")
    [record] = ledger.history()
    assert (record.key, record.status, record.detail) == (KEY, DeliveryStatus.SENT, "posted")
    assert ledger.claim(KEY, now=T0 + timedelta(days=1)) is None


@pytest.mark.azurite
def test_history_skips_rows_it_did_not_write(
    azurite_connection_string: str, ledger_table_name: str, caplog: pytest.LogCaptureFixture
) -> None:
    """A foreign or half-written row is logged and skipped instead of breaking the history."""
    ledger = TableDeliveryLedger(azurite_connection_string, table_name=ledger_table_name)
    _claim(ledger)
    ledger._client.create_entity({"PartitionKey": "daily", "RowKey": "junk", "status": "sent"})
    with caplog.at_level(logging.WARNING, logger="shared.delivery.ledger"):
        records = ledger.history()
    assert [r.key for r in records] == [KEY]
    assert "malformed row" in caplog.text


def test_a_missing_azurite_binary_fails_with_a_hint_to_run_make_test(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """The helper says how to install Azurite instead of letting the suite skip silently."""
    import tests.azurite as azurite

    monkeypatch.setattr(azurite, "AZURITE_TABLE_BIN", tmp_path / "azurite-table")
    with pytest.raises(azurite.AzuriteError, match="make test"):
        azurite.start_azurite_table()


def test_use_development_storage_maps_to_azurite_table_endpoint() -> None:
    """The local.settings.json shorthand works in any case and with a trailing ';'."""
    for spelling in ("UseDevelopmentStorage=true", "usedevelopmentstorage=TRUE;", " x"):
        resolved = _resolve_connection_string(spelling)
        if spelling == " x":
            assert resolved == " x"
            continue
        assert "AccountName=devstoreaccount1" in resolved
        assert "TableEndpoint=http://127.0.0.1:10002/devstoreaccount1" in resolved
    ledger = TableDeliveryLedger("UseDevelopmentStorage=true;")
    assert ledger._client.url.startswith("http://127.0.0.1:10002/devstoreaccount1")


# ------------------------------------------------------------------------------ units


def test_invalid_keys_are_refused() -> None:
    """Empty parts, reversed windows, datetimes and URLs as destination are programming errors."""
    d = date(2026, 1, 1)
    with pytest.raises(ValueError, match="report"):
        DeliveryKey("", d, d, "x")
    with pytest.raises(ValueError, match="destination"):
        DeliveryKey("daily", d, d, "")
    with pytest.raises(ValueError, match="fingerprint"):
        DeliveryKey("daily", d, d, "https://hooks.slack.com/services/T/B/x")
    with pytest.raises(ValueError, match="reversed"):
        DeliveryKey("daily", date(2026, 1, 2), d, "x")
    with pytest.raises(ValueError, match="must be a date"):
        DeliveryKey("daily", datetime(2026, 1, 1, tzinfo=UTC), d, "x")


def test_row_and_partition_keys_follow_the_documented_layout() -> None:
    """PartitionKey is the report and RowKey is start_end_destination, with unsafe chars escaped."""
    key = DeliveryKey("custom:q?1", date(2026, 1, 1), date(2026, 1, 7), "ab/cd")
    assert key.partition_key == "custom:q~3F1"
    assert key.row_key == "2026-01-01_2026-01-07_ab~2Fcd"
    assert KEY.row_key == "2026-03-01_2026-03-01_a1b2c3d4e5f6"


def test_detail_is_one_short_line_without_webhook_urls() -> None:
    """Details are single-line, at most 1000 chars, and never store a webhook URL or token."""
    text = clean_detail("HTTP 404\nfrom https://hooks.slack.com/services/T0/B0/secret xoxb-123-abc")
    assert "\n" not in text
    assert "secret" not in text
    assert "xoxb-123-abc" not in text
    assert text.startswith("HTTP 404 from https://hooks.slack.com/***")
    assert len(clean_detail("x" * 5000)) == 1000


def test_a_lease_must_be_positive() -> None:
    """A zero lease would let every concurrent run take over at once."""
    with pytest.raises(ValueError, match="lease"):
        InMemoryLedger(lease=timedelta(0))


def test_importing_the_ledger_does_not_import_the_azure_sdk() -> None:
    """Cold start: importing the ledger must not pull in azure.data.tables or azure.core."""
    code = (
        "import sys, shared.delivery.ledger; "
        "print(sorted(m for m in sys.modules if m.startswith('azure')))"
    )
    out = subprocess.run(  # noqa: S603 - fixed argv
        [sys.executable, "-c", code],
        check=True,
        capture_output=True,
        text=True,
        cwd=Path(__file__).resolve().parents[2],
    )
    assert out.stdout.strip() == "[]"
