"""Argon2 hashing and verification of the root password (argon2-cffi)."""

from __future__ import annotations

from argon2 import PasswordHasher, extract_parameters
from argon2.exceptions import InvalidHashError, VerificationError

#: Every Argon2 hash in the PHC string format starts with this (`$argon2id$...`).
ARGON2_PREFIX = "$argon2"

#: Hasher for a plain-text root password at start: argon2id with 7 MiB, 5 iterations
#: and 1 lane. OWASP's Password Storage Cheat Sheet lists it among five settings of
#: equal strength, and it uses the least memory, which a worker keeps after its first
#: login. The 19 MiB setting would leave too little of the 100 MiB budget per worker.
#: A hash given in ROOT_PASSWORD carries its own parameters.
_hasher = PasswordHasher(time_cost=5, memory_cost=7 * 1024, parallelism=1)


class InvalidPasswordHash(ValueError):
    """Raised when a value that starts like an Argon2 hash cannot be parsed as one."""


def is_argon2_hash(value: str) -> bool:
    return value.startswith(ARGON2_PREFIX)


def hash_password(password: str) -> str:
    return _hasher.hash(password)


def ensure_hash(password_or_hash: str) -> str:
    """Return an Argon2 hash: the value itself when it is one, else the hash of it."""
    if not is_argon2_hash(password_or_hash):
        return hash_password(password_or_hash)
    try:
        extract_parameters(password_or_hash)
    except InvalidHashError:
        raise InvalidPasswordHash(
            "the value starts with $argon2 but is not a valid Argon2 hash"
        ) from None
    return password_or_hash


def verify_password(password_hash: str, password: str) -> bool:
    """Return whether `password` matches `password_hash`, in time that does not leak where."""
    try:
        return _hasher.verify(password_hash, password)
    except VerificationError:
        return False
