"""Reviewer keys: Ed25519 in OpenSSH formats, their fingerprints, and `keygen`.

Keys made by `ssh-keygen -t ed25519` (passphrase-protected or not) work as they are;
the `cryptography` library reads and writes the formats and does the signing, since a
signature scheme is not something to write ourselves.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import os
import re
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

from reviewkit.errors import UsageError

if TYPE_CHECKING:  # imported where used: a run whose signatures are all in the verification cache needs none of it
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

    from reviewkit.bundle.verify_cache import VerifyCache

KEY_TYPE = "ssh-ed25519"
PASSPHRASE_ENV = "REVIEWKIT_KEY_PASSPHRASE"
_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]*$")
_KEY_NAMES = {"RSAPrivateKey": "an RSA key", "EllipticCurvePrivateKey": "an ECDSA key", "DSAPrivateKey": "a DSA key"}

PassphraseSource = Callable[[Path], "str | None"]


def valid_name(name: str) -> bool:
    """Return whether `name` can name a reviewer and their files (letters, digits, `.`, `_`, `-`)."""
    return bool(_NAME.match(name)) and not name.endswith(".pub")


# -- public keys ------------------------------------------------------------------------


def public_key_blob(line: str) -> bytes:
    """Return the key blob of an OpenSSH public key line, or raise ValueError saying why not."""
    parts = line.split()
    if len(parts) < 2:
        raise ValueError("not an OpenSSH public key line (expected 'ssh-ed25519 AAAA... comment')")
    if parts[0] != KEY_TYPE:
        raise ValueError(f"a {parts[0]} key; reviewkit accepts {KEY_TYPE} keys only")
    try:
        blob = base64.b64decode(parts[1], validate=True)
    except binascii.Error:
        raise ValueError("the key's base64 does not decode") from None
    if not blob.startswith(b"\x00\x00\x00\x0bssh-ed25519\x00\x00\x00\x20") or len(blob) != 51:
        raise ValueError(f"the key data is not an {KEY_TYPE} key")
    return blob


def parse_public_key(line: str) -> Ed25519PublicKey:
    """Return the Ed25519 key of an OpenSSH public key line, or raise ValueError saying why not."""
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

    return Ed25519PublicKey.from_public_bytes(public_key_blob(line)[-32:])


def fingerprint_of_line(line: str) -> str:
    """Return the OpenSSH fingerprint (`SHA256:...`, as `ssh-keygen -l` prints it) of a public key line."""
    digest = hashlib.sha256(public_key_blob(line)).digest()
    return "SHA256:" + base64.b64encode(digest).decode("ascii").rstrip("=")


def public_line(key: Ed25519PrivateKey | Ed25519PublicKey, comment: str = "") -> str:
    """Return the OpenSSH public key line of `key`, with an optional comment."""
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

    public = key.public_key() if isinstance(key, Ed25519PrivateKey) else key
    text = public.public_bytes(serialization.Encoding.OpenSSH, serialization.PublicFormat.OpenSSH).decode("ascii")
    return f"{text} {comment}" if comment else text


def fingerprint(key: Ed25519PrivateKey | Ed25519PublicKey) -> str:
    """Return the OpenSSH fingerprint of `key`."""
    return fingerprint_of_line(public_line(key))


def verify_signature(public_line_text: str, signature: bytes, message: bytes, cache: VerifyCache | None = None) -> bool:
    """Return whether `signature` is the listed key's signature of `message`.

    A signature `cache` has seen verified, by this key over this message, is not verified again.
    """
    try:
        blob = public_key_blob(public_line_text)
    except ValueError:
        return False
    fact = (b"ed25519", blob, hashlib.sha256(message).digest(), signature)
    if cache is not None and cache.known(*fact):
        return True
    from cryptography.exceptions import InvalidSignature

    try:
        parse_public_key(public_line_text).verify(signature, message)
    except (InvalidSignature, ValueError):
        return False
    if cache is not None:
        cache.remember(*fact)
    return True


# -- private keys -----------------------------------------------------------------------


def load_private_key(path: Path, passphrase: PassphraseSource) -> Ed25519PrivateKey:
    """Read an OpenSSH Ed25519 private key; ask `passphrase(path)` only when the key is protected."""
    from cryptography.exceptions import UnsupportedAlgorithm
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

    try:
        data = path.read_bytes()
    except OSError as err:
        raise UsageError(f"{path}: cannot read the key ({err.strerror or err})") from None
    try:
        key = serialization.load_ssh_private_key(data, password=None)
    except TypeError:  # passphrase-protected
        key = _load_protected(path, data, passphrase)
    except (ValueError, UnsupportedAlgorithm):
        raise UsageError(_not_a_private_key(path, data)) from None
    if not isinstance(key, Ed25519PrivateKey):
        kind = _KEY_NAMES.get(type(key).__name__, f"a {type(key).__name__} key")
        raise UsageError(f"{path}: {kind}; reviewkit signs with Ed25519 keys only (`reviewkit keygen NAME` or `ssh-keygen -t ed25519`)")
    return key


def _load_protected(path: Path, data: bytes, passphrase: PassphraseSource) -> object:
    from cryptography.exceptions import UnsupportedAlgorithm
    from cryptography.hazmat.primitives import serialization

    secret = passphrase(path)
    if secret is None:
        raise UsageError(f"{path}: the key is passphrase-protected; run on a terminal to be asked, or set {PASSPHRASE_ENV}")
    try:
        return serialization.load_ssh_private_key(data, password=secret.encode("utf-8"))
    except (ValueError, TypeError):
        raise UsageError(f"{path}: wrong passphrase for the key") from None
    except UnsupportedAlgorithm as err:
        raise UsageError(f"{path}: cannot open the protected key ({err})") from None


def _not_a_private_key(path: Path, data: bytes) -> str:
    if data.lstrip().startswith(b"ssh-"):
        return f"{path}: a public key; pass the private key file (the one without .pub)"
    return f"{path}: not an OpenSSH private key (expected '-----BEGIN OPENSSH PRIVATE KEY-----')"


def generate_key_files(name: str, folder: Path) -> tuple[Path, Path, str]:
    """Write a new key pair `folder/name` (mode 0600) and `folder/name.pub`, never overwriting.

    Return the two paths and the public key line.
    """
    if not valid_name(name):
        raise UsageError(f"{name!r}: a reviewer name uses letters, digits, '.', '_' and '-' only")
    private_path, public_path = folder / name, folder / f"{name}.pub"
    for path in (private_path, public_path):
        if path.exists() or path.is_symlink():
            raise UsageError(f"{path} already exists; reviewkit never overwrites a key (choose another name or --out)")
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

    key = Ed25519PrivateKey.generate()
    pem = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.OpenSSH, serialization.NoEncryption())
    line = public_line(key, name)
    folder.mkdir(parents=True, exist_ok=True)
    _write_new(private_path, pem, 0o600)
    try:
        _write_new(public_path, (line + "\n").encode("ascii"), 0o644)
    except UsageError:
        private_path.unlink()  # leave no half pair behind
        raise
    return private_path, public_path, line


def _write_new(path: Path, data: bytes, mode: int) -> None:
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, mode)
    except FileExistsError:
        raise UsageError(f"{path} already exists; reviewkit never overwrites a key") from None
    except OSError as err:
        raise UsageError(f"{path}: cannot write ({err.strerror or err})") from None
    with os.fdopen(fd, "wb") as handle:
        os.fchmod(handle.fileno(), mode)  # the umask may only narrow; make the mode exact
        handle.write(data)
