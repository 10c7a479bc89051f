"""Typed cell parsers. Each takes a stripped, non-empty cell and returns the value, or raises
:class:`FieldError` saying what is wrong and how to fix it. They are plain functions (no
per-row model validation) because an import runs them millions of times."""

from __future__ import annotations

import difflib
import enum
import re
from collections.abc import Callable, Mapping
from datetime import UTC, date, datetime
from decimal import Decimal
from functools import lru_cache
from typing import Any

import pycountry

from arpolicy.exceptions import ArpolicyError
from arpolicy.kit.clock import zone
from arpolicy.kit.money import _EXPONENT_EXCEPTIONS, _known_codes, check_currency
from arpolicy.ledger.importing import limits
from arpolicy.ledger.importing.report import FieldError
from arpolicy.ledger.tenants import check_locale

Parser = Callable[[str], Any]

FORMULA_TRIGGERS = ("=", "+", "-", "@", "\t", "\r")
"""First characters that make a spreadsheet treat a cell as a formula (OWASP CSV injection)."""

_AMOUNT = re.compile(r"-?[0-9]+(\.[0-9]+)?")
_INTEGER = re.compile(r"-?[0-9]+")
_EMAIL = re.compile(r"[^@\s]+@[^@\s]+\.[^@\s]+")
AMOUNT_FIX = "write amounts like 1234.50: digits, an optional minus sign and a dot for decimals, "
AMOUNT_FIX += "without thousands separators, currency symbols or exponents"
DATE_FIX = "write dates as YYYY-MM-DD, e.g. 2026-01-31"
INSTANT_FIX = "write instants as ISO 8601 with an offset, e.g. 2026-01-31T09:30:00Z or "
INSTANT_FIX += "2026-01-31T10:30:00+01:00"
BOOLEANS = {"true": True, "yes": True, "1": True, "false": False, "no": False, "0": False}


def needs_escape(text: str) -> bool:
    """Whether a spreadsheet could read ``text`` as a formula (ignoring leading quotes, so
    that escaping is reversible)."""
    return text.lstrip("'")[:1] in FORMULA_TRIGGERS and text.lstrip("'") != ""


def escape_text(text: str) -> str:
    """Prefix ``'`` to a text that a spreadsheet would run as a formula."""
    return "'" + text if needs_escape(text) else text


def unescape_text(text: str) -> str:
    """Undo :func:`escape_text`: ``'=x`` reads as ``=x``; ``'abc`` stays ``'abc``."""
    if text[:1] == "'" and needs_escape(text[1:]):
        return text[1:]
    return text


def text(max_length: int) -> Parser:
    def parse(cell: str) -> str:
        value = unescape_text(cell) if cell[0] == "'" else cell
        if len(value) > max_length:
            raise FieldError(
                f"is {len(value)} characters long; at most {max_length} fit",
                f"shorten it to {max_length} characters",
            )
        return value

    parse.max_length = max_length  # type: ignore[attr-defined]
    return parse


def email(cell: str) -> str:
    value = unescape_text(cell).lower()
    if len(value) > 254 or not _EMAIL.fullmatch(value):
        raise FieldError("is not an e-mail address", "write an address like ana@example.com")
    return value


def amount(cell: str) -> str:
    """A plain decimal amount, kept as its text (:func:`to_minor` needs the currency)."""
    if not _AMOUNT.fullmatch(cell):
        raise FieldError("is not a plain decimal amount", AMOUNT_FIX)
    return cell


def positive_decimal(cell: str) -> Decimal:
    value = Decimal(amount(cell))
    if value <= 0 or len(cell) > 30:
        raise FieldError("must be a positive number of at most 30 characters", "e.g. 1.0825")
    return value


def integer(low: int, high: int) -> Parser:
    def parse(cell: str) -> int:
        if not _INTEGER.fullmatch(cell):
            raise FieldError("is not a whole number", f"write a whole number from {low} to {high}")
        if len(cell) > 20 and len(cell.lstrip("-0")) > 19:  # int() of a long text is slow
            raise FieldError(f"is out of range ({low} to {high})", f"use {low} to {high}")
        value = int(cell)
        if not low <= value <= high:
            raise FieldError(f"is out of range ({low} to {high})", f"use {low} to {high}")
        return value

    return parse


def boolean(cell: str) -> bool:
    value = BOOLEANS.get(cell.lower())
    if value is None:
        raise FieldError("is not a yes/no value", "use true/false, yes/no or 1/0")
    return value


