"""Attacks on the answerer: each is refused with its reason code, and the answerer stays healthy."""

from __future__ import annotations

import asyncio
import json
import time
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from didrtc import Identity
from didrtc.signaling import (
    LOOPBACK,
    Answerer,
    RateLimit,
    connect,
    hash_api_key,
)
from didrtc.signaling.envelope import ANSWER_TYP, seal_offer
from didrtc.signaling.peer import Peer
from tests.signaling.conftest import AnswererFactory, config
from tests.signaling.signaling_support import (
    b64url,
    b64url_decode,
    offer_payload,
    offer_sdp,
    post,
    sign_offer,
    target,
)

ALICE = Identity.generate()
MALLORY = Identity.generate()


async def assert_healthy(answerer: Answerer, **connect_options: Any) -> None:
    """Health check passes and an honest offerer still connects and chats."""
    status, health, _ = await post(answerer, b"", method="GET", path="healthz")
    assert status == 200
    assert health["status"] == "ok"
    async with connect(target(answerer), peer_config=LOOPBACK, **connect_options) as channel:
        assert str(await channel.receive(10)).startswith("Welcome to Test Bistro")
        await channel.send("still there?")
        assert await channel.receive(10) == "still there?"


async def refused(
    answerer: Answerer, body: Any, status: int, code: str, **kwargs: Any
) -> dict[str, str]:
    got_status, document, headers = await post(answerer, body, **kwargs)
    assert (got_status, document.get("error") if isinstance(document, dict) else document) == (
        status,
        code,
    )
    assert isinstance(document["message"], str)
    assert document["message"]
    assert headers["Content-Type"].startswith("application/json")
    return headers


async def signed_offer(answerer: Answerer, signer: Identity = ALICE, **overrides: Any) -> str:
    peer, sdp = await offer_sdp()
    await peer.close()
    return sign_offer(signer, offer_payload(signer, answerer.identity.did, sdp, **overrides))


def offered(metrics: str, outcome: str) -> float:
    prefix = f'didrtc_signaling_offers_total{{outcome="{outcome}"}} '
    for line in metrics.splitlines():
        if line.startswith(prefix):
            return float(line[len(prefix) :])
    return 0.0


@pytest.mark.asyncio
async def test_a_forged_signature_is_refused(answerer: Answerer) -> None:
    head, body, signature = (await signed_offer(answerer)).split(".")
    forged = b64url(bytes(64 - 1) + b"\x01")
    await refused(answerer, {"offer": f"{head}.{body}.{forged}"}, 401, "bad-signature")
    flipped = signature[:20] + ("A" if signature[20] != "A" else "B") + signature[21:]
    await refused(answerer, {"offer": f"{head}.{body}.{flipped}"}, 401, "bad-signature")
    await assert_healthy(answerer)


@pytest.mark.asyncio
async def test_an_offer_for_another_did_is_refused(answerer: Answerer) -> None:
    peer, sdp = await offer_sdp()
    await peer.close()
    token = sign_offer(ALICE, offer_payload(ALICE, MALLORY.did, sdp))
    await refused(answerer, {"offer": token}, 403, "wrong-audience")
    await assert_healthy(answerer)


@pytest.mark.asyncio
async def test_an_expired_offer_is_refused(answerer: Answerer) -> None:
    token = await signed_offer(answerer, now=time.time() - 300)
    await refused(answerer, {"offer": token}, 401, "expired")
    future = await signed_offer(answerer, now=time.time() + 600)
    await refused(answerer, {"offer": future}, 401, "not-yet-valid")
    await assert_healthy(answerer)


@pytest.mark.asyncio
async def test_a_replayed_offer_is_refused(make_answerer: AnswererFactory) -> None:
    answerer = await make_answerer(config(connect_timeout=2.0))
    token = await signed_offer(answerer)
    status, document, _ = await post(answerer, {"offer": token})
    assert status == 200
    assert "answer" in document
    await refused(answerer, {"offer": token}, 409, "replayed")
    # The peer of the first, never-connected offer is closed by the connect timeout.
    for _ in range(100):
        if answerer.peer_count == 0:
            break
        await asyncio.sleep(0.1)
    assert answerer.peer_count == 0
    _, metrics, _ = await post(answerer, b"", method="GET", path="metrics")
    assert 'didrtc_signaling_connections_total{outcome="timeout"} 1.0' in metrics
    await assert_healthy(answerer)


