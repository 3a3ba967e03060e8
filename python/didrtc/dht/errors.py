"""The exceptions of the DHT: what publish and resolve raise, each naming one failure.

Every class subclasses :class:`didrtc.DidrtcError`, so the command line turns it
into a one-line message; :data:`exit_code` is what ``didrtc resolve`` exits with.
"""

from __future__ import annotations

from typing import ClassVar

from didrtc.errors import DidrtcError

__all__ = [
    "DhtError",
    "DidNotFound",
    "NetworkUnreachable",
    "PublishFailed",
    "ResolvedRecordExpired",
    "ResolvedRecordInvalid",
]


class DhtError(DidrtcError):
    """Base class of the DHT's errors."""

    exit_code: ClassVar[int] = 1
    """The process exit code ``didrtc resolve``/``publish`` uses for this failure."""


class DidNotFound(DhtError):
    """The lookup reached the nodes closest to the DID's key and none holds a record for it."""

    exit_code = 3


class ResolvedRecordInvalid(DhtError):
    """Nodes answered for the DID, but only with values that are not valid records of it."""

    exit_code = 4


class ResolvedRecordExpired(DhtError):
    """The only correctly signed records found for the DID have expired."""

    exit_code = 5


class NetworkUnreachable(DhtError):
    """No bootstrap contact answered, so the DHT could not be reached at all."""

    exit_code = 6


class PublishFailed(DhtError):
    """No node among the k closest to the DID's key accepted the record."""

    exit_code = 7
