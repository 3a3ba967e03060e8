"""A node's record store: validation on every write, no rollback, expiry, safe persistence."""

from __future__ import annotations

import json
import pickle
import time
from pathlib import Path

import pytest

import didrtc
from didrtc.dht.storage import REFUSED_REASONS, RecordStorage
from didrtc.jws import sign as jws_sign
from didrtc.records import RECORD_TYP, build_record
from tests.dht.network import CERT, record

ALICE = didrtc.Identity.from_seed(bytes(range(32)))
BOB = didrtc.Identity.from_seed(bytes(range(2, 34)))
KEY = didrtc.dht_key(ALICE.did)


def test_a_valid_record_is_stored_and_served() -> None:
    storage = RecordStorage()
    signed = record(ALICE, 1)
    assert storage.offer(KEY, signed.token) == (True, "stored")
    assert storage.get(KEY) == signed.token
    assert storage[KEY] == signed.token
    assert list(storage) == [(KEY, signed.token)]


def test_only_a_higher_sequence_number_replaces_a_record() -> None:
    storage = RecordStorage()
    newer, older = record(ALICE, 10), record(ALICE, 9)
    assert storage.offer(KEY, newer.token).accepted
    assert storage.offer(KEY, older.token) == (False, "stale-seq")
    assert storage.offer(KEY, newer.token) == (True, "unchanged")
    same_seq = record(ALICE, 10, endpoint="https://127.0.0.1:9999/")
    assert storage.offer(KEY, same_seq.token) == (False, "seq-conflict")
    assert storage.offer(KEY, record(ALICE, 11).token) == (True, "replaced")
    assert storage.record(KEY).seq == 11  # type: ignore[union-attr]


@pytest.mark.parametrize(
    ("key", "value", "reason"),
    [
        (b"short", "x", "bad-key"),
        ("a str key", "x", "bad-key"),
        (KEY, ["a", "list"], "not-a-string"),
        (KEY, {"value": "dict"}, "not-a-string"),
        (KEY, b"bytes", "not-a-string"),
        (KEY, 12, "not-a-string"),
        (KEY, "x" * 1001, "too-large"),
        (KEY, "not.a.jws", "malformed"),
        (didrtc.dht_key(BOB.did), None, "wrong-key"),
    ],
)
def test_invalid_offers_are_refused_with_a_reason(key: object, value: object, reason: str) -> None:
    storage = RecordStorage()
    if value is None:
        value = record(ALICE, 1).token
    outcome = storage.offer(key, value)
    assert outcome == (False, reason)
    assert reason in REFUSED_REASONS
    assert len(storage) == 0


def test_an_expired_record_is_refused_and_a_held_one_expires() -> None:
    now = [time.time()]
    storage = RecordStorage(clock=lambda: now[0])
    signed = build_record(ALICE, "https://127.0.0.1/", CERT, seq=1, lifetime=60, now=now[0])
    assert storage.offer(KEY, signed.token).accepted
    now[0] += 61
    assert storage.get(KEY) is None
    assert len(storage) == 0
    assert storage.offer(KEY, signed.token) == (False, "expired")


def test_a_record_over_48_hours_ahead_is_refused() -> None:
    now = int(time.time())
    claims = record(ALICE, 1).record.claims()
    claims["exp"] = now + 49 * 3600
    token = jws_sign(ALICE, claims, typ=RECORD_TYP)
    assert RecordStorage().offer(KEY, token) == (False, "lifetime-too-long")


def test_a_full_store_refuses_new_keys_but_updates_held_ones() -> None:
    storage = RecordStorage(max_records=1)
    assert storage.offer(KEY, record(ALICE, 1).token).accepted
    assert storage.offer(didrtc.dht_key(BOB.did), record(BOB, 1).token) == (
        False,
        "storage-full",
    )
    assert storage.offer(KEY, record(ALICE, 2).token).accepted


def test_records_survive_a_save_and_load_as_json(tmp_path: Path) -> None:
    storage = RecordStorage()
    storage.offer(KEY, record(ALICE, 5).token)
    storage.offer(didrtc.dht_key(BOB.did), record(BOB, 6).token)
    path = tmp_path / "records.json"
    assert storage.save(path) == 2
    assert path.stat().st_mode & 0o777 == 0o600
    document = json.loads(path.read_text())
    assert document["format"] == "didrtc-dht-records/v1"
    restored = RecordStorage()
    assert restored.load(path) == (2, 0)
    assert restored.record(KEY).seq == 5  # type: ignore[union-attr]


def test_a_tampered_or_foreign_record_file_loads_only_its_valid_records(tmp_path: Path) -> None:
    path = tmp_path / "records.json"
    good = record(ALICE, 5).token
    path.write_text(
        json.dumps({"format": "didrtc-dht-records/v1", "records": [good, "junk", 5, good[:-3]]})
    )
    storage = RecordStorage()
    assert storage.load(path) == (1, 3)


@pytest.mark.parametrize(
    "content",
    [
        b"",
        b"\xff\xfe not utf-8",
        b"[1, 2]",
        b'{"format": "other"}',
        b'{"format": "didrtc-dht-records/v1", "records": 7}',
        pickle.dumps({"records": ["x"]}),
        b"[" * 100_000,
    ],
)
def test_a_corrupt_record_file_loads_nothing_and_never_raises(
    tmp_path: Path, content: bytes
) -> None:
    path = tmp_path / "records.json"
    path.write_bytes(content)
    assert RecordStorage().load(path) == (0, 0)


def test_a_missing_record_file_is_an_empty_store(tmp_path: Path) -> None:
    assert RecordStorage().load(tmp_path / "absent.json") == (0, 0)


def test_republishing_is_due_only_for_records_not_touched_recently() -> None:
    clock = [0.0]
    storage = RecordStorage(monotonic=lambda: clock[0])
    storage.offer(KEY, record(ALICE, 1).token)
    assert storage.iter_older_than(3600) == []
    clock[0] = 4000.0
    assert [k for k, _ in storage.iter_older_than(3600)] == [KEY]
    storage.touch(KEY)
    assert storage.iter_older_than(3600) == []
