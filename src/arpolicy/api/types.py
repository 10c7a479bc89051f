"""Constrained value types of the ledger resources' bodies and query parameters.

Every string refuses the NUL character (PostgreSQL cannot store it) and has a length bound,
every integer fits its column, every instant has an offset and a UTC equivalent: a request
that does not fit is a 422 naming the field, never a database error.
"""

from __future__ import annotations

import re
from datetime import UTC, date, datetime
from typing import Annotated, Any

import pycountry
from fastapi import Path, Query
from pydantic import (
    AfterValidator,
    AwareDatetime,
    BeforeValidator,
    Field,
    StrictBool,
    StringConstraints,
)
from pydantic_core import PydanticCustomError

from arpolicy.api.schemas import CurrencyCode, MoneyValue, NotNull
from arpolicy.kit.money import Money
from arpolicy.ledger.importing.limits import (  # one definition for the API and imports
    CUSTOM_TEXT_LENGTH,
    INT64,
    MAX_CUSTOM_FIELDS,
    NO_NUL,
)

INT32 = 2_147_483_647
"""Largest row id (ids are INTEGER columns)."""


STRIPPED = r"\t\n\v\f\r \u0085\u00a0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000"
"""What a body's text loses at its ends (``str_strip_whitespace``: Unicode White_Space)."""
SPACE = STRIPPED + r"\x1c-\x1f\ufeff"
"""White space spelled out for patterns: ``\\s`` means other characters to the schema's
(ECMA-262) regular expressions than to Python's or pydantic's (NEL is one only in the
latter), so a pattern with ``\\s`` lets generated clients send what the server refuses."""
TEXT = rf"^[^\x00]*[^\x00{STRIPPED}][^\x00]*$"
"""Text with something besides white space (which is stripped), and no NUL."""


def _text(max_length: int) -> Any:
    return StringConstraints(min_length=1, max_length=max_length, pattern=TEXT)


ExternalId = Annotated[str, _text(100)]
ExternalKey = Annotated[ExternalId | None, NotNull]
"""A record's external id in a PATCH body: it is the record's key, so it may be given
(unchanged) or left out, but never null."""
Text32 = Annotated[str, _text(32)]
Text40 = Annotated[str, _text(40)]
Text64 = Annotated[str, _text(64)]
Text100 = Annotated[str, _text(100)]
Text200 = Annotated[str, _text(200)]
Text300 = Annotated[str, _text(300)]
Note = Annotated[str, _text(2000)]
Locale = Annotated[str, _text(16)]
Email = Annotated[
    str,
    StringConstraints(
        min_length=3,
        max_length=254,
        pattern=rf"^[^\x00@{SPACE}]+@[^\x00@{SPACE}]+\.[^\x00@{SPACE}]+$",
    ),
]
"""An e-mail address as the importer takes it: a dot in the domain (ana@example.com)."""
Currency = CurrencyCode
Country = Annotated[
    str,
    StringConstraints(pattern=r"^[A-Z]{2}$"),
    Field(
        json_schema_extra=lambda s: s.update(enum=sorted(c.alpha_2 for c in pycountry.countries))
    ),
]
"""An ISO 3166-1 alpha-2 code (US, DE); the schema lists them, the importer checks them."""
Language = Annotated[str, StringConstraints(pattern=r"^[a-z]{2,3}$")]
RefId = Annotated[int, Field(ge=1, le=INT32)]
"""The id of another record of the tenant."""
FIRST_DAY, LAST_DAY = date(1900, 1, 1), date(2999, 12, 31)
YEAR = "(19[0-9]{2}|2[0-9]{3})"
"""The years a date or instant may fall in, 1900 to 2999, as the schema's patterns say."""
DAY = YEAR + "-(0[1-9]|1[0-2])-(0[1-9]|[12][0-9]|3[01])"
DAY_PATTERN = f"^{DAY}$"
TIME = "([01][0-9]|2[0-3]):[0-5][0-9]:[0-5][0-9]([.][0-9]{1,6})?"
OFFSET = "([Zz]|[+-]([01][0-9]|2[0-3]):[0-5][0-9])"
INSTANT_PATTERN = f"^{DAY}[Tt]{TIME}{OFFSET}$"


