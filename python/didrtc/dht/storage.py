"""A node's record store: it keeps only valid DID Document records, the newest of each.

Stock kademlia's ``ForgetfulStorage`` keeps whatever any node sends and lets the
last write win. :class:`RecordStorage` implements the same ``IStorage``
interface but checks every offered value with :func:`didrtc.records.parse_record`
(signature, DHT key, validity window, size, type) and keeps a record only if its
sequence number is above the one held: no rollback, and the same sequence with
other content is refused. Expired records disappear on their own.

Records persist as a JSON file of tokens — never pickle — written atomically;
on load each token is checked again, so a tampered or stale file costs nothing
but the records in it.
"""

from __future__ import annotations

import json
import logging
import os
import tempfile
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Final, NamedTuple

from kademlia.storage import IStorage  # type: ignore[import-untyped]

from didrtc._backend import backend
from didrtc.records import MAX_RECORD_BYTES, InvalidRecord, SignedRecord, parse_record

__all__ = [
    "DEFAULT_MAX_RECORDS",
    "KEY_BYTES",
    "RecordStorage",
    "StoreOutcome",
    "write_atomically",
]

logger = logging.getLogger(__name__)

KEY_BYTES: Final = 20
"""A DHT key is 160 bits (:func:`didrtc.dht_key`)."""
DEFAULT_MAX_RECORDS: Final = 100_000
"""How many records a node holds at most (about 100 MB at the size limit)."""
FILE_FORMAT: Final = "didrtc-dht-records/v1"

ACCEPTED_REASONS: Final = ("stored", "replaced", "unchanged")
"""The outcomes of an accepted STORE: a new key, a higher ``seq``, the same token again."""
REFUSED_REASONS: Final = (
    "bad-key",
    "not-a-string",
    "too-large",
    "malformed",
    "bad-signature",
    "wrong-key",
    "expired",
    "not-yet-valid",
    "lifetime-too-long",
    "bad-claims",
    "stale-seq",
    "seq-conflict",
    "storage-full",
)
"""Every reason a STORE can be refused for (the metrics label values)."""


class StoreOutcome(NamedTuple):
    """What became of an offered value."""

    accepted: bool
    """Whether the node now holds it."""
    reason: str
    """One of :data:`ACCEPTED_REASONS` or :data:`REFUSED_REASONS`."""


@dataclass(slots=True)
class _Entry:
    # Only what storage decisions need, not the parsed record: a node may hold
    # 100,000 of these, and the token alone is most of the record's memory.
    token: str
    seq: int
    exp: int
    stored_at: float


