"""The offerer: TLS pinning or CA validation, strict answer checks, one exception per refusal."""

from __future__ import annotations

import base64
import datetime
import socket
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path

import pytest
import pytest_asyncio
from aiohttp import web
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from didrtc import Identity, jws
from didrtc.signaling import (
    LOOPBACK,
    Answerer,
    AnswerMismatch,
    Forbidden,
    Replayed,
    Target,
    TlsPinMismatch,
    UnexpectedResponse,
    Unreachable,
    WrongAnswerer,
    connect,
)
from didrtc.signaling.envelope import ANSWER_TYP, new_nonce, open_offer, seal_answer
from didrtc.signaling.tls import Certificate, generate_self_signed, server_ssl_context
from tests.signaling.conftest import AnswererFactory, config
from tests.signaling.signaling_support import decode_payload, target

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


@pytest_asyncio.fixture
async def fake_answerer() -> AsyncIterator[Callable[[Handler], Awaitable[str]]]:
    """Serve one handler over HTTPS with a fresh self-signed certificate."""
    runners: list[web.AppRunner] = []

    async def serve(handler: Handler, certificate: Certificate | None = None) -> str:
        certificate = certificate or generate_self_signed()
        app = web.Application()
        app.router.add_post("/receive-offer", handler)
        runner = web.AppRunner(app, handle_signals=False)
        await runner.setup()
        runners.append(runner)
        site = web.TCPSite(runner, "127.0.0.1", 0, ssl_context=server_ssl_context(certificate))
        await site.start()
        port = runner.addresses[0][1]
        return f"https://127.0.0.1:{port}/ {certificate.fingerprint}"

    yield serve
    for runner in runners:
        await runner.cleanup()


def split(served: str) -> tuple[str, str]:
    endpoint, fingerprint = served.split()
    return endpoint, fingerprint


@pytest.mark.asyncio
async def test_a_certificate_other_than_the_pinned_one_is_refused(answerer: Answerer) -> None:
    wrong = generate_self_signed().fingerprint
    with pytest.raises(TlsPinMismatch, match="pins"):
        await connect(Target(answerer.identity.did, answerer.endpoint, wrong), peer_config=LOOPBACK)
    assert answerer.metrics.offers.labels(outcome="accepted")._value.get() == 0


@pytest.mark.asyncio
async def test_without_a_pin_a_self_signed_certificate_is_refused(answerer: Answerer) -> None:
    with pytest.raises(Unreachable, match="certificate"):
        await connect(Target(answerer.identity.did, answerer.endpoint), peer_config=LOOPBACK)


def _ca_and_leaf(directory: Path) -> tuple[Path, Certificate]:
    now = datetime.datetime.now(datetime.UTC)
    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "didrtc test CA")])
    ca = (
        x509.CertificateBuilder()
        .subject_name(ca_name)
        .issuer_name(ca_name)
        .public_key(ca_key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(days=1))
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=True,
                content_commitment=False,
                key_encipherment=False,
                data_encipherment=False,
                key_agreement=False,
                key_cert_sign=True,
                crl_sign=True,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
        .add_extension(
            x509.SubjectKeyIdentifier.from_public_key(ca_key.public_key()), critical=False
        )
        .sign(ca_key, hashes.SHA256())
    )
    key = ec.generate_private_key(ec.SECP256R1())
    import ipaddress

    leaf = (
        x509.CertificateBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")]))
        .issuer_name(ca_name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(days=1))
        .add_extension(
            x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]),
            critical=False,
        )
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(
            x509.ExtendedKeyUsage([x509.oid.ExtendedKeyUsageOID.SERVER_AUTH]), critical=False
        )
        .add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key()),
            critical=False,
        )
        .sign(ca_key, hashes.SHA256())
    )
    ca_file = directory / "ca.pem"
    ca_file.write_bytes(ca.public_bytes(serialization.Encoding.PEM))
    return ca_file, Certificate(
        cert_pem=leaf.public_bytes(serialization.Encoding.PEM),
        key_pem=key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        ),
    )