def _written(pattern: str, kind: str, example: str) -> Any:
    """Take only text matching ``pattern`` (or a value of the type, from Python callers).
    Pydantic alone also reads a number as a unix timestamp (``as_of=0`` as 1970-01-01) and
    a date with a time, which the schema does not allow."""
    compiled = re.compile(pattern)
    expected = date if kind == "date" else datetime

    def check(value: Any) -> Any:
        typed = isinstance(value, expected) and (kind != "date" or not isinstance(value, datetime))
        if typed and FIRST_DAY.year <= value.year <= LAST_DAY.year:
            return value
        if isinstance(value, str) and compiled.fullmatch(value):
            return value
        raise PydanticCustomError(
            f"{kind}_written",
            "Input should be {what} written as {example}, from the year 1900 to 2999",
            {
                "what": "a date" if kind == "date" else "an instant with its offset",
                "example": example,
            },
        )

    return BeforeValidator(check)


Day = Annotated[
    date,
    _written(DAY_PATTERN, "date", "YYYY-MM-DD"),
    Field(json_schema_extra={"pattern": DAY_PATTERN}),
]
"""A date from 1900-01-01 to 2999-12-31, written YYYY-MM-DD (ISO 8601); the pattern puts
the bounds in the schema, which has no other way to bound a date."""


def _utc(value: datetime) -> datetime:
    return value.astimezone(UTC)  # within the years 1900 to 2999: never out of range


Instant = Annotated[
    AwareDatetime,
    _written(INSTANT_PATTERN, "datetime", "2026-01-31T09:30:00Z"),
    AfterValidator(_utc),
    Field(json_schema_extra={"pattern": INSTANT_PATTERN}),
]
"""An instant with its offset (RFC 3339: 2026-01-31T09:30:00Z, 2026-01-31T10:30:00+01:00)
in the years 1900 to 2999."""

CustomKey = Annotated[str, StringConstraints(pattern=r"^[a-z][a-z0-9_]{0,63}$")]
CustomValue = (
    StrictBool
    | Annotated[int, Field(ge=-INT64, le=INT64)]
    | Annotated[str, StringConstraints(max_length=CUSTOM_TEXT_LENGTH, pattern=NO_NUL)]
    | MoneyValue
    | None
)
CustomFields = Annotated[
    dict[CustomKey, CustomValue],
    Field(
        max_length=MAX_CUSTOM_FIELDS,
        json_schema_extra={"additionalProperties": False},  # every key matches CustomKey
        description="Values of the tenant's custom fields by key (GET /v1/custom-fields): "
        'strings, whole numbers, booleans, decimals as strings ("12.5"), dates as '
        '"YYYY-MM-DD", money as {"amount", "currency"}; null removes a value.',
    ),
]

# Path and query parameters
PathId = Annotated[int, Path(ge=1, le=INT32, description="The record's id.")]
QueryId = Annotated[int | None, Query(ge=1, le=INT32)]
QueryText = Annotated[str | None, Query(min_length=1, max_length=200, pattern=NO_NUL)]
QueryCurrency = Annotated[str | None, Query(pattern=r"^[A-Z]{3}$")]
QueryInstant = Annotated[Instant | None, Query()]
QueryDay = Annotated[Day | None, Query()]
AsOf = Annotated[
    Day | None,
    Query(description="Date the figures are computed for (default: today in the tenant's zone)."),
]
Limit = Annotated[int, Query(ge=1, le=500, description="Rows per page (1 to 500).")]
Cursor = Annotated[
    str | None,
    Query(
        max_length=2000, pattern=r"^[A-Za-z0-9_-]*$", description="next_cursor of the last page."
    ),
]


def money(minor: int | None, currency: str | None) -> MoneyValue | None:
    """Stored minor units as ``{"amount": "812.40", "currency": "USD"}``. Built without
    re-validation: a stored amount is shown as it is, however large."""
    if minor is None or currency is None:
        return None
    shown = Money.from_minor(int(minor), currency).to_json()
    return MoneyValue.model_construct(amount=shown["amount"], currency=shown["currency"])


def need_money(minor: int, currency: str) -> MoneyValue:
    found = money(minor, currency)
    assert found is not None
    return found
