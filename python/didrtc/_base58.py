"""Base58btc, the Bitcoin alphabet, as multibase prefix ``z`` uses it.

An encoding, not a cryptographic primitive; written here so a bad character
gets an error that names it and its position.
"""

from __future__ import annotations

ALPHABET = "123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz"
_INDEX = {char: value for value, char in enumerate(ALPHABET)}
# Long inputs would make the big-integer arithmetic quadratic; nothing didrtc
# decodes is anywhere near this (a did:key is 48 characters).
MAX_ENCODED_LENGTH = 512


def encode(data: bytes) -> str:
    """Base58btc text of ``data``, leading zero bytes kept as leading ``1``."""
    zeros = len(data) - len(data.lstrip(b"\x00"))
    number = int.from_bytes(data, "big")
    digits = []
    while number:
        number, remainder = divmod(number, 58)
        digits.append(ALPHABET[remainder])
    return "1" * zeros + "".join(reversed(digits))


def decode(text: str) -> bytes:
    """The bytes of base58btc ``text``; ``ValueError`` names a bad character."""
    if len(text) > MAX_ENCODED_LENGTH:
        raise ValueError(f"{len(text)} characters is over the limit of {MAX_ENCODED_LENGTH}")
    number = 0
    for position, char in enumerate(text):
        value = _INDEX.get(char)
        if value is None:
            raise ValueError(f"character {char!r} at position {position} is not in the alphabet")
        number = number * 58 + value
    zeros = len(text) - len(text.lstrip("1"))
    body = number.to_bytes((number.bit_length() + 7) // 8, "big")
    return b"\x00" * zeros + body