class RecordStorage(IStorage):  # type: ignore[misc]
    """Validating storage of DID Document records, keyed by 20-byte DHT key."""

    def __init__(
        self,
        *,
        max_records: int = DEFAULT_MAX_RECORDS,
        clock: Callable[[], float] = time.time,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        if max_records < 1:
            raise ValueError(f"max_records must be at least 1, not {max_records!r}")
        self.max_records = max_records
        self._clock = clock
        self._monotonic = monotonic
        self._entries: dict[bytes, _Entry] = {}

    # -- writing -------------------------------------------------------------

    def offer(self, key: object, value: object) -> StoreOutcome:
        """Check ``value`` as the record for ``key`` and keep it if it is newer; never raises."""
        if not isinstance(key, bytes) or len(key) != KEY_BYTES:
            return StoreOutcome(False, "bad-key")
        held = self._live(key)
        if held is not None and value == held.token:
            return StoreOutcome(True, "unchanged")  # a republish: checked when first stored
        try:
            signed = parse_record(value, key=key, now=self._clock())
        except InvalidRecord as error:
            return StoreOutcome(False, error.reason)
        if held is not None:
            if signed.seq < held.seq:
                return StoreOutcome(False, "stale-seq")
            if signed.seq == held.seq:
                if signed.token != held.token:
                    return StoreOutcome(False, "seq-conflict")
                return StoreOutcome(True, "unchanged")
        elif len(self._entries) >= self.max_records and self.cull() == 0:
            return StoreOutcome(False, "storage-full")
        self._entries[key] = _Entry(signed.token, signed.seq, signed.record.exp, self._monotonic())
        return StoreOutcome(True, "stored" if held is None else "replaced")

    def __setitem__(self, key: bytes, value: object) -> None:
        """``IStorage`` interface: like :meth:`offer`, dropping refused values silently."""
        outcome = self.offer(key, value)
        if not outcome.accepted:
            logger.debug("refused a record for %s: %s", _hex(key), outcome.reason)

    def touch(self, key: bytes) -> None:
        """Mark ``key`` as just republished, so :meth:`iter_older_than` skips it a while."""
        entry = self._entries.get(key)
        if entry is not None:
            entry.stored_at = self._monotonic()

    # -- reading -------------------------------------------------------------

    def _live(self, key: bytes) -> _Entry | None:
        entry = self._entries.get(key)
        if entry is not None and entry.exp <= self._clock():
            del self._entries[key]
            return None
        return entry

    def record(self, key: object) -> SignedRecord | None:
        """The unexpired record held for ``key``, if any (parsed again from its token)."""
        token = self.get(key)
        return None if token is None else parse_record(token, check_time=False)

    def get(self, key: object, default: str | None = None) -> str | None:
        if not isinstance(key, bytes):
            return default
        entry = self._live(key)
        return default if entry is None else entry.token

    def __getitem__(self, key: bytes) -> str:
        token = self.get(key)
        if token is None:
            raise KeyError(key)
        return token

    def __contains__(self, key: object) -> bool:
        return self.get(key) is not None

    def __len__(self) -> int:
        return len(self._entries)

    def __iter__(self) -> Iterator[tuple[bytes, str]]:
        """``(key, token)`` of every unexpired record."""
        self.cull()
        return iter([(key, entry.token) for key, entry in self._entries.items()])

    def iter_older_than(self, seconds_old: float) -> list[tuple[bytes, str]]:
        """``(key, token)`` of records stored or republished more than ``seconds_old`` ago."""
        self.cull()
        limit = self._monotonic() - seconds_old
        return [(k, e.token) for k, e in self._entries.items() if e.stored_at <= limit]

    def cull(self) -> int:
        """Drop expired records; returns how many."""
        now = self._clock()
        expired = [key for key, entry in self._entries.items() if entry.exp <= now]
        for key in expired:
            del self._entries[key]
        return len(expired)

    # -- persistence ---------------------------------------------------------

    def save(self, path: Path) -> int:
        """Write every unexpired record to ``path`` atomically (mode 0600); returns the count."""
        tokens = [token for _, token in self]
        document = {"format": FILE_FORMAT, "records": tokens}
        write_atomically(path, json.dumps(document, separators=(",", ":")).encode("utf-8"))
        return len(tokens)

    def load(self, path: Path) -> tuple[int, int]:
        """Offer every record in a file written by :meth:`save`; returns ``(kept, dropped)``.

        A missing, oversized or corrupt file, or one of another format, loads
        nothing and is logged; it never raises.
        """
        limit = self.max_records * (MAX_RECORD_BYTES + 8) + 1024
        try:
            with path.open("rb") as file:
                data = file.read(limit + 1)
        except FileNotFoundError:
            return 0, 0
        except OSError as error:
            logger.warning("cannot read the record file %s: %s", path, error)
            return 0, 0
        if len(data) > limit:
            logger.warning("the record file %s is over %d bytes; ignoring it", path, limit)
            return 0, 0
        try:
            document = json.loads(data.decode("utf-8"))
        except (UnicodeDecodeError, json.JSONDecodeError, RecursionError):
            logger.warning("the record file %s is not JSON; ignoring it", path)
            return 0, 0
        if not isinstance(document, dict) or document.get("format") != FILE_FORMAT:
            logger.warning("the record file %s is not a %s file; ignoring it", path, FILE_FORMAT)
            return 0, 0
        tokens = document.get("records")
        if not isinstance(tokens, list):
            return 0, 0
        kept = dropped = 0
        for token in tokens[: self.max_records]:
            try:
                did = parse_record(token, check_time=False).record.did
            except InvalidRecord:
                dropped += 1
                continue
            if self.offer(backend.dht_key(did), token).accepted:
                kept += 1
            else:
                dropped += 1
        dropped += max(0, len(tokens) - self.max_records)
        return kept, dropped


def _hex(key: object) -> str:
    return key.hex() if isinstance(key, bytes) else repr(key)[:40]


def write_atomically(path: Path, data: bytes) -> None:
    """Replace ``path`` with ``data``: a crash leaves the old or the new file, never half."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, temporary = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as file:
            file.write(data)
            file.flush()
            os.fsync(file.fileno())
        os.chmod(temporary, 0o600)
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise
