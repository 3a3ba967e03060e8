"""A self-signed TLS certificate for running the discovery server locally over HTTPS.

For development only: clients must be told to trust this exact certificate
(``--cafile`` / ``ssl.create_default_context(cafile=...)``). In production,
terminate TLS with a certificate from a real CA.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes

from didrtc.certificates import self_signed_certificate

__all__ = ["DEFAULT_HOSTS", "write_self_signed_certificate"]

DEFAULT_HOSTS = ("localhost", "127.0.0.1", "::1")
"""The names the development certificate is valid for."""


def write_self_signed_certificate(
    cert_path: Path,
    key_path: Path,
    *,
    hosts: Sequence[str] = DEFAULT_HOSTS,
    days: int = 30,
) -> str:
    """Write a new P-256 key (mode 0600) and a certificate for ``hosts``; returns its SHA-256."""
    # A trust anchor: clients trust this exact certificate through cafile=.
    cert_pem, key_pem = self_signed_certificate(
        hosts, common_name="didrtc discovery (development)", days=days, trust_anchor=True
    )
    key_path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(key_path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "wb") as handle:
        handle.write(key_pem)
    cert_path.parent.mkdir(parents=True, exist_ok=True)
    cert_path.write_bytes(cert_pem)
    return x509.load_pem_x509_certificate(cert_pem).fingerprint(hashes.SHA256()).hex(":")
