"""TLS for the signaling endpoint: self-signed certificates, server contexts, client pinning.

An answerer needs no certificate authority: its DID Document record (signed by
its DID) carries the SHA-256 of its certificate (``x5t#S256``), and the offerer
accepts exactly that certificate. When a record carries no fingerprint the
offerer validates the server's certificate against the system's CAs instead.
"""

from __future__ import annotations

import base64
import hashlib
import os
import ssl
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

import aiohttp
from cryptography import x509
from cryptography.hazmat.primitives import serialization

from didrtc.certificates import self_signed_certificate
from didrtc.records import cert_fingerprint

__all__ = [
    "Certificate",
    "client_ssl",
    "fingerprint_bytes",
    "generate_self_signed",
    "load_certificate",
    "server_ssl_context",
]


@dataclass(frozen=True)
class Certificate:
    """A TLS certificate chain and its private key, in PEM."""

    cert_pem: bytes = field(repr=False)
    """The certificate (chain), PEM."""
    key_pem: bytes = field(repr=False)
    """The unencrypted private key, PEM. Never logged."""

    @property
    def der(self) -> bytes:
        """The DER bytes of the leaf certificate: what the fingerprint is taken over."""
        return x509.load_pem_x509_certificate(self.cert_pem).public_bytes(
            serialization.Encoding.DER
        )

    @property
    def fingerprint(self) -> str:
        """SHA-256 of the DER leaf certificate, base64url without padding (``x5t#S256``)."""
        return base64.urlsafe_b64encode(hashlib.sha256(self.der).digest()).rstrip(b"=").decode()


def generate_self_signed(
    hosts: tuple[str, ...] = ("127.0.0.1", "localhost"), *, days: int = 365
) -> Certificate:
    """A new ECDSA P-256 self-signed certificate for ``hosts`` (IP addresses or DNS names)."""
    # A pinned leaf: offerers accept it by the fingerprint in the signed record, not a CA.
    cert_pem, key_pem = self_signed_certificate(
        hosts, common_name=hosts[0] if hosts else "didrtc", days=days, trust_anchor=False
    )
    return Certificate(cert_pem=cert_pem, key_pem=key_pem)


def load_certificate(cert_file: Path, key_file: Path) -> Certificate:
    """A certificate and key from PEM files (for example a CA-issued certificate)."""
    return Certificate(cert_pem=cert_file.read_bytes(), key_pem=key_file.read_bytes())


def server_ssl_context(certificate: Certificate) -> ssl.SSLContext:
    """A TLS 1.2+ server context serving ``certificate``."""
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.minimum_version = ssl.TLSVersion.TLSv1_2
    # load_cert_chain reads only files: write both to a private directory and remove it
    # at once, so the key never sits on disk longer than this call.
    with tempfile.TemporaryDirectory(prefix="didrtc-tls-") as directory:
        cert_path, key_path = Path(directory, "cert.pem"), Path(directory, "key.pem")
        cert_path.write_bytes(certificate.cert_pem)
        descriptor = os.open(key_path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(descriptor, "wb") as key_out:
            key_out.write(certificate.key_pem)
        context.load_cert_chain(cert_path, key_path)
    return context


def fingerprint_bytes(fingerprint: str) -> bytes:
    """The 32 raw bytes of a fingerprint (any form ``records.cert_fingerprint`` takes)."""
    text = cert_fingerprint(fingerprint)
    return base64.urlsafe_b64decode(text + "=")


def client_ssl(fingerprint: str | None) -> aiohttp.Fingerprint | ssl.SSLContext:
    """What to pass as aiohttp's ``ssl=``: a SHA-256 pin, or CA validation when there is none.

    With a pin, the chain and host name are not checked — the pin is stronger than
    both, as it names the one certificate the DID's own signed record allows.
    """
    if fingerprint is None:
        return ssl.create_default_context()
    return aiohttp.Fingerprint(fingerprint_bytes(fingerprint))
