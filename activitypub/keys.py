"""Key pairs for HTTP signatures: generation, PEM loading and the accepted key types.

Local actors get an RSA-2048 key (what every fediverse server can verify). Ed25519
keys are supported for peers that publish them (FEP-521a) and for RFC 9421.
Everything here is synchronous and does no I/O.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import lru_cache

from cryptography.exceptions import UnsupportedAlgorithm
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ed25519, rsa

__all__ = [
    "MIN_RSA_BITS",
    "InvalidKey",
    "PrivateKey",
    "PublicKey",
    "generate_ed25519_keypair",
    "generate_rsa_key",
    "generate_rsa_keypair",
    "load_private_key_pem",
    "load_public_key_pem",
    "public_key_pem",
]

PublicKey = rsa.RSAPublicKey | ed25519.Ed25519PublicKey
PrivateKey = rsa.RSAPrivateKey | ed25519.Ed25519PrivateKey

#: RSA keys shorter than this are refused. 1024 bits is weak but still published by
#: old deployments (and by the draft-cavage test vectors); anything shorter is forgeable.
MIN_RSA_BITS = 1024
_RSA_BITS = 2048
_RSA_EXPONENT = 65537


class InvalidKey(ValueError):
    """The text is not a PEM key of a type and size we accept."""


def generate_rsa_key(bits: int = _RSA_BITS) -> rsa.RSAPrivateKey:
    """A fresh RSA private key (exponent 65537)."""
    return rsa.generate_private_key(public_exponent=_RSA_EXPONENT, key_size=bits)


#: Where new RSA keys come from. The test suite swaps in a source that hands each test
#: distinct keys generated once per process (generating one costs ~50 ms).
new_rsa_key: Callable[[int], rsa.RSAPrivateKey] = generate_rsa_key


def generate_rsa_keypair(bits: int = _RSA_BITS) -> tuple[str, str]:
    """Return ``(private_pem, public_pem)``: PKCS#8 and SubjectPublicKeyInfo PEM text."""
    key = new_rsa_key(bits)
    return _private_pem(key), public_key_pem(key.public_key())


def generate_ed25519_keypair() -> tuple[str, str]:
    """Return ``(private_pem, public_pem)`` of a fresh Ed25519 key."""
    key = ed25519.Ed25519PrivateKey.generate()
    return _private_pem(key), public_key_pem(key.public_key())


def public_key_pem(key: PublicKey) -> str:
    """Serialize a public key as SubjectPublicKeyInfo PEM (``BEGIN PUBLIC KEY``)."""
    return key.public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    ).decode("ascii")


def load_public_key_pem(pem: str | bytes) -> PublicKey:
    """Load an RSA (SPKI or PKCS#1) or Ed25519 public key from PEM text, or raise InvalidKey."""
    data = pem.encode("ascii", "replace") if isinstance(pem, str) else pem
    try:
        key = serialization.load_pem_public_key(data)
    except (ValueError, TypeError, UnsupportedAlgorithm) as exc:
        raise InvalidKey("not a PEM public key") from exc
    return check_public_key(key)


def load_private_key_pem(pem: str | bytes) -> PrivateKey:
    """Load an unencrypted RSA or Ed25519 private key from PEM text, or raise InvalidKey.

    Loading checks an RSA key's consistency, which costs far more than signing with it
    (~35 ms against ~1 ms), so the last keys loaded are kept, by their PEM text.
    """
    return _load_private_key(pem.encode("ascii", "replace") if isinstance(pem, str) else pem)


@lru_cache(maxsize=512)
def _load_private_key(data: bytes) -> PrivateKey:
    try:
        key = serialization.load_pem_private_key(data, password=None)
    except (ValueError, TypeError, UnsupportedAlgorithm) as exc:
        raise InvalidKey("not an unencrypted PEM private key") from exc
    if isinstance(key, rsa.RSAPrivateKey):
        _check_rsa_size(key.key_size)
        return key
    if isinstance(key, ed25519.Ed25519PrivateKey):
        return key
    raise InvalidKey(f"unsupported private key type {type(key).__name__}")


def check_public_key(key: object) -> PublicKey:
    """Return ``key`` if it is an accepted public key object, or raise InvalidKey."""
    if isinstance(key, rsa.RSAPublicKey):
        _check_rsa_size(key.key_size)
        return key
    if isinstance(key, ed25519.Ed25519PublicKey):
        return key
    raise InvalidKey(f"unsupported public key type {type(key).__name__}")


def _check_rsa_size(bits: int) -> None:
    if bits < MIN_RSA_BITS:
        raise InvalidKey(f"RSA key of {bits} bits is too short")


def _private_pem(key: PrivateKey) -> str:
    return key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    ).decode("ascii")