@pytest.mark.asyncio
async def test_a_tampered_ciphertext_is_refused(answerer: Answerer) -> None:
    peer, sdp = await offer_sdp()
    await peer.close()
    payload = offer_payload(ALICE, answerer.identity.did, sdp)
    sealed = bytearray(b64url_decode(payload["sdp"]))
    sealed[40] ^= 0x80
    payload["sdp"] = b64url(bytes(sealed))
    await refused(answerer, {"offer": sign_offer(ALICE, payload)}, 400, "decryption-failed")
    await assert_healthy(answerer)


@pytest.mark.asyncio
async def test_a_ciphertext_resigned_by_another_did_is_refused(answerer: Answerer) -> None:
    peer, sdp = await offer_sdp()
    await peer.close()
    payload = offer_payload(ALICE, answerer.identity.did, sdp)
    stolen = {**payload, "from": MALLORY.did}
    await refused(answerer, {"offer": sign_offer(MALLORY, stolen)}, 400, "decryption-failed")
    await refused(answerer, {"offer": sign_offer(MALLORY, payload)}, 401, "bad-signature")
    await assert_healthy(answerer)


@pytest.mark.asyncio
async def test_api_keys_are_required_when_configured(make_answerer: AnswererFactory) -> None:
    answerer = await make_answerer(config(api_key_hashes=frozenset({hash_api_key("k-123")})))
    token = await signed_offer(answerer)
    await refused(answerer, {"offer": token}, 401, "unauthorized")
    await refused(
        answerer, {"offer": token}, 401, "unauthorized", headers={"Authorization": "Bearer k-12"}
    )
    await refused(
        answerer, {"offer": token}, 401, "unauthorized", headers={"Authorization": "Basic k-123"}
    )
    await assert_healthy(answerer, api_key="k-123")


@pytest.mark.asyncio
async def test_a_did_not_on_the_allowlist_is_refused(make_answerer: AnswererFactory) -> None:
    friend = Identity.generate()
    answerer = await make_answerer(config(allowlist=frozenset({friend.did})))
    await refused(answerer, {"offer": await signed_offer(answerer)}, 403, "forbidden")
    await assert_healthy(answerer, identity=friend)


@pytest.mark.asyncio
async def test_an_oversized_envelope_is_refused(make_answerer: AnswererFactory) -> None:
    answerer = await make_answerer(config(max_envelope_bytes=4096))
    await refused(answerer, {"offer": "x" * 4500}, 413, "too-large")  # body within, JWS over
    await refused(answerer, {"offer": "x" * 100_000}, 413, "too-large")  # body over
    headers = {"Content-Type": "application/json"}
    await refused(answerer, b"x" * 900_000, 413, "too-large", headers=headers)
    await assert_healthy(answerer)


@pytest.mark.asyncio
async def test_malformed_requests_are_refused(answerer: Answerer) -> None:
    json_type = {"Content-Type": "application/json"}
    for body in (b"{", b"[]", b'"offer"', b"null", b'{"offer": 1}', b'{"offer": "a", "x": 1}'):
        await refused(answerer, body, 400, "malformed", headers=json_type)
    await refused(answerer, b"\xff\xfe", 400, "malformed", headers=json_type)
    await refused(answerer, b"[" * 100_00 + b"]" * 100_00, 413, "too-large", headers=json_type)
    await refused(answerer, b"[" * 5000 + b"]" * 5000, 400, "malformed", headers=json_type)
    for token in ("", "a.b", "a.b.c", "e30.e30.e30", "!!.??.**", "a" * 1000):
        await refused(answerer, {"offer": token}, 400, "malformed")
    # An answer envelope is not an offer.
    answer_typed = sign_offer(
        ALICE,
        offer_payload(ALICE, answerer.identity.did, "v=0"),
        typ=ANSWER_TYP,
    )
    await refused(answerer, {"offer": answer_typed}, 400, "malformed")
    # A valid envelope around an SDP that is no data-channel offer.
    not_sdp = sign_offer(ALICE, offer_payload(ALICE, answerer.identity.did, "hello"))
    await refused(answerer, {"offer": not_sdp}, 400, "bad-sdp")
    await refused(answerer, json.dumps({"offer": "x"}), 415, "unsupported-media-type")
    await refused(answerer, b"", 405, "method-not-allowed", method="GET")
    await refused(answerer, b"", 404, "not-found", method="GET", path="nowhere")
    await assert_healthy(answerer)


