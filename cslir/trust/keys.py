"""The organisation's Ed25519 key: made by ``cslir key init``, read from PEM, named by an id.

The private key lives outside the store and the ops repo (a file the responders' machines can
read, or the PEM itself in a secret), referenced from cslir.yaml like any secret
(``signing_key: ${env:CSLIR_SIGNING_KEY}``). The public key is committed to the ops repo
(``verify_key: keys/signing.pub``) and is all that ``cslir verify`` needs. Ed25519 through
``cryptography``: a well-kept library, deterministic signatures, 32-byte keys.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from cslir.base.errors import InvalidInput

if TYPE_CHECKING:
    from cryptography.hazmat.primitives.asymmetric.ed25519 import (
        Ed25519PrivateKey,
        Ed25519PublicKey,
    )

PEM_PRIVATE = "-----BEGIN PRIVATE KEY-----"


def key_id(raw_public: bytes) -> str:
    """A short, stable name for a public key: the first 16 hex digits of its sha256."""
    return hashlib.sha256(raw_public).hexdigest()[:16]


@dataclass(frozen=True)
class VerifyKey:
    """A public key that checks signatures."""

    key: Ed25519PublicKey
    id: str

    def verify(self, message: bytes, signature: bytes) -> bool:
        from cryptography.exceptions import InvalidSignature

        try:
            self.key.verify(signature, message)
        except InvalidSignature:
            return False
        return True


@dataclass(frozen=True)
class SigningKey:
    """The private key that signs checkpoints, and its public half."""

    key: Ed25519PrivateKey
    public: VerifyKey

    def sign(self, message: bytes) -> bytes:
        return self.key.sign(message)


def generate() -> tuple[bytes, bytes]:
    """A new key pair as (private PKCS#8 PEM, public SubjectPublicKeyInfo PEM)."""
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

    private = Ed25519PrivateKey.generate()
    private_pem = private.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    public_pem = private.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    return private_pem, public_pem


def _public(key: Ed25519PublicKey) -> VerifyKey:
    from cryptography.hazmat.primitives import serialization

    raw = key.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    return VerifyKey(key, key_id(raw))


def load_signing_key(value: str, where: str) -> SigningKey:
    """The private key from ``value``: its PEM text, or the path of a PEM file.

    ``where`` names the setting in messages; the value itself is never shown (it may be the key).
    """
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

    text = value.strip()
    if not text.startswith(PEM_PRIVATE):
        path = Path(text).expanduser()
        try:
            text = path.read_text(encoding="ascii")
        except (OSError, UnicodeDecodeError) as e:
            reason = e.strerror if isinstance(e, OSError) else "not a PEM text file"
            raise InvalidInput(
                f"{where}: the signing key file {path} cannot be read: {reason}"
            ) from None
    try:
        key = serialization.load_pem_private_key(text.encode("ascii"), password=None)
    except (ValueError, TypeError, UnicodeEncodeError):
        raise InvalidInput(f"{where}: not an unencrypted PEM private key") from None
    if not isinstance(key, Ed25519PrivateKey):
        raise InvalidInput(f"{where}: the signing key must be Ed25519 (made by `cslir key init`)")
    return SigningKey(key, _public(key.public_key()))


def load_verify_key(path: Path) -> VerifyKey:
    """The public key in the PEM file at ``path``."""
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

    try:
        data = path.read_bytes()
    except OSError as e:
        raise InvalidInput(f"{path}: the verify key cannot be read: {e.strerror}") from None
    try:
        key = serialization.load_pem_public_key(data)
    except (ValueError, TypeError):
        raise InvalidInput(f"{path}: not a PEM public key") from None
    if not isinstance(key, Ed25519PublicKey):
        raise InvalidInput(f"{path}: the verify key must be Ed25519 (made by `cslir key init`)")
    return _public(key)