DATES: dict[str, date] = {}
"""Parsed dates by their text: a file repeats a few thousand dates a million times."""
ISO_TEXT: dict[date, str] = {}
"""The reverse, for the writer (SQLite stores dates as this text)."""


def iso_date(cell: str) -> date:
    found = DATES.get(cell)
    if found is not None:
        return found
    if len(DATES) > 100_000:
        DATES.clear()
        ISO_TEXT.clear()
    value = DATES[cell] = _parse_date(cell)
    ISO_TEXT[value] = cell
    return value


def _parse_date(cell: str) -> date:
    if len(cell) != 10 or cell[4] != "-" or cell[7] != "-" or not cell.isascii():
        raise FieldError("is not a date", DATE_FIX)
    try:
        return date.fromisoformat(cell)
    except ValueError:
        raise FieldError("is not a calendar date", DATE_FIX + " (a day that exists)") from None


def instant(cell: str) -> datetime:
    try:
        value = datetime.fromisoformat(cell)
    except ValueError:
        raise FieldError("is not an ISO 8601 date and time", INSTANT_FIX) from None
    if value.tzinfo is None or value.utcoffset() is None:
        raise FieldError(
            "has no time zone offset",
            f"add Z (UTC) or an offset such as +00:00, e.g. {value.isoformat()}Z",
        )
    try:
        return value.astimezone(UTC)
    except OverflowError:  # 0001-01-01T00:00:00+01:00 is before the first UTC instant
        raise FieldError(
            "is outside the range of UTC instants (years 1 to 9999)", INSTANT_FIX
        ) from None


def currency(cell: str) -> str:
    if cell in _known_codes():
        return cell
    try:
        return check_currency(cell)
    except ArpolicyError as exc:
        if cell.upper() in _known_codes():
            raise FieldError(
                "is not an ISO 4217 currency code (codes are upper case)", f"write {cell.upper()}"
            ) from None
        raise FieldError(
            "is not an ISO 4217 currency code", exc.fix or "use an ISO 4217 code"
        ) from None


def exponent(code: str) -> int:
    """Decimals of an already checked currency (a dict lookup: this runs once per amount)."""
    return _EXPONENT_EXCEPTIONS.get(code, 2)


def to_minor(text: str, code: str, column: str) -> int:
    """The amount ``text`` (checked by :func:`amount`) in minor units of ``code``. More
    decimals than the currency has is an error, never a silent round (trailing zeros are
    fine: 12.500 USD is 1250); so is an amount beyond what a BIGINT column holds (see
    :func:`max_amount`). Works on the text: exact, and faster than Decimal."""
    exp = _EXPONENT_EXCEPTIONS.get(code, 2)
    dot = text.find(".")
    if dot < 0:
        minor = int(text if len(text) <= 20 else _whole(text, code, column)) * 10**exp
    else:
        fraction = text[dot + 1 :]
        if len(fraction) > exp:
            if fraction[exp:].strip("0"):
                raise FieldError(
                    f"{limits.clip(text)} has more decimals than {code} allows ({exp})",
                    f"give {column} with at most {exp} decimals for {code}; arpolicy never "
                    "rounds imported amounts",
                    column=column,
                )
            fraction = fraction[:exp]
        whole = text[:dot] if dot <= 20 else _whole(text[:dot], code, column)
        minor = int(whole + fraction + "0" * (exp - len(fraction)))
    if -limits.INT64 <= minor <= limits.INT64:
        return minor
    raise _too_large(code, column)


def _whole(digits: str, code: str, column: str) -> str:
    """A long whole part without its leading zeros (int() of a long text is slow, and
    refused beyond 4300 digits); too large when more than 20 digits are left."""
    sign = "-" if digits[0] == "-" else ""
    digits = sign + (digits.lstrip("-").lstrip("0") or "0")
    if len(digits) > 20:
        raise _too_large(code, column)
    return digits


def max_amount(code: str) -> str:
    """The largest amount of ``code`` a BIGINT column of minor units holds (its exponent
    decides: USD 92233720368547758.07, JPY 9223372036854775807)."""
    return show_minor(limits.INT64, code)


def _too_large(code: str, column: str) -> FieldError:
    top = max_amount(code)
    return FieldError(
        f"is too large: the largest amount arpolicy stores in {code} is {top}",
        f"give {column} between -{top} and {top} {code} (check for a unit or digit mix-up)",
        column=column,
    )