@pytest.mark.asyncio
async def test_without_a_pin_a_ca_issued_certificate_is_validated(
    make_answerer: AnswererFactory, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    ca_file, certificate = _ca_and_leaf(tmp_path)
    answerer = await make_answerer(certificate=certificate)
    # The system trust store, as OpenSSL reads it, is replaced by this one test CA.
    monkeypatch.setenv("SSL_CERT_FILE", str(ca_file))
    monkeypatch.setenv("SSL_CERT_DIR", str(tmp_path))
    async with connect(
        Target(answerer.identity.did, answerer.endpoint), peer_config=LOOPBACK
    ) as channel:
        assert str(await channel.receive(10)).startswith("Welcome")


@pytest.mark.asyncio
async def test_an_endpoint_that_does_not_answer_is_unreachable() -> None:
    with socket.socket() as probe:  # a port nothing listens on
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    did = Identity.generate().did
    with pytest.raises(Unreachable, match="cannot reach"):
        await connect(
            Target(did, f"https://127.0.0.1:{port}/", generate_self_signed().fingerprint),
            peer_config=LOOPBACK,
            timeout=5,
        )


@pytest.mark.asyncio
async def test_refusals_come_back_as_their_exceptions(make_answerer: AnswererFactory) -> None:
    answerer = await make_answerer(config(allowlist=frozenset({Identity.generate().did})))
    with pytest.raises(Forbidden, match="forbidden"):
        await connect(target(answerer), peer_config=LOOPBACK)


BISTRO = Identity.generate()
MALLORY = Identity.generate()


async def _answer_with(request: web.Request, signer: Identity, **changes: object) -> web.Response:
    document = await request.json()
    offer = open_offer(BISTRO, document["offer"])
    token = seal_answer(BISTRO, offer, "v=0\r\nm=application 9 UDP/DTLS/SCTP x\r\n")
    payload = decode_payload(token)
    payload.update(changes)
    return web.json_response({"answer": jws.sign(signer, payload, typ=ANSWER_TYP)})


@pytest.mark.asyncio
async def test_an_answer_signed_by_another_did_is_refused(
    fake_answerer: Callable[[Handler], Awaitable[str]],
) -> None:
    async def handler(request: web.Request) -> web.Response:
        return await _answer_with(request, MALLORY)

    endpoint, fingerprint = split(await fake_answerer(handler))
    with pytest.raises(WrongAnswerer):
        await connect(Target(BISTRO.did, endpoint, fingerprint), peer_config=LOOPBACK)


@pytest.mark.asyncio
async def test_an_answer_to_another_offer_is_refused(
    fake_answerer: Callable[[Handler], Awaitable[str]],
) -> None:
    async def handler(request: web.Request) -> web.Response:
        return await _answer_with(request, BISTRO, inReplyTo=new_nonce())

    endpoint, fingerprint = split(await fake_answerer(handler))
    with pytest.raises(AnswerMismatch, match="nonce"):
        await connect(Target(BISTRO.did, endpoint, fingerprint), peer_config=LOOPBACK)


@pytest.mark.asyncio
async def test_unreadable_answers_are_unexpected(
    fake_answerer: Callable[[Handler], Awaitable[str]],
) -> None:
    async def garbage(_request: web.Request) -> web.Response:
        return web.Response(text="<html>proxy error</html>", status=502)

    async def empty(_request: web.Request) -> web.Response:
        return web.json_response({"no": "answer"})

    async def replayed(_request: web.Request) -> web.Response:
        return web.json_response({"error": "replayed", "message": "seen it"}, status=409)

    for handler, error in ((garbage, UnexpectedResponse), (empty, UnexpectedResponse)):
        endpoint, fingerprint = split(await fake_answerer(handler))
        with pytest.raises(error):
            await connect(Target(BISTRO.did, endpoint, fingerprint), peer_config=LOOPBACK)
    endpoint, fingerprint = split(await fake_answerer(replayed))
    with pytest.raises(Replayed, match="seen it"):
        await connect(Target(BISTRO.did, endpoint, fingerprint), peer_config=LOOPBACK)


def test_a_target_must_be_https_with_a_valid_fingerprint() -> None:
    did = Identity.generate().did
    with pytest.raises(ValueError, match="https"):
        Target(did, "http://127.0.0.1:8443/")
    with pytest.raises(ValueError, match="fingerprint"):
        Target(did, "https://127.0.0.1:8443/", "nope")
    pinned = Target(did, "https://127.0.0.1:8443/", "AB:" * 31 + "AB").tls_fingerprint
    assert pinned == base64.urlsafe_b64encode(b"\xab" * 32).rstrip(b"=").decode()
