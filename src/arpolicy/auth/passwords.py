"""Web app passwords: argon2id hashes (argon2-cffi's defaults, RFC 9106's second
recommended option), and what a new password must be."""

from __future__ import annotations

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

from arpolicy.exceptions import ValidationError

MIN_LENGTH = 10
MAX_LENGTH = 200
_HASHER = PasswordHasher()
_DUMMY = _HASHER.hash("arpolicy: a password nobody has")
"""Verified against when the user is unknown, so a wrong email takes as long as a wrong
password (no user enumeration by timing)."""


def hash_password(password: str) -> str:
    return _HASHER.hash(password)


def verify_password(stored: str | None, password: str) -> bool:
    """Whether ``password`` matches ``stored`` (always False, after the same work, when
    nothing is stored)."""
    try:
        return _HASHER.verify(stored or _DUMMY, password) and stored is not None
    except (VerificationError, InvalidHashError):
        return False


def needs_rehash(stored: str) -> bool:
    return _HASHER.check_needs_rehash(stored)


def check_new_password(password: str, *, email: str, field: str = "password") -> None:
    """Refuse a password that is too short, too long, or is the user's email."""
    if len(password) < MIN_LENGTH:
        raise ValidationError(
            f"the password has {len(password)} characters; it needs at least {MIN_LENGTH}",
            where=field,
            fix="choose a longer password; a few unrelated words make a good one",
        )
    if len(password) > MAX_LENGTH:
        raise ValidationError(
            f"the password has {len(password)} characters; at most {MAX_LENGTH} are allowed",
            where=field,
            fix="choose a shorter password",
        )
    if password.strip().casefold() in {email.casefold(), email.split("@")[0].casefold()}:
        raise ValidationError(
            "the password is your email address", where=field, fix="choose another password"
        )
