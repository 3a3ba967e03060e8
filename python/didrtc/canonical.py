"""RFC 8785 JSON Canonicalization Scheme (JCS), the one way didrtc serialises what it signs.

Signing canonical bytes means two parties that build the same object produce
the same payload, so "the same sequence number with other content" is a
byte comparison, and a peer in another language can reproduce a payload.
"""

from __future__ import annotations

from typing import Any

import rfc8785

from didrtc.errors import DidrtcError

__all__ = ["CanonicalizationError", "canonical_json"]


class CanonicalizationError(DidrtcError, ValueError):
    """A value has no JCS form: NaN or infinity, an int beyond I-JSON's range, a non-str key."""


def canonical_json(value: Any) -> bytes:
    """The JCS bytes of a JSON-compatible value."""
    try:
        return rfc8785.dumps(value)
    except (rfc8785.CanonicalizationError, TypeError, ValueError) as error:
        raise CanonicalizationError(f"cannot canonicalize: {error}") from None
