"""``didrtc demo``: the main job, run on this machine with nothing to set up.

Until the network parts land, the demo walks through the identity layer they
stand on: two peers create identities, resolve each other's DID documents,
sign and verify a JWS, and seal a message that only the other can open —
printing each stage with its time.
"""

from __future__ import annotations

import argparse
import json
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import TypeVar

import didrtc
from didrtc import jws
from didrtc.did import resolve_did_key
from didrtc.errors import DecryptionError

__all__ = ["register", "run_demo"]

T = TypeVar("T")


class StagePrinter:
    """Prints ``[n] stage ... 1.23 ms`` lines, one per stage of the demo."""

    def __init__(self, emit: Callable[[str], None] = print) -> None:
        self._emit = emit
        self._count = 0
        self.timings: dict[str, float] = {}

    @contextmanager
    def stage(self, title: str) -> Iterator[None]:
        self._count += 1
        start = time.perf_counter()
        yield
        elapsed = time.perf_counter() - start
        self.timings[title] = elapsed
        self._emit(f"[{self._count}] {title:<52} {elapsed * 1000:8.2f} ms")

    def detail(self, text: str) -> None:
        self._emit(f"      {text}")


def run_demo(emit: Callable[[str], None] = print) -> dict[str, float]:
    """Run the demo, printing through ``emit``; returns each stage's time in seconds."""
    out = StagePrinter(emit)
    emit(f"didrtc {didrtc.__version__} demo, crypto backend: {didrtc.BACKEND}")
    with out.stage("answerer creates its identity"):
        answerer = didrtc.Identity.generate()
    out.detail(answerer.did)
    with out.stage("offerer creates its identity"):
        offerer = didrtc.Identity.generate()
    out.detail(offerer.did)
    with out.stage("offerer resolves the answerer's DID document"):
        document = resolve_did_key(answerer.did)
    out.detail(f"keyAgreement: {document['keyAgreement'][0]}")
    now = int(time.time())
    claims = {"type": "hello", "from": offerer.did, "to": answerer.did, "iat": now, "exp": now + 60}
    with out.stage("offerer signs a JWS addressed to the answerer"):
        token = jws.sign(offerer, claims, typ="didrtc-demo+jws")
    out.detail(f"{token[:60]}... ({len(token)} bytes)")
    with out.stage("answerer verifies it (strict Ed25519)"):
        verified = jws.verify(token, typ="didrtc-demo+jws")
    out.detail(f"signed by {verified.signer}")
    message = json.dumps({"text": "a table for two at eight?"}).encode()
    with out.stage("offerer seals a message to the answerer (HPKE)"):
        sealed = didrtc.seal(answerer.did, message, info=b"didrtc demo", aad=token.encode())
    out.detail(f"{len(sealed)} bytes on the wire")
    with out.stage("answerer opens it"):
        opened = answerer.open(sealed, info=b"didrtc demo", aad=token.encode())
    out.detail(opened.decode())
    with out.stage("offerer cannot open what was sealed to the answerer"):
        try:
            offerer.open(sealed, info=b"didrtc demo", aad=token.encode())
        except DecryptionError:
            refused = True
        else:
            refused = False
    if not refused:
        raise AssertionError("a message sealed to the answerer opened with the offerer's key")
    out.detail("refused, as it must be")
    total = sum(out.timings.values())
    emit(f"done: {len(out.timings)} stages in {total * 1000:.2f} ms")
    return out.timings


def _demo(_args: argparse.Namespace) -> int:
    run_demo()
    return 0


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = subparsers.add_parser(
        "demo",
        help="run the whole flow on this machine and print each stage with its time",
        description="Run the didrtc demo on embedded defaults, touching no network: two "
        "identities, DID resolution, a signed JWS checked, and a message sealed with HPKE "
        "that only its recipient can open. Each stage is printed with its time.",
    )
    parser.set_defaults(handler=_demo)
