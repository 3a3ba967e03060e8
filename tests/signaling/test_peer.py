"""aiortc peers: loopback pinning, data channels both ways, and the DTLS fingerprint binding."""

from __future__ import annotations

import asyncio
import contextlib
import re

import aioice.ice
import pytest

from didrtc.signaling import LOOPBACK, ChannelClosed, ConnectionFailed, IceServer, PeerConfig
from didrtc.signaling.errors import BadSdp
from didrtc.signaling.peer import Peer, check_data_channel_sdp, pinned_host_addresses

CANDIDATE = re.compile(r"^a=candidate:\S+ \d+ (\S+) \d+ (\S+) (\d+) typ (\S+)", re.M)


async def connected_pair(config: PeerConfig = LOOPBACK) -> tuple[Peer, Peer, str, str]:
    offerer, answerer = Peer(config), Peer(config)
    offer = await offerer.create_offer()
    answer = await answerer.answer(offer)
    await offerer.accept_answer(answer)
    return offerer, answerer, offer, answer


@pytest.mark.asyncio
async def test_pinned_peers_offer_only_127_0_0_1_host_candidates() -> None:
    offerer, answerer, offer, answer = await connected_pair()
    try:
        for sdp in (offer, answer):
            candidates = CANDIDATE.findall(sdp)
            assert candidates, sdp
            assert {(transport, host, kind) for transport, host, _, kind in candidates} == {
                ("udp", "127.0.0.1", "host")
            }
            assert "c=IN IP4 127.0.0.1" in sdp
        # And the sockets behind them are bound to loopback too.
        await asyncio.gather(offerer.open_channel(10), answerer.open_channel(10))
        for peer in (offerer, answerer):
            assert peer.pc.sctp is not None
            transport = peer.pc.sctp.transport.transport
            assert {c.ip for c in transport.iceGatherer.getLocalCandidates()} == {"127.0.0.1"}
    finally:
        await offerer.close()
        await answerer.close()


def test_pinning_is_scoped_to_its_context() -> None:
    with pinned_host_addresses(("127.0.0.1", "::1")):
        assert aioice.ice.get_host_addresses(True, True) == ["127.0.0.1", "::1"]
        assert aioice.ice.get_host_addresses(True, False) == ["127.0.0.1"]
    # Outside the block aioice's own choice applies again: never loopback.
    assert "127.0.0.1" not in aioice.ice.get_host_addresses(True, False)


def test_no_ice_server_is_configured_unless_asked() -> None:
    # None would make aiortc use Google's STUN server; an empty list uses none.
    assert LOOPBACK.rtc_configuration().iceServers == []


def test_ice_servers_from_the_command_line_form() -> None:
    stun = IceServer.parse("stun:stun.example.org:3478")
    turn = IceServer.parse("turn:alice:s3cret@turn.example.org:3478?transport=tcp")
    assert stun.urls == ("stun:stun.example.org:3478",)
    assert stun.username is None
    assert turn.urls == ("turn:turn.example.org:3478?transport=tcp",)
    assert (turn.username, turn.credential) == ("alice", "s3cret")
    assert "s3cret" not in repr(turn)
    configuration = PeerConfig(ice_servers=(stun, turn)).rtc_configuration()
    assert [s.urls for s in configuration.iceServers or []] == [list(stun.urls), list(turn.urls)]
    with pytest.raises(ValueError, match="TURN server needs a username"):
        IceServer(urls=("turn:turn.example.org",))
    with pytest.raises(ValueError, match="stun:"):
        IceServer(urls=("http://example.org",))
    with pytest.raises(ValueError, match="not an IP address"):
        PeerConfig(host_addresses=("localhost",))


@pytest.mark.asyncio
async def test_text_and_binary_flow_both_ways() -> None:
    offerer, answerer, _, _ = await connected_pair()
    left, right = await asyncio.gather(offerer.open_channel(10), answerer.open_channel(10))
    await left.send("hello")
    await left.send(b"\x00\xff binary")
    assert await right.receive(5) == "hello"
    assert await right.receive(5) == b"\x00\xff binary"
    await right.send(b"")
    await right.send("\u00e9t\u00e9 \U0001f600")
    assert await left.receive(5) == b""
    assert await left.receive(5) == "\u00e9t\u00e9 \U0001f600"
    big = bytes(range(256)) * 1000
    await left.send(big)
    assert await right.receive(5) == big
    await left.close()
    with pytest.raises(ChannelClosed):
        await right.receive(10)
    with pytest.raises(ChannelClosed):
        await right.send("too late")
    await answerer.close()


@pytest.mark.asyncio
async def test_a_swapped_dtls_fingerprint_fails_the_connection() -> None:
    offerer, answerer = Peer(LOOPBACK), Peer(LOOPBACK)
    stranger = Peer(LOOPBACK)
    try:
        offer = await offerer.create_offer()
        answer = await answerer.answer(offer)
        # The fingerprint of another certificate, as a man in the middle would put there.
        other = await stranger.create_offer()
        theirs = re.search(r"a=fingerprint:sha-256 \S+", answer)
        forged = re.search(r"a=fingerprint:sha-256 \S+", other)
        assert theirs
        assert forged
        assert theirs.group() != forged.group()
        await offerer.accept_answer(answer.replace(theirs.group(), forged.group()))
        with pytest.raises(ConnectionFailed):
            await offerer.open_channel(15)
        assert offerer.state == "failed"
    finally:
        for peer in (offerer, answerer, stranger):
            await peer.close()


def test_only_data_channel_sdp_is_accepted() -> None:
    with pytest.raises(BadSdp):
        check_data_channel_sdp("not sdp")
    with pytest.raises(BadSdp, match="m=application"):
        check_data_channel_sdp("v=0\r\nm=audio 9 UDP/TLS/RTP/SAVPF 0\r\nm=application 9 x\r\n")
    with pytest.raises(BadSdp):
        check_data_channel_sdp(b"v=0")


@pytest.mark.asyncio
async def test_mdns_candidates_are_dropped_when_not_resolving() -> None:
    offerer, answerer = Peer(LOOPBACK), Peer(LOOPBACK)
    try:
        offer = await offerer.create_offer()
        mdns = "a=candidate:1 1 udp 2130706431 0b5c8e5e-aaaa.local 5000 typ host"
        tainted = offer.replace("a=end-of-candidates", mdns + "\r\na=end-of-candidates")
        await answerer.answer(tainted)
        assert answerer.pc.sctp is not None
        remote = answerer.pc.sctp.transport.transport.getRemoteCandidates()
        assert remote
        assert all(not c.ip.endswith(".local") for c in remote)
    finally:
        await offerer.close()
        await answerer.close()


@pytest.mark.asyncio
async def test_a_receiver_that_falls_behind_is_closed_not_grown() -> None:
    small = PeerConfig(host_addresses=("127.0.0.1",), resolve_mdns=False, receive_buffer=5)
    offerer, answerer, _, _ = await connected_pair(small)
    left, right = await asyncio.gather(offerer.open_channel(10), answerer.open_channel(10))
    for index in range(50):
        if left.closed:
            break
        with contextlib.suppress(ChannelClosed):
            await left.send(f"message {index}")
    await asyncio.wait_for(right.wait_closed(), 10)
    received = [await right.receive(5) for _ in range(5)]
    assert received == [f"message {i}" for i in range(5)]
    with pytest.raises(ChannelClosed, match="overflowed"):
        await right.receive(5)
    await offerer.close()
    await answerer.close()
