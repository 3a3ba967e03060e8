"""``didrtc keygen`` and ``didrtc did show``: create an identity, and see its DID and document."""

from __future__ import annotations

import argparse
import json
import os
from pathlib import Path
from typing import Any

from didrtc import keyfile
from didrtc.commands.passphrase import ENVIRONMENT_VARIABLE, read_passphrase
from didrtc.did import resolve_did_key
from didrtc.identity import Identity

__all__ = ["default_identity_path", "load_identity", "register"]


def default_identity_path() -> Path:
    """``$XDG_DATA_HOME/didrtc/identity.json`` (``~/.local/share/didrtc/identity.json``)."""
    data_home = os.environ.get("XDG_DATA_HOME") or str(Path.home() / ".local" / "share")
    return Path(data_home) / "didrtc" / "identity.json"


def load_identity(path: Path, passphrase_file: Path | None = None) -> Identity:
    """Load an identity file, asking for its passphrase only when it is encrypted."""
    passphrase = None
    if keyfile.is_encrypted(path):
        passphrase = read_passphrase(passphrase_file, confirm=False)
    return keyfile.load(path, passphrase)


def add_identity_arguments(parser: argparse.ArgumentParser) -> None:
    """``--identity FILE`` and ``--passphrase-file FILE``, shared by every command that signs."""
    parser.add_argument(
        "--identity",
        type=Path,
        default=None,
        metavar="FILE",
        help=f"identity file (default: {default_identity_path()})",
    )
    parser.add_argument(
        "--passphrase-file",
        type=Path,
        default=None,
        metavar="FILE",
        help="read the passphrase of an encrypted identity from FILE "
        f"(or set {ENVIRONMENT_VARIABLE})",
    )


def _keygen(args: argparse.Namespace) -> int:
    path: Path = args.out or default_identity_path()
    passphrase = read_passphrase(args.passphrase_file, confirm=True) if args.passphrase else None
    identity = Identity.generate()
    keyfile.save(identity, path, passphrase)
    if args.json:
        print(json.dumps({"did": identity.did, "file": str(path), "encrypted": bool(passphrase)}))
    else:
        print(identity.did)
        print(f"saved to {path} (mode 0600{', passphrase-encrypted' if passphrase else ''})")
    return 0


def _did_show(args: argparse.Namespace) -> int:
    path: Path = args.file or default_identity_path()
    # A DID document holds only public keys: no passphrase is needed to show it,
    # but the file's DID is checked against its key when it is not encrypted.
    did = keyfile.stored_did(path) if keyfile.is_encrypted(path) else keyfile.load(path).did
    document: dict[str, Any] = resolve_did_key(did, key_format=args.key_format)
    if args.json:
        print(json.dumps({"did": did, "didDocument": document}, indent=2))
    else:
        print(did)
        print(json.dumps(document, indent=2))
    return 0


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    keygen = subparsers.add_parser(
        "keygen",
        help="create a new identity (an Ed25519 did:key) and save it",
        description=(
            "Create a new Ed25519 key pair from the system's CSPRNG and save it as an identity "
            "file readable only by you (mode 0600). The file is never overwritten. With "
            "--passphrase the seed is encrypted with a key derived from your passphrase by "
            "Argon2id (64 MiB, 3 passes) and AES-256-GCM."
        ),
    )
    keygen.add_argument(
        "--out",
        type=Path,
        default=None,
        metavar="FILE",
        help=f"where to save it (default: {default_identity_path()})",
    )
    keygen.add_argument(
        "--passphrase",
        action="store_true",
        help=f"encrypt the file; the passphrase is asked for, or read from --passphrase-file "
        f"or ${ENVIRONMENT_VARIABLE}",
    )
    keygen.add_argument("--passphrase-file", type=Path, default=None, metavar="FILE")
    keygen.add_argument("--json", action="store_true", help="print the result as JSON")
    keygen.set_defaults(handler=_keygen)

    did = subparsers.add_parser("did", help="show the DID and DID document of an identity")
    did_commands = did.add_subparsers(title="did commands", metavar="COMMAND")
    show = did_commands.add_parser(
        "show",
        help="print an identity's DID and its W3C DID document",
        description=(
            "Print the did:key of an identity file and the DID document it resolves to: its "
            "Ed25519 verification method and the X25519 key agreement key derived from it. "
            "Needs no passphrase: only public keys are shown."
        ),
    )
    show.add_argument("file", type=Path, nargs="?", default=None, metavar="FILE")
    show.add_argument(
        "--key-format",
        choices=["Ed25519VerificationKey2018", "JsonWebKey2020"],
        default="Ed25519VerificationKey2018",
        help="how the document writes its keys (default: %(default)s)",
    )
    show.add_argument("--json", action="store_true", help="print one JSON object")
    show.set_defaults(handler=_did_show)
    did.set_defaults(handler=lambda _args: _print_help(did))


def _print_help(parser: argparse.ArgumentParser) -> int:
    parser.print_help()
    return 2
