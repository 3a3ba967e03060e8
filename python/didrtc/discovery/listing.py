"""A discovery listing: what an answerer publishes about itself, signed with its own key.

The listing travels as a compact JWS of ``typ`` :data:`LISTING_TYP` whose
payload holds exactly the fields of :class:`Listing`. The server stores the
token as it came and hands it out with every answer, so an offerer checks the
answerer's signature itself (:func:`parse_listing_token`) and never trusts
the directory with anything it acts on.

Every field has a documented limit, checked the same way when a listing is
built (:class:`Listing` refuses bad values with ``InvalidListing`` quoting the
value) and when the server receives one.
"""

from __future__ import annotations

import ipaddress
import re
import time
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from didrtc import jws
from didrtc.did import public_key_from_did
from didrtc.discovery.errors import (
    ForgedListing,
    InvalidListing,
    InvalidRequestToken,
    WrongSigner,
)
from didrtc.discovery.tokens import NONCE_PATTERN, new_nonce, verify_request
from didrtc.errors import DidrtcError, InvalidDid
from didrtc.identity import Identity

__all__ = [
    "CATEGORY_PATTERN",
    "LISTING_TYP",
    "MAX_BOOTSTRAP_NODES",
    "MAX_CATEGORIES",
    "MAX_DESCRIPTION_CHARS",
    "MAX_ENDPOINT_CHARS",
    "MAX_LISTING_LIFETIME",
    "MAX_LISTING_TOKEN_BYTES",
    "MAX_NAME_CHARS",
    "Listing",
    "parse_listing_token",
    "sign_listing",
    "verify_registration",
]

LISTING_TYP = "didrtc-listing+jws"
"""The JWS ``typ`` of a registration; a token made for another purpose is refused."""
MAX_LISTING_TOKEN_BYTES = 8192
"""A registration token longer than this is refused before any parsing."""
MAX_LISTING_LIFETIME = 72 * 3600
"""``exp`` may lie at most 72 h ahead: the libp2p rendezvous protocol's ceiling on a TTL."""
MAX_NAME_CHARS = 100
"""``name``: 1 to 100 characters, not only whitespace, no control characters."""
MAX_DESCRIPTION_CHARS = 1000
"""``description``: up to 1000 characters; tab and newline are its only control characters."""
MAX_CATEGORIES = 10
"""``categories``: 1 to 10 distinct categories."""
CATEGORY_PATTERN = re.compile(r"[a-z0-9](?:[a-z0-9-]{0,30}[a-z0-9])?")
"""A category: 1 to 32 lowercase ASCII letters, digits and inner hyphens (``korean-bbq``)."""
MAX_BOOTSTRAP_NODES = 16
"""``bootstrap_nodes``: 1 to 16 distinct ``host:port`` strings."""
MAX_ENDPOINT_CHARS = 512
"""``service_endpoint``: an absolute URI (``scheme:rest``) of at most 512 characters."""

_FIELDS = frozenset(
    {
        "did",
        "name",
        "description",
        "categories",
        "bootstrap_nodes",
        "service_endpoint",
        "iat",
        "exp",
        "nonce",
    }
)
_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f\u2028\u2029]")
_DESCRIPTION_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f\u2028\u2029]")
_HOSTNAME = re.compile(
    r"(?=.{1,253}$)(?:[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?\.)*"
    r"[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?\.?"
)
_ENDPOINT = re.compile(r"[A-Za-z][A-Za-z0-9+.-]*:[\x21-\x7e]+")


def _quote(value: object) -> str:
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


def _check_bootstrap_node(node: object) -> str:
    if not isinstance(node, str):
        raise InvalidListing(f"a bootstrap node is a 'host:port' string, not {_quote(node)}")
    host, sep, port = node.rpartition(":")
    if not sep or not port.isascii() or not port.isdigit() or not 1 <= int(port) <= 65535:
        raise InvalidListing(f"bootstrap node {_quote(node)} is not 'host:port' with port 1-65535")
    if host.startswith("[") and host.endswith("]"):
        try:
            ipaddress.IPv6Address(host[1:-1])
        except ValueError:
            raise InvalidListing(f"bootstrap node {_quote(node)} has a bad IPv6 address") from None
    elif not host.isascii() or not _HOSTNAME.fullmatch(host):
        raise InvalidListing(
            f"bootstrap node {_quote(node)}: the host must be a DNS name, an IPv4 address "
            "or a bracketed IPv6 address"
        )
    return node


