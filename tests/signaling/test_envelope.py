"""Offer and answer envelopes: what is bound, what is refused, and the replay cache."""

from __future__ import annotations

import time

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from didrtc import Identity, jws
from didrtc.signaling import (
    AnswerMismatch,
    BadSignature,
    Busy,
    DecryptionFailed,
    EnvelopeTooLarge,
    Expired,
    Forbidden,
    MalformedEnvelope,
    NotYetValid,
    Replayed,
    SignalingError,
    WrongAnswerer,
    WrongAudience,
)
from didrtc.signaling.envelope import (
    ANSWER_TYP,
    MAX_CLOCK_SKEW,
    OFFER_TYP,
    ReplayCache,
    bound_fields,
    open_answer,
    open_offer,
    seal_answer,
    seal_offer,
)
from tests.signaling.signaling_support import b64url, b64url_decode, decode_payload

SDP = (
    "v=0\r\no=- 1 1 IN IP4 127.0.0.1\r\ns=-\r\nt=0 0\r\n"
    "m=application 9 UDP/DTLS/SCTP webrtc-datachannel\r\n"
)

ALICE = Identity.from_seed(bytes(range(32)))
BISTRO = Identity.from_seed(bytes(range(1, 33)))
MALLORY = Identity.from_seed(bytes(range(2, 34)))


def test_an_offer_opens_for_its_answerer_and_the_answer_for_its_offerer() -> None:
    token, nonce = seal_offer(ALICE, BISTRO.did, SDP)
    assert decode_payload(token).keys() == {"type", "from", "to", "iat", "exp", "nonce", "sdp"}
    offer = open_offer(BISTRO, token, replay_cache=ReplayCache())
    assert (offer.sender, offer.recipient, offer.nonce, offer.sdp) == (
        ALICE.did,
        BISTRO.did,
        nonce,
        SDP,
    )
    answer_token = seal_answer(BISTRO, offer, SDP + "a=answer\r\n")
    answer = open_answer(ALICE, answer_token, answerer_did=BISTRO.did, offer_nonce=nonce)
    assert answer.sdp == SDP + "a=answer\r\n"
    assert answer.in_reply_to == nonce
    assert decode_payload(answer_token)["inReplyTo"] == nonce


def test_the_aad_is_the_jcs_of_every_member_but_sdp() -> None:
    payload = {
        "type": "offer",
        "from": "a",
        "to": "b",
        "iat": 1,
        "exp": 2,
        "nonce": "n",
        "sdp": "x",
    }
    assert (
        bound_fields(payload) == b'{"exp":2,"from":"a","iat":1,"nonce":"n","to":"b","type":"offer"}'
    )


def test_the_sdp_is_not_readable_on_the_wire() -> None:
    token, _ = seal_offer(ALICE, BISTRO.did, SDP)
    assert b"application" not in b64url_decode(token.split(".")[1])
    assert b"application" not in b64url_decode(decode_payload(token)["sdp"])


def resign(token: str, signer: Identity, typ: str = OFFER_TYP, **changes: object) -> str:
    payload = decode_payload(token)
    payload.update(changes)
    return jws.sign(signer, payload, typ=typ)


def test_refusals_each_have_their_own_class() -> None:
    token, _ = seal_offer(ALICE, BISTRO.did, SDP)
    head, body, signature = token.split(".")
    flipped = signature[:10] + ("A" if signature[10] != "A" else "B") + signature[11:]
    with pytest.raises(BadSignature):
        open_offer(BISTRO, f"{head}.{body}.{flipped}")
    with pytest.raises(WrongAudience):
        open_offer(MALLORY, token)
    with pytest.raises(Forbidden):
        open_offer(BISTRO, token, allowed=frozenset({MALLORY.did}))
    with pytest.raises(EnvelopeTooLarge):
        open_offer(BISTRO, token, max_bytes=len(token) - 1)
    with pytest.raises(MalformedEnvelope):
        open_offer(BISTRO, "not.a.jws")
    with pytest.raises(MalformedEnvelope):
        open_offer(BISTRO, 42)
    with pytest.raises(MalformedEnvelope, match="typ"):
        open_offer(BISTRO, resign(token, ALICE, typ=ANSWER_TYP))
    with pytest.raises(MalformedEnvelope, match="members"):
        open_offer(BISTRO, resign(token, ALICE, extra="member"))
    with pytest.raises(MalformedEnvelope, match="nonce"):
        open_offer(BISTRO, resign(token, ALICE, nonce="short"))
    with pytest.raises(MalformedEnvelope, match="type"):
        open_offer(BISTRO, resign(token, ALICE, type="answer"))


def test_a_ciphertext_resigned_by_another_did_does_not_open() -> None:
    token, _ = seal_offer(ALICE, BISTRO.did, SDP)
    # Mallory claims Alice's sealed SDP as her own: "from" is in the aad.
    with pytest.raises(DecryptionFailed):
        open_offer(BISTRO, resign(token, MALLORY, **{"from": MALLORY.did}))
    # ... or signs it unchanged, still naming Alice as the sender.
    with pytest.raises(BadSignature, match="from"):
        open_offer(BISTRO, resign(token, MALLORY))


