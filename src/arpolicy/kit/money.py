"""Exact money: ``Money(Decimal, currency)`` with ISO 4217 minor units.

One rounding rule for the whole product: :data:`ROUNDING` (half away from zero, the
commercial rounding most invoices and tax authorities use), applied only by
:func:`round_amount` and the helpers that call it. Every other operation is exact:

* constructing ``Money`` with more decimals than the currency has raises
  :class:`MoneyPrecisionError` (an amount is never silently rounded);
* arithmetic across currencies, or with floats, raises;
* :meth:`Money.allocate` splits an amount into parts that sum exactly.

The database stores money as integer minor units (``BIGINT``) plus a ``CHAR(3)``
currency: :meth:`Money.minor_units` and :meth:`Money.from_minor` convert.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from functools import cache
from typing import Any

import pycountry

from arpolicy.exceptions import ValidationError

ROUNDING = ROUND_HALF_UP
"""The one rounding rule: half away from zero (1.005 -> 1.01, -1.005 -> -1.01)."""

# ISO 4217 currencies whose minor unit is not 2 (list one, "Minor unit" column).
_EXPONENT_EXCEPTIONS: dict[str, int] = {
    **dict.fromkeys(
        [
            "BIF",
            "CLP",
            "DJF",
            "GNF",
            "ISK",
            "JPY",
            "KMF",
            "KRW",
            "PYG",
            "RWF",
            "UGX",
            "UYI",
            "VND",
            "VUV",
            "XAF",
            "XOF",
            "XPF",
        ],
        0,
    ),
    **dict.fromkeys(["BHD", "IQD", "JOD", "KWD", "LYD", "OMR", "TND"], 3),
    "CLF": 4,
    "UYW": 4,
}
# ISO 4217 codes with no minor unit ("N.A."): precious metals, funds and test codes.
_NOT_MONEY = frozenset(
    ["XAU", "XAG", "XPT", "XPD", "XDR", "XBA", "XBB", "XBC", "XBD", "XTS", "XXX", "XSU", "XUA"]
)


class CurrencyError(ValidationError):
    """An unknown or unusable currency code."""


class MoneyPrecisionError(ValidationError):
    """An amount more precise than its currency allows."""


class CurrencyMismatchError(ValidationError):
    """Arithmetic or comparison between two currencies."""


@cache
def _known_codes() -> frozenset[str]:
    return frozenset(c.alpha_3 for c in pycountry.currencies) - _NOT_MONEY


def check_currency(code: object) -> str:
    """Return ``code`` if it is an ISO 4217 currency with a minor unit, else raise."""
    if not isinstance(code, str) or code not in _known_codes():
        hint = ""
        if isinstance(code, str) and code.upper() in _known_codes():
            hint = f"; currency codes are upper case: {code.upper()}"
        raise CurrencyError(
            f"{code!r} is not an ISO 4217 currency code{hint}",
            fix="use a three-letter ISO 4217 code such as USD, EUR, GBP, JPY or KWD",
        )
    return code


def exponent(currency: str) -> int:
    """Number of decimals of ``currency`` (JPY 0, USD 2, KWD 3)."""
    check_currency(currency)
    return _EXPONENT_EXCEPTIONS.get(currency, 2)


def minor_text(minor: int, currency: str) -> str:
    """``minor`` units of ``currency`` as the decimal string of its JSON form ("812.40"):
    ``Money.from_minor(minor, currency).to_json()["amount"]`` without building the Money
    (a customer's figures format two dozen amounts per request)."""
    places = exponent(currency)
    return f"{Decimal(minor).scaleb(-places):.{places}f}"


@cache
def _quantum(currency: str) -> Decimal:
    return Decimal(1).scaleb(-exponent(currency))


def round_amount(value: Decimal | int, currency: str) -> Decimal:
    """Round ``value`` to ``currency``'s minor unit with :data:`ROUNDING`. The only rounding."""
    if isinstance(value, float):
        raise TypeError("money never goes through float; pass a Decimal or a string")
    return Decimal(value).quantize(_quantum(currency), rounding=ROUNDING)


def parse_decimal(text: object) -> Decimal:
    """Parse a plain decimal string or int (``"1234.50"``), refusing floats, NaN and infinity."""
    if isinstance(text, bool | float):
        raise ValidationError(
            f"{text!r} is not an exact amount",
            fix='write amounts as strings of digits, e.g. "1234.50"',
        )
    try:
        value = Decimal(text) if isinstance(text, int | Decimal) else Decimal(str(text).strip())
    except InvalidOperation:
        raise ValidationError(
            f"{text!r} is not a number",
            fix="write amounts like 1234.50 (dot for decimals, no thousands separators)",
        ) from None
    if not value.is_finite():
        raise ValidationError(
            f"{text!r} is not a finite number", fix="write a plain amount like 1234.50"
        )
    return value


@dataclass(frozen=True, slots=True, order=False)
class Money:
    """An exact amount in one currency."""

    amount: Decimal
    currency: str

    def __post_init__(self) -> None:
        if not isinstance(self.amount, Decimal):
            if isinstance(self.amount, int) and not isinstance(self.amount, bool):
                object.__setattr__(self, "amount", Decimal(self.amount))
            else:
                raise TypeError(
                    f"Money amount must be a Decimal or int, got {type(self.amount).__name__}"
                )
        if not self.amount.is_finite():
            raise ValidationError(f"{self.amount} is not a finite amount")
        exp = exponent(self.currency)
        if self.amount != round_amount(self.amount, self.currency):
            raise MoneyPrecisionError(
                f"{self.amount} has more decimals than {self.currency} allows ({exp})",
                fix=f"round it to {exp} decimals first (Money.of rounds half away from zero)",
            )

    # construction -------------------------------------------------------------------
    @classmethod
    def of(cls, value: Decimal | int | str, currency: str) -> Money:
        """Build from any exact value, rounding once with :data:`ROUNDING`."""
        return cls(round_amount(parse_decimal(value), currency), currency)

    @classmethod
    def parse(cls, value: object, currency: str) -> Money:
        """Build from user input without rounding: too many decimals is an error."""
        return cls(parse_decimal(value), check_currency(currency))

    @classmethod
    def zero(cls, currency: str) -> Money:
        return cls(Decimal(0), currency)

    @classmethod
    def from_minor(cls, minor: int, currency: str) -> Money:
        return cls(Decimal(minor).scaleb(-exponent(currency)), currency)

    def minor_units(self) -> int:
        """The integer stored in the database (USD 12.34 -> 1234, JPY 500 -> 500)."""
        return int(self.amount.scaleb(exponent(self.currency)))

    # arithmetic ----------------------------------------------------------------------
    def _same(self, other: object) -> Money:
        if not isinstance(other, Money):
            raise TypeError(f"cannot combine Money with {type(other).__name__}")
        if other.currency != self.currency:
            raise CurrencyMismatchError(
                f"cannot combine {self.currency} with {other.currency}",
                fix="convert one side first with arpolicy.kit.fx",
            )
        return other

    def __add__(self, other: Money) -> Money:
        return Money(self.amount + self._same(other).amount, self.currency)

    def __sub__(self, other: Money) -> Money:
        return Money(self.amount - self._same(other).amount, self.currency)

    def __neg__(self) -> Money:
        return Money(-self.amount, self.currency)

    def __abs__(self) -> Money:
        return Money(abs(self.amount), self.currency)

    def __lt__(self, other: Money) -> bool:
        return self.amount < self._same(other).amount

    def __le__(self, other: Money) -> bool:
        return self.amount <= self._same(other).amount

    def __gt__(self, other: Money) -> bool:
        return self.amount > self._same(other).amount

    def __ge__(self, other: Money) -> bool:
        return self.amount >= self._same(other).amount

    @property
    def is_zero(self) -> bool:
        return not self.amount

    def multiply(self, factor: Decimal | int) -> Money:
        """``self * factor`` rounded once to the currency."""
        if isinstance(factor, float):
            raise TypeError("money never goes through float; pass a Decimal")
        return Money(round_amount(self.amount * Decimal(factor), self.currency), self.currency)

    def allocate(self, ratios: Sequence[Decimal | int]) -> list[Money]:
        """Split by ``ratios`` into parts that sum exactly to ``self``.

        Largest-remainder method on minor units: each part gets its floor share, then the
        leftover units go one by one to the parts with the largest remainders (earliest
        first on ties), so the result is deterministic.
        """
        if not ratios:
            raise ValueError("allocate needs at least one ratio")
        weights = [Decimal(r) for r in ratios]
        if any(w < 0 for w in weights) or sum(weights) == 0:
            raise ValueError("ratios must be non-negative and not all zero")
        total = sum(weights)
        minor = self.minor_units()
        sign = -1 if minor < 0 else 1
        units = abs(minor)
        shares = [units * w / total for w in weights]
        floors = [int(s) for s in shares]
        left = units - sum(floors)
        order = sorted(range(len(shares)), key=lambda i: (-(shares[i] - floors[i]), i))
        for i in order[:left]:
            floors[i] += 1
        return [Money.from_minor(sign * f, self.currency) for f in floors]

    # presentation --------------------------------------------------------------------
    def __str__(self) -> str:
        return f"{self.amount:.{exponent(self.currency)}f} {self.currency}"

    def to_json(self) -> dict[str, str]:
        return {"amount": f"{self.amount:.{exponent(self.currency)}f}", "currency": self.currency}

    @classmethod
    def from_json(cls, data: Any) -> Money:
        if not isinstance(data, dict) or set(data) != {"amount", "currency"}:
            raise ValidationError(
                f"{data!r} is not a money object",
                fix='write money as {"amount": "12.34", "currency": "EUR"}',
            )
        return cls.parse(data["amount"], data["currency"])


def total(items: Iterable[Money], currency: str) -> Money:
    """Exact sum of ``items`` (all in ``currency``); the empty sum is zero."""
    result = Money.zero(currency)
    for item in items:
        result = result + item
    return result
