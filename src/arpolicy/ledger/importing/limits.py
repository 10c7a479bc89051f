"""What the databases can store, in one place: the import checks every value against these
limits before anything is written (on every path: ``arpolicy import``, the upload route, the
API's bodies through ``import_rows``), and the API's body types use the same definitions.

* Text holds no NUL (U+0000: PostgreSQL refuses it in text and JSON) and no lone UTF-16
  surrogate (U+D800-U+DFFF alone is not a character: neither driver can encode it). Both are
  refused on both databases alike, so a file behaves the same on SQLite and PostgreSQL.
* Amounts are BIGINT minor units: at most ``INT64`` of them, so the largest amount of a
  currency follows from its exponent (USD 92233720368547758.07, JPY 9223372036854775807).
* A JSON Lines row nests at most ``MAX_JSON_DEPTH`` objects and lists (a row needs 3: the
  row, ``custom_fields``, a money value); custom fields hold at most ``MAX_CUSTOM_FIELDS``
  values per record, each text or number at most ``CUSTOM_TEXT_LENGTH`` characters; an enum
  field has at most ``MAX_OPTIONS`` options of ``OPTION_LENGTH`` characters.

A database error the checks did not foresee still ends the import cleanly: the savepoint is
rolled back and :class:`ImportFailed` says what happened without the SQL or its parameters
(they hold row data).
"""

from __future__ import annotations

import re

from sqlalchemy.exc import DBAPIError, IntegrityError, OperationalError

from arpolicy.exceptions import ArpolicyError

INT64 = 2**63 - 1
"""Largest value of a BIGINT column (amounts in minor units); the smallest is -INT64 - 1."""
NO_NUL = r"^[^\x00]*$"
"""Pattern of a text without NUL (the API's string types)."""
UNSTORABLE = re.compile("[\x00\ud800-\udfff]")
"""Characters no text column can hold: NUL, and lone surrogates."""
MAX_JSON_DEPTH = 32
CUSTOM_TEXT_LENGTH = 1000
MAX_CUSTOM_FIELDS = 200
MAX_OPTIONS = 100
OPTION_LENGTH = 100
"""Options of an enum custom field, and characters of each."""
SHOWN_LENGTH = 100
"""Characters of a value a report shows (the reject file keeps the whole row)."""

NUL_FIX = (
    "remove it (in JSON Lines also any \\u0000 escape): text never holds NUL; a file full of "
    "them was saved as UTF-16, so save it as UTF-8 instead"
)
SURROGATE_FIX = (
    "write the character itself in UTF-8, or in JSON its full surrogate pair "
    "(\\ud83d\\ude00, never \\ud83d alone)"
)


def unstorable(text: str) -> tuple[str, str] | None:
    """(reason, fix) when ``text`` holds a character the databases cannot store."""
    found = UNSTORABLE.search(text)
    if found is None:
        return None
    at = found.start() + 1
    if found.group() == "\x00":
        return (
            f"contains the NUL character (U+0000) at position {at}, which cannot be stored",
            NUL_FIX,
        )
    return (
        f"contains U+{ord(found.group()):04X} at position {at}, half of a UTF-16 surrogate "
        "pair, which is not a character and cannot be stored",
        SURROGATE_FIX,
    )


def visible(text: str) -> str:
    """``text`` with unstorable characters written as escapes (\\u0000), safe to print and
    to send as JSON."""
    return UNSTORABLE.sub(lambda m: f"\\u{ord(m.group()):04x}", text)


def clip(text: str | None) -> str | None:
    """``text`` as a report shows it: at most ``SHOWN_LENGTH`` characters (the length said),
    unstorable characters escaped."""
    if text is None:
        return None
    if len(text) > SHOWN_LENGTH:
        text = f"{text[:SHOWN_LENGTH]}... ({len(text)} characters)"
    return visible(text) if UNSTORABLE.search(text) else text


class ImportFailed(ArpolicyError):
    """The database refused the import's writes for a reason the checks did not foresee.
    The import's savepoint was rolled back: nothing is stored."""

    status = 422
    type = "import-failed"

    @classmethod
    def of(cls, exc: BaseException) -> ImportFailed:
        """The error for ``exc``, named by its type only (never the SQL or parameters)."""
        orig = getattr(exc, "orig", None) or exc
        name = type(orig).__name__
        if isinstance(exc, OperationalError):
            first = str(orig).strip().splitlines()[0][:200] if str(orig).strip() else name
            failed = cls(
                f"the database could not complete the import ({first}); nothing was imported",
                fix="import the file again in a moment (the database was busy or unreachable)",
            )
            failed.status = 503
        elif isinstance(exc, IntegrityError):
            failed = cls(
                f"the import conflicts with a change stored at the same time ({name}); "
                "nothing was imported",
                fix="import the file again",
            )
            failed.status = 409
        else:
            failed = cls(
                f"the database refused a value of the import ({name}); nothing was imported",
                fix="check the file for values beyond the limits in docs/import.md (Values) and "
                "import it again; if it looks right, report this message",
            )
        return failed


STORAGE_ERRORS = (DBAPIError, OverflowError, UnicodeEncodeError)
"""What the database or its driver raises for a write it cannot do."""