def _string_list(name: str, value: object, limit: int) -> tuple[str, ...]:
    if not isinstance(value, (list, tuple)):
        raise InvalidListing(f"'{name}' must be a list of strings, not {_quote(value)}")
    if not 1 <= len(value) <= limit:
        raise InvalidListing(f"'{name}' must hold 1 to {limit} entries, not {len(value)}")
    if len(set(map(str, value))) != len(value):
        raise InvalidListing(f"'{name}' holds the same entry twice")
    return tuple(value)


@dataclass(frozen=True)
class Listing:
    """One answerer's entry in the directory, exactly as its DID signed it."""

    did: str
    """The answerer's ``did:key``; the listing is accepted only when this DID signed it."""
    name: str
    """A display name, 1 to :data:`MAX_NAME_CHARS` characters."""
    description: str
    """Free text, up to :data:`MAX_DESCRIPTION_CHARS` characters; searched as full text."""
    categories: tuple[str, ...]
    """1 to :data:`MAX_CATEGORIES` categories matching :data:`CATEGORY_PATTERN`."""
    bootstrap_nodes: tuple[str, ...]
    """1 to :data:`MAX_BOOTSTRAP_NODES` DHT nodes (``host:port``) to reach the answerer's record."""
    service_endpoint: str
    """Where to reach the answerer (an absolute URI, :data:`MAX_ENDPOINT_CHARS` at most)."""
    issued_at: int
    """``iat``: when the answerer signed it (seconds since the epoch); a newer one replaces it."""
    expires: int
    """``exp``: when it leaves the directory, at most :data:`MAX_LISTING_LIFETIME` after signing."""
    nonce: str
    """A random value used once, so that the server can refuse a replayed registration."""

    def __post_init__(self) -> None:
        if not isinstance(self.did, str):
            raise InvalidListing(f"'did' must be a string, not {_quote(self.did)}")
        try:
            public_key_from_did(self.did)
        except InvalidDid as error:
            raise InvalidListing(
                f"'did' {_quote(self.did)} is not an Ed25519 did:key: {error}"
            ) from None
        if not isinstance(self.name, str) or not 1 <= len(self.name) <= MAX_NAME_CHARS:
            raise InvalidListing(
                f"'name' must be 1 to {MAX_NAME_CHARS} characters: {_quote(self.name)}"
            )
        if not self.name.strip() or _CONTROL.search(self.name):
            raise InvalidListing(f"'name' must be printable and not blank: {_quote(self.name)}")
        if not isinstance(self.description, str) or len(self.description) > MAX_DESCRIPTION_CHARS:
            raise InvalidListing(
                f"'description' must be a string of at most {MAX_DESCRIPTION_CHARS} characters"
            )
        if _DESCRIPTION_CONTROL.search(self.description):
            raise InvalidListing(
                "'description' holds control characters other than tab and newline"
            )
        categories = _string_list("categories", self.categories, MAX_CATEGORIES)
        for category in categories:
            if not isinstance(category, str) or not CATEGORY_PATTERN.fullmatch(category):
                raise InvalidListing(
                    f"category {_quote(category)} must be 1-32 lowercase letters, digits and "
                    "inner hyphens"
                )
        nodes = _string_list("bootstrap_nodes", self.bootstrap_nodes, MAX_BOOTSTRAP_NODES)
        for node in nodes:
            _check_bootstrap_node(node)
        endpoint = self.service_endpoint
        if (
            not isinstance(endpoint, str)
            or len(endpoint) > MAX_ENDPOINT_CHARS
            or not _ENDPOINT.fullmatch(endpoint)
        ):
            raise InvalidListing(
                f"'service_endpoint' must be an absolute URI of at most {MAX_ENDPOINT_CHARS} "
                f"printable ASCII characters: {_quote(endpoint)}"
            )
        for name, value in (("iat", self.issued_at), ("exp", self.expires)):
            if not isinstance(value, int) or isinstance(value, bool) or value < 0:
                raise InvalidListing(f"'{name}' must be a non-negative integer: {_quote(value)}")
        if self.expires <= self.issued_at:
            raise InvalidListing("'exp' must be after 'iat'")
        if not isinstance(self.nonce, str) or not NONCE_PATTERN.fullmatch(self.nonce):
            raise InvalidListing("'nonce' must be 16 to 64 base64url characters")
        # Lists from JSON become tuples, so a Listing is hashable and truly frozen.
        object.__setattr__(self, "categories", categories)
        object.__setattr__(self, "bootstrap_nodes", nodes)

    @classmethod
    def create(
        cls,
        did: str,
        *,
        name: str,
        categories: Iterable[str],
        bootstrap_nodes: Iterable[str],
        service_endpoint: str,
        description: str = "",
        lifetime: int = 24 * 3600,
        now: int | None = None,
    ) -> Listing:
        """A new listing issued now with a fresh nonce, valid for ``lifetime`` seconds."""
        issued_at = int(time.time()) if now is None else now
        return cls(
            did=did,
            name=name,
            description=description,
            categories=tuple(categories),
            bootstrap_nodes=tuple(bootstrap_nodes),
            service_endpoint=service_endpoint,
            issued_at=issued_at,
            expires=issued_at + lifetime,
            nonce=new_nonce(),
        )

    @classmethod
    def from_payload(cls, payload: Mapping[str, Any]) -> Listing:
        """The listing a registration token's payload describes; exactly the listed fields."""
        unknown = sorted(set(payload) - _FIELDS)
        if unknown:
            raise InvalidListing(f"unknown listing fields: {', '.join(map(_quote, unknown[:5]))}")
        missing = sorted(_FIELDS - set(payload))
        if missing:
            raise InvalidListing(f"missing listing fields: {', '.join(missing)}")
        return cls(
            did=payload["did"],
            name=payload["name"],
            description=payload["description"],
            categories=payload["categories"],
            bootstrap_nodes=payload["bootstrap_nodes"],
            service_endpoint=payload["service_endpoint"],
            issued_at=payload["iat"],
            expires=payload["exp"],
            nonce=payload["nonce"],
        )

    def to_payload(self) -> dict[str, Any]:
        """The JSON payload the answerer signs."""
        return {
            "did": self.did,
            "name": self.name,
            "description": self.description,
            "categories": list(self.categories),
            "bootstrap_nodes": list(self.bootstrap_nodes),
            "service_endpoint": self.service_endpoint,
            "iat": self.issued_at,
            "exp": self.expires,
            "nonce": self.nonce,
        }


