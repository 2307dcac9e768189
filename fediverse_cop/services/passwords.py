"""Password hashing (argon2id, through argon2-cffi) and generation."""

from __future__ import annotations

import secrets

from argon2 import Parameters, PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

_hasher = PasswordHasher()

MIN_PASSWORD_LENGTH = 8
MAX_PASSWORD_LENGTH = 1024


def use_parameters(parameters: Parameters) -> None:
    """Hash new passwords with other argon2 parameters (the test suite uses the cheapest).

    Hashes carry their parameters, so hashes made with any parameters still verify.
    """
    global _hasher
    _hasher = PasswordHasher.from_parameters(parameters)


def hash_password(password: str) -> str:
    return _hasher.hash(password)


def verify_password(password_hash: str | None, password: str) -> bool:
    if not password_hash:
        return False
    try:
        return _hasher.verify(password_hash, password)
    except (VerificationError, InvalidHashError):
        return False


def generate_password() -> str:
    return secrets.token_urlsafe(18)
