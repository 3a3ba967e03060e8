"""The asyncio client of the discovery API, used by the answerer, the offerer and the CLI.

>>> async with DiscoveryClient("https://discovery.example") as directory:
...     await directory.register(identity, name="Seoul Kitchen", categories=["restaurant"],
...                              bootstrap_nodes=["dht.example:4000"],
...                              service_endpoint="https://seoul.example/didrtc")
...     page = await directory.search("restaurant")

Every error answer becomes the exception class of its code
(:mod:`didrtc.discovery.errors`). Every listing the server returns is checked
against the token its DID signed (:func:`~didrtc.discovery.listing.parse_listing_token`)
and only the signed content is returned, so a lying directory can hide
listings but never alter one.
"""

from __future__ import annotations

import json
import ssl
from collections.abc import Iterable
from dataclasses import dataclass
from types import TracebackType
from typing import Any
from urllib.parse import quote

import aiohttp

from didrtc.discovery.deletion import sign_deletion
from didrtc.discovery.errors import (
    ForgedListing,
    UnexpectedResponse,
    error_from_response,
)
from didrtc.discovery.listing import Listing, parse_listing_token, sign_listing
from didrtc.identity import Identity

__all__ = ["DiscoveryClient", "Registration", "SearchPage"]

MAX_RESPONSE_BYTES = 4 * 1024 * 1024
"""Answers longer than this are refused: a full page of maximal listings is under 1 MiB."""


@dataclass(frozen=True)
class Registration:
    """The server's receipt for a registration."""

    did: str
    expires: int


@dataclass(frozen=True)
class SearchPage:
    """One page of search results, each checked against its signature."""

    results: tuple[Listing, ...]
    next_cursor: str | None
    """Pass to :meth:`DiscoveryClient.search` for the next page; ``None`` on the last."""