@pytest.mark.asyncio
async def test_a_flood_over_the_address_rate_limit_is_refused(
    make_answerer: AnswererFactory,
) -> None:
    answerer = await make_answerer(config(per_address=RateLimit(burst=5, per_second=0.5)))
    results = await asyncio.gather(
        *(post(answerer, {"offer": "flood"}) for _ in range(30)), return_exceptions=False
    )
    codes = [document["error"] for _, document, _ in results]
    assert codes.count("malformed") == 5
    assert codes.count("rate-limited") == 25
    limited = next(headers for status, _, headers in results if status == 429)
    assert int(limited["Retry-After"]) >= 1
    # The answerer is healthy, and the address is let in again once its bucket refills.
    status, _, _ = await post(answerer, b"", method="GET", path="healthz")
    assert status == 200
    for _ in range(100):
        status, document, _ = await post(answerer, {"offer": "again"})
        if status != 429:
            break
        await asyncio.sleep(0.2)
    assert document["error"] == "malformed"


@pytest.mark.asyncio
async def test_a_flood_from_one_did_is_refused(make_answerer: AnswererFactory) -> None:
    answerer = await make_answerer(config(per_did=RateLimit(burst=2, per_second=0.01)))
    flooder = Identity.generate()
    for _ in range(2):
        status, _, _ = await post(answerer, {"offer": await signed_offer(answerer, flooder)})
        assert status == 200
    await refused(answerer, {"offer": await signed_offer(answerer, flooder)}, 429, "rate-limited")
    await assert_healthy(answerer)  # another DID is not held back


@pytest.mark.asyncio
async def test_offers_over_the_peer_cap_are_refused(make_answerer: AnswererFactory) -> None:
    answerer = await make_answerer(config(max_peers=1, connect_timeout=1.5))
    pending = Peer(LOOPBACK)
    try:
        token, _ = seal_offer(ALICE, answerer.identity.did, await pending.create_offer())
        status, _, _ = await post(answerer, {"offer": token})
        assert status == 200
        assert answerer.peer_count == 1
        headers = await refused(answerer, {"offer": await signed_offer(answerer)}, 429, "busy")
        assert "Retry-After" in headers
    finally:
        await pending.close()
    for _ in range(100):
        if answerer.peer_count == 0:
            break
        await asyncio.sleep(0.1)
    await assert_healthy(answerer)


@pytest.mark.asyncio
async def test_refusals_are_counted_in_the_metrics(answerer: Answerer) -> None:
    await refused(answerer, {"offer": "x"}, 400, "malformed")
    await assert_healthy(answerer)
    status, text, headers = await post(answerer, b"", method="GET", path="metrics")
    assert status == 200
    assert headers["Content-Type"].startswith("text/plain")
    assert offered(text, "malformed") == 1
    assert offered(text, "accepted") == 1
    assert "didrtc_signaling_setup_seconds_count 1.0" in text


@settings(max_examples=4, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    bodies=st.lists(
        st.one_of(
            st.binary(max_size=2000),
            st.text(max_size=2000).map(str.encode),
            st.dictionaries(
                st.sampled_from(["offer", "answer", "x"]),
                st.one_of(st.text(max_size=300), st.integers(), st.none()),
                max_size=3,
            ).map(lambda d: json.dumps(d).encode()),
        ),
        min_size=40,
        max_size=40,
    ),
    content_type=st.sampled_from(["application/json", "text/plain", "application/jose"]),
)
def test_fuzzed_requests_get_a_4xx_json_refusal_never_a_5xx(
    bodies: list[bytes], content_type: str
) -> None:
    async def run() -> None:
        answerer = Answerer(Identity.generate(), config())
        await answerer.start("127.0.0.1", 0)
        try:
            for body in bodies:
                status, document, _ = await post(
                    answerer, body, headers={"Content-Type": content_type}
                )
                assert 400 <= status < 500, (status, body[:100])
                assert isinstance(document, dict)
                assert isinstance(document["error"], str)
            await assert_healthy(answerer)
        finally:
            await answerer.stop()

    asyncio.run(run())
