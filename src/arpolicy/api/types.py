"""Constrained value types of the ledger resources' bodies and query parameters.

Every string refuses the NUL character (PostgreSQL cannot store it) and has a length bound,
every integer fits its column, every instant has an offset and a UTC equivalent: a request
that does not fit is a 422 naming the field, never a database error.
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Annotated, Any

from fastapi import Path, Query
from pydantic import AfterValidator, AwareDatetime, Field, StrictBool, StringConstraints

from arpolicy.api.schemas import MoneyValue
from arpolicy.kit.money import Money
from arpolicy.ledger.importing.limits import (  # one definition for the API and imports
    CUSTOM_TEXT_LENGTH,
    INT64,
    MAX_CUSTOM_FIELDS,
    NO_NUL,
)

INT32 = 2_147_483_647
"""Largest row id (ids are INTEGER columns)."""


def _text(max_length: int) -> Any:
    return StringConstraints(min_length=1, max_length=max_length, pattern=NO_NUL)


ExternalId = Annotated[str, _text(100)]
Text32 = Annotated[str, _text(32)]
Text40 = Annotated[str, _text(40)]
Text64 = Annotated[str, _text(64)]
Text100 = Annotated[str, _text(100)]
Text200 = Annotated[str, _text(200)]
Text300 = Annotated[str, _text(300)]
Note = Annotated[str, _text(2000)]
Locale = Annotated[str, _text(16)]
Email = Annotated[
    str, StringConstraints(min_length=3, max_length=254, pattern=r"^[^\x00@\s]+@[^\x00@\s]+$")
]
Currency = Annotated[str, StringConstraints(pattern=r"^[A-Z]{3}$")]
Country = Annotated[str, StringConstraints(pattern=r"^[A-Z]{2}$")]
Language = Annotated[str, StringConstraints(pattern=r"^[a-z]{2,3}$")]
RefId = Annotated[int, Field(ge=1, le=INT32)]
"""The id of another record of the tenant."""
FIRST_DAY, LAST_DAY = date(1900, 1, 1), date(2999, 12, 31)
Day = Annotated[date, Field(ge=FIRST_DAY, le=LAST_DAY)]
"""A date from 1900-01-01 to 2999-12-31."""


def _utc(value: datetime) -> datetime:
    try:
        return value.astimezone(UTC)
    except OverflowError:
        raise ValueError("is outside the range of UTC instants") from None


Instant = Annotated[AwareDatetime, AfterValidator(_utc)]
"""An instant with its offset (2026-01-31T09:30:00Z)."""

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
QueryDay = Annotated[date | None, Query(ge=FIRST_DAY, le=LAST_DAY)]
AsOf = Annotated[
    date | None,
    Query(
        ge=FIRST_DAY,
        le=LAST_DAY,
        description="Date the figures are computed for (default: today in the tenant's zone).",
    ),
]
Limit = Annotated[int, Query(ge=1, le=500, description="Rows per page (1 to 500).")]
Cursor = Annotated[
    str | None,
    Query(
        max_length=2000, pattern=r"^[A-Za-z0-9_-]*$", description="next_cursor of the last page."
    ),
]
Sort = Annotated[
    str | None,
    Query(max_length=64, pattern=r"^-?[a-z_]+$", description="A column; prefix - for descending."),
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