class DiscoveryClient:
    """A connection to one discovery server (an ``aiohttp`` session, closed by ``close()``)."""

    def __init__(
        self,
        base_url: str,
        *,
        session: aiohttp.ClientSession | None = None,
        timeout: float = 10.0,
        ssl_context: ssl.SSLContext | None = None,
    ) -> None:
        self.base_url = base_url.rstrip("/")
        self._session = session
        self._own_session = session is None
        self._timeout = aiohttp.ClientTimeout(total=timeout)
        self._ssl: ssl.SSLContext | bool = ssl_context if ssl_context is not None else True
        self._audience: str | None = None

    async def __aenter__(self) -> DiscoveryClient:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        await self.close()

    async def close(self) -> None:
        """Close the HTTP session if this client opened it."""
        if self._own_session and self._session is not None:
            await self._session.close()
            self._session = None

    def _http(self) -> aiohttp.ClientSession:
        if self._session is None:
            self._session = aiohttp.ClientSession(timeout=self._timeout)
        return self._session

    async def _request(
        self,
        method: str,
        path: str,
        *,
        params: dict[str, str] | None = None,
        data: str | None = None,
        headers: dict[str, str] | None = None,
    ) -> dict[str, Any]:
        try:
            async with self._http().request(
                method,
                self.base_url + path,
                params=params,
                data=data,
                headers=headers,
                ssl=self._ssl,
                allow_redirects=False,
            ) as response:
                body = await response.content.read(MAX_RESPONSE_BYTES + 1)
                status = response.status
                retry_after = response.headers.get("Retry-After")
        except (aiohttp.ClientError, TimeoutError) as error:
            raise UnexpectedResponse(
                f"cannot reach the discovery server at {self.base_url}: {error!r}"
            ) from error
        if len(body) > MAX_RESPONSE_BYTES:
            raise UnexpectedResponse(
                f"the answer to {method} {path} is over {MAX_RESPONSE_BYTES} bytes"
            )
        try:
            document = json.loads(body)
        except ValueError:
            document = None
        if status >= 400:
            raise error_from_response(status, document, retry_after)
        if not isinstance(document, dict):
            raise UnexpectedResponse(f"HTTP {status} to {method} {path} is not a JSON object")
        return document

    async def register(
        self,
        identity: Identity,
        *,
        name: str,
        categories: Iterable[str],
        bootstrap_nodes: Iterable[str],
        service_endpoint: str,
        description: str = "",
        lifetime: int = 24 * 3600,
    ) -> Registration:
        """Sign a new listing for ``identity`` and register it (replacing any older one)."""
        listing = Listing.create(
            identity.did,
            name=name,
            description=description,
            categories=categories,
            bootstrap_nodes=bootstrap_nodes,
            service_endpoint=service_endpoint,
            lifetime=lifetime,
        )
        return await self.register_token(sign_listing(identity, listing))

    async def register_token(self, token: str) -> Registration:
        """Register an already signed listing token."""
        document = await self._request(
            "POST", "/register", data=token, headers={"Content-Type": "application/jose"}
        )
        did, expires = document.get("did"), document.get("expires")
        if not isinstance(did, str) or not isinstance(expires, int):
            raise UnexpectedResponse("the registration receipt lacks 'did' or 'expires'")
        return Registration(did=did, expires=expires)

    @staticmethod
    def _checked(item: object) -> Listing:
        if not isinstance(item, dict) or not isinstance(item.get("token"), str):
            raise ForgedListing("the server returned a listing without its signed token")
        listing = parse_listing_token(item["token"])
        if item.get("did") != listing.did:
            raise ForgedListing(
                f"the server labelled {listing.did}'s listing as {item.get('did')!r}"
            )
        return listing

    async def search(
        self,
        query: str = "",
        *,
        category: str | None = None,
        limit: int | None = None,
        cursor: str | None = None,
    ) -> SearchPage:
        """One page of listings matching ``query`` (and ``category``), best first."""
        params: dict[str, str] = {}
        if query:
            params["query"] = query
        if category is not None:
            params["category"] = category
        if limit is not None:
            params["limit"] = str(limit)
        if cursor is not None:
            params["cursor"] = cursor
        document = await self._request("GET", "/search", params=params)
        results = document.get("results")
        next_cursor = document.get("next_cursor")
        if not isinstance(results, list) or not (
            next_cursor is None or isinstance(next_cursor, str)
        ):
            raise UnexpectedResponse("the search answer lacks 'results' or 'next_cursor'")
        return SearchPage(
            results=tuple(self._checked(item) for item in results), next_cursor=next_cursor
        )

    async def search_all(
        self, query: str = "", *, category: str | None = None, max_results: int = 1000
    ) -> list[Listing]:
        """Every page of a search, stopping after ``max_results`` listings."""
        found: list[Listing] = []
        cursor: str | None = None
        while len(found) < max_results:
            page = await self.search(
                query, category=category, limit=min(100, max_results - len(found)), cursor=cursor
            )
            found.extend(page.results)
            cursor = page.next_cursor
            if cursor is None or not page.results:
                break
        return found[:max_results]

    async def get(self, did: str) -> Listing:
        """The DID's live listing; raises ``ListingNotFound``."""
        return self._checked(await self._request("GET", "/dids/" + quote(did, safe=":")))

    async def audience(self) -> str:
        """The ``aud`` this server expects in deletions (from ``/healthz``, cached)."""
        if self._audience is None:
            document = await self._request("GET", "/healthz")
            audience = document.get("audience")
            if not isinstance(audience, str):
                raise UnexpectedResponse("/healthz does not name the server's audience")
            self._audience = audience
        return self._audience

    async def delete(self, identity: Identity) -> None:
        """Remove ``identity``'s listing; raises ``ListingNotFound`` if it had none."""
        token = sign_deletion(identity, await self.audience())
        await self._request(
            "DELETE",
            "/dids/" + quote(identity.did, safe=":"),
            headers={"Authorization": f"Bearer {token}"},
        )

    async def health(self) -> dict[str, Any]:
        """The ``/healthz`` answer; raises ``ServiceUnavailable`` when the database is down."""
        return await self._request("GET", "/healthz")