def sign_listing(identity: Identity, listing: Listing) -> str:
    """The registration token: ``listing`` as a compact JWS signed by ``identity``."""
    if listing.did != identity.did:
        raise WrongSigner(f"{identity.did} cannot sign a listing for {listing.did}")
    return jws.sign(identity, listing.to_payload(), typ=LISTING_TYP)


def verify_registration(token: str, *, now: float) -> Listing:
    """What the server checks before it stores a registration; returns the listing.

    The signature, ``typ``, freshness (see :func:`~didrtc.discovery.tokens.verify_request`),
    the 72 h lifetime ceiling, the signer being the listed DID, and every field's limit.
    """
    signer, payload, _, _ = verify_request(
        token,
        typ=LISTING_TYP,
        max_bytes=MAX_LISTING_TOKEN_BYTES,
        max_lifetime=MAX_LISTING_LIFETIME,
        now=now,
    )
    listing = Listing.from_payload(payload)
    if listing.did != signer:
        raise WrongSigner(f"the listing for {listing.did} is signed by {signer}")
    return listing


def parse_listing_token(token: str, *, now: float | None = None) -> Listing:
    """What a client checks in a listing the server returned: signed by its DID, not expired.

    Unlike :func:`verify_registration` it does not require a fresh ``iat``: a
    listing stays valid until its ``exp``. Raises ``ForgedListing``.
    """
    current = time.time() if now is None else now
    try:
        verified = jws.verify(token, typ=LISTING_TYP, max_bytes=MAX_LISTING_TOKEN_BYTES)
        listing = Listing.from_payload(verified.payload)
    except (DidrtcError, InvalidRequestToken) as error:
        raise ForgedListing(f"a listing's signed token does not check out: {error}") from None
    if listing.did != verified.signer:
        raise ForgedListing(f"the listing for {listing.did} is signed by {verified.signer}")
    if listing.expires <= current:
        raise ForgedListing(f"the listing for {listing.did} expired at {listing.expires}")
    return listing