def show_minor(minor: int, code: str) -> str:
    """Minor units as the plain decimal text an import reads (-1234 USD -> "-12.34")."""
    exp = exponent(code)
    return f"{Decimal(minor).scaleb(-exp):.{exp}f}"


@lru_cache(maxsize=1)
def _countries() -> frozenset[str]:
    return frozenset(c.alpha_2 for c in pycountry.countries)


def country(cell: str) -> str:
    if cell in _countries():
        return cell
    if cell.upper() in _countries():
        raise FieldError("is not an ISO 3166 code", f"write {cell.upper()} (upper case)")
    found = pycountry.countries.get(name=cell) or pycountry.countries.get(alpha_3=cell.upper())
    hint = f"write {found.alpha_2} for {found.name}" if found else "e.g. US, DE, FR, GB"
    raise FieldError("is not an ISO 3166-1 alpha-2 country code", hint)


@lru_cache(maxsize=1)
def _languages() -> frozenset[str]:
    two = {lang.alpha_2 for lang in pycountry.languages if hasattr(lang, "alpha_2")}
    three = {lang.alpha_3 for lang in pycountry.languages if not hasattr(lang, "alpha_2")}
    return frozenset(two | three)


def language(cell: str) -> str:
    if cell in _languages():
        return cell
    if cell.lower() in _languages():
        raise FieldError("is not an ISO 639 code", f"write {cell.lower()} (lower case)")
    found = pycountry.languages.get(name=cell.title()) or pycountry.languages.get(alpha_3=cell)
    code = getattr(found, "alpha_2", None) or getattr(found, "alpha_3", None)
    hint = f"write {code} for {found.name}" if found else "e.g. en, de, fr, es"
    raise FieldError("is not an ISO 639-1 language code", hint)


@lru_cache(maxsize=4096)
def timezone(cell: str) -> str:
    fix = "use a name such as Europe/Berlin, America/New_York or UTC"
    if len(cell) > 64:  # the longest IANA name has 32 characters
        raise FieldError("is not an IANA time zone", fix)
    try:
        zone(cell)
    except ArpolicyError as exc:
        raise FieldError("is not an IANA time zone", exc.fix or fix) from None
    except OSError:  # a name the file system refuses (ZoneInfo reads a file of that name)
        raise FieldError("is not an IANA time zone", fix) from None
    return cell


@lru_cache(maxsize=4096)
def locale(cell: str) -> str:
    try:
        check_locale(cell)
    except ArpolicyError as exc:
        raise FieldError("is not a known locale", exc.fix or "e.g. en_US") from None
    return cell


def choice(enum_cls: type[enum.Enum], aliases: Mapping[str, str] | None = None) -> Parser:
    """One of the enum's values, or another spelling of one (``aliases``: spelling ->
    value), read as that value."""
    allowed = {str(m.value): m.value for m in enum_cls}
    listing = ", ".join(allowed)
    allowed |= {k: allowed[v] for k, v in (aliases or {}).items() if v in allowed}

    def parse(cell: str) -> Any:
        value = allowed.get(cell)
        if value is None:
            near = difflib.get_close_matches(cell.lower(), list(allowed), n=1)
            hint = f" (did you mean {near[0]}?)" if near else ""
            raise FieldError("is not an allowed value", f"use one of: {listing}{hint}")
        return value

    return parse


def digits(length: int) -> Parser:
    def parse(cell: str) -> str:
        if len(cell) != length or not (cell.isascii() and cell.isdigit()):
            raise FieldError(f"is not {length} digits", f"write exactly {length} digits")
        return cell

    return parse


def key(cell: str) -> str:
    if not re.fullmatch(r"[a-z][a-z0-9_]{0,63}", cell):
        raise FieldError(
            "is not a field key", "use lower-case letters, digits and _ (start with a letter)"
        )
    return cell


def options(cell: str) -> list[str]:
    values = [part.strip() for part in cell.split("|")]
    if any(not v for v in values) or len(set(values)) != len(values):
        raise FieldError("has empty or repeated options", "list distinct options as a|b|c")
    longest = max(len(v) for v in values)
    if len(values) > limits.MAX_OPTIONS or longest > limits.OPTION_LENGTH:
        raise FieldError(
            f"has {len(values)} options of up to {longest} characters",
            f"list at most {limits.MAX_OPTIONS} options of at most {limits.OPTION_LENGTH} "
            "characters each",
        )
    return values
