"""Helpers of the signaling tests: raw HTTPS requests and envelopes built to order."""

from __future__ import annotations

import base64
import json
import time
from typing import Any

import aiohttp

from didrtc import Identity, jws
from didrtc.sealing import seal
from didrtc.signaling import LOOPBACK, Answerer, Target
from didrtc.signaling.envelope import HPKE_INFO, OFFER_TYP, bound_fields, new_nonce
from didrtc.signaling.peer import Peer
from didrtc.signaling.tls import client_ssl


def target(answerer: Answerer) -> Target:
    """What a DHT lookup of ``answerer``'s DID would give."""
    return Target(answerer.identity.did, answerer.endpoint, answerer.certificate.fingerprint)


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def b64url_decode(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def decode_payload(token: str) -> dict[str, Any]:
    """The payload of a compact JWS, unchecked."""
    return dict(json.loads(b64url_decode(token.split(".")[1])))


async def offer_sdp() -> tuple[Peer, str]:
    """A real aiortc data-channel offer on 127.0.0.1 (close the peer afterwards)."""
    peer = Peer(LOOPBACK)
    return peer, await peer.create_offer()


def offer_payload(
    sender: Identity, to: str, sdp: str, *, now: float | None = None, **overrides: Any
) -> dict[str, Any]:
    """A correctly sealed offer payload, then ``overrides`` applied (after sealing)."""
    issued = int(time.time() if now is None else now)
    payload: dict[str, Any] = {
        "type": "offer",
        "from": sender.did,
        "to": to,
        "iat": issued,
        "exp": issued + 30,
        "nonce": new_nonce(),
    }
    payload["sdp"] = b64url(seal(to, sdp.encode(), info=HPKE_INFO, aad=bound_fields(payload)))
    payload.update(overrides)
    return payload


def sign_offer(signer: Identity, payload: dict[str, Any], typ: str = OFFER_TYP) -> str:
    return jws.sign(signer, payload, typ=typ)


async def post(
    answerer: Answerer,
    body: bytes | str | dict[str, Any],
    *,
    headers: dict[str, str] | None = None,
    method: str = "POST",
    path: str = "receive-offer",
) -> tuple[int, Any, dict[str, str]]:
    """Send a raw request to ``answerer`` over pinned HTTPS; returns (status, JSON, headers)."""
    if isinstance(body, dict):
        data = json.dumps(body).encode()
        headers = {"Content-Type": "application/json", **(headers or {})}
    else:
        data = body.encode() if isinstance(body, str) else body
    async with (
        aiohttp.ClientSession() as session,
        session.request(
            method,
            answerer.endpoint + path,
            data=data,
            headers=headers,
            ssl=client_ssl(answerer.certificate.fingerprint),
        ) as response,
    ):
        text = await response.text()
        try:
            document = json.loads(text)
        except ValueError:
            document = text
        return response.status, document, dict(response.headers)