def test_every_bound_field_is_bound() -> None:
    token, _ = seal_offer(ALICE, BISTRO.did, SDP)
    payload = decode_payload(token)
    for name, value in (("iat", payload["iat"] - 1), ("exp", payload["exp"] - 1)):
        with pytest.raises(DecryptionFailed):
            open_offer(BISTRO, resign(token, ALICE, **{name: value}))
    with pytest.raises(DecryptionFailed):
        open_offer(BISTRO, resign(token, ALICE, nonce=b64url(bytes(16))))
    sealed = bytearray(b64url_decode(payload["sdp"]))
    sealed[-1] ^= 1
    with pytest.raises(DecryptionFailed):
        open_offer(BISTRO, resign(token, ALICE, sdp=b64url(bytes(sealed))))


def test_freshness_is_checked_against_the_clock() -> None:
    now = time.time()
    old, _ = seal_offer(ALICE, BISTRO.did, SDP, now=now - 100)
    with pytest.raises(Expired):
        open_offer(BISTRO, old)
    future, _ = seal_offer(ALICE, BISTRO.did, SDP, now=now + MAX_CLOCK_SKEW + 60)
    with pytest.raises(NotYetValid):
        open_offer(BISTRO, future)
    with pytest.raises(ValueError, match="lifetime"):
        seal_offer(ALICE, BISTRO.did, SDP, lifetime=3600)
    long_lived = resign(old, ALICE, iat=int(now), exp=int(now) + 3600)
    with pytest.raises(MalformedEnvelope, match="validity"):
        open_offer(BISTRO, long_lived)


def test_a_replayed_offer_is_refused_until_it_has_expired() -> None:
    cache = ReplayCache()
    now = time.time()
    token, _ = seal_offer(ALICE, BISTRO.did, SDP, now=now)
    offer = open_offer(BISTRO, token, replay_cache=cache, now=now)
    with pytest.raises(Replayed):
        open_offer(BISTRO, token, replay_cache=cache, now=now + 1)
    # Past its exp the cache may forget it: the envelope is then refused as expired.
    later = offer.exp + MAX_CLOCK_SKEW + 1
    cache.check("someone", "else", now=later)
    assert len(cache) == 0
    with pytest.raises(Expired):
        open_offer(BISTRO, token, replay_cache=cache, now=later)


def test_a_refused_offer_does_not_burn_its_nonce() -> None:
    cache = ReplayCache()
    token, _ = seal_offer(ALICE, BISTRO.did, SDP)
    with pytest.raises(Forbidden):
        open_offer(BISTRO, token, replay_cache=cache, allowed=frozenset())
    assert len(cache) == 0
    open_offer(BISTRO, token, replay_cache=cache)
    assert len(cache) == 1


def test_a_full_replay_cache_fails_closed() -> None:
    cache = ReplayCache(max_entries=2)
    now = time.time()
    cache.add("a", "1", int(now) + 30, now=now)
    cache.add("a", "2", int(now) + 30, now=now)
    with pytest.raises(Busy):
        cache.add("a", "3", int(now) + 30, now=now)
    with pytest.raises(Replayed):
        cache.add("a", "1", int(now) + 30, now=now)
    # Once the first entries expire there is room again.
    cache.add("a", "3", int(now) + 30, now=now + 30 + MAX_CLOCK_SKEW + 1)
    assert len(cache) == 1


def test_the_answer_must_come_from_the_did_dialled_and_answer_this_offer() -> None:
    token, nonce = seal_offer(ALICE, BISTRO.did, SDP)
    offer = open_offer(BISTRO, token)
    answer = seal_answer(BISTRO, offer, SDP)
    with pytest.raises(WrongAnswerer):
        open_answer(ALICE, answer, answerer_did=MALLORY.did, offer_nonce=nonce)
    with pytest.raises(AnswerMismatch, match="nonce"):
        open_answer(ALICE, answer, answerer_did=BISTRO.did, offer_nonce=b64url(bytes(16)))
    with pytest.raises(AnswerMismatch, match="addressed"):
        open_answer(MALLORY, answer, answerer_did=BISTRO.did, offer_nonce=nonce)
    # Mallory answering in the Bistro's name.
    forged = resign(answer, MALLORY, typ=ANSWER_TYP)
    with pytest.raises(WrongAnswerer):
        open_answer(ALICE, forged, answerer_did=BISTRO.did, offer_nonce=nonce)
    # An offer is not an answer.
    with pytest.raises(MalformedEnvelope):
        open_answer(ALICE, token, answerer_did=BISTRO.did, offer_nonce=nonce)


VALID_OFFER, _ = seal_offer(ALICE, BISTRO.did, SDP, lifetime=120)


@settings(max_examples=300, deadline=None)
@given(position=st.integers(min_value=0), replacement=st.characters(codec="ascii"))
def test_any_altered_character_is_refused_with_a_signaling_error(
    position: int, replacement: str
) -> None:
    index = position % len(VALID_OFFER)
    altered = VALID_OFFER[:index] + replacement + VALID_OFFER[index + 1 :]
    if altered == VALID_OFFER:
        return
    with pytest.raises(SignalingError):
        open_offer(BISTRO, altered)


@settings(max_examples=200, deadline=None)
@given(st.one_of(st.text(max_size=300), st.binary(max_size=300), st.none(), st.integers()))
def test_arbitrary_input_raises_only_signaling_errors(value: object) -> None:
    with pytest.raises(SignalingError):
        open_offer(BISTRO, value)
