"""Bank details for a transfer: account holder, IBAN (ISO 13616, checked by its country's
length and the mod-97 check digits), BIC (ISO 9362) and the bank's name.

Values are kept in their electronic form (IBAN and BIC upper case, no spaces);
:attr:`BankDetails.iban_print` gives the IBAN in groups of four, as it is printed.
"""

from __future__ import annotations

import re
from dataclasses import asdict, dataclass
from functools import cache
from typing import Any

import pycountry

from arpolicy.exceptions import ValidationError

# IBAN length per country (SWIFT IBAN registry); a country not listed is checked by the
# general form and the check digits only (new countries join the registry now and then).
IBAN_LENGTHS: dict[str, int] = {
    "AD": 24, "AE": 23, "AL": 28, "AT": 20, "AZ": 28, "BA": 20, "BE": 16, "BG": 22, "BH": 22,
    "BI": 27, "BR": 29, "BY": 28, "CH": 21, "CR": 22, "CY": 28, "CZ": 24, "DE": 22, "DJ": 27,
    "DK": 18, "DO": 28, "EE": 20, "EG": 29, "ES": 24, "FI": 18, "FK": 18, "FO": 18, "FR": 27,
    "GB": 22, "GE": 22, "GI": 23, "GL": 18, "GR": 27, "GT": 28, "HR": 21, "HU": 28, "IE": 22,
    "IL": 23, "IQ": 23, "IS": 26, "IT": 27, "JO": 30, "KW": 30, "KZ": 20, "LB": 28, "LC": 32,
    "LI": 21, "LT": 20, "LU": 20, "LV": 21, "LY": 25, "MC": 27, "MD": 24, "ME": 22, "MK": 19,
    "MN": 20, "MR": 27, "MT": 31, "MU": 30, "NI": 28, "NL": 18, "NO": 15, "OM": 23, "PK": 24,
    "PL": 28, "PS": 29, "PT": 25, "QA": 29, "RO": 24, "RS": 22, "RU": 33, "SA": 24, "SC": 31,
    "SD": 18, "SE": 24, "SI": 19, "SK": 24, "SM": 27, "SO": 23, "ST": 25, "SV": 28, "TL": 23,
    "TN": 24, "TR": 26, "UA": 29, "VA": 22, "VG": 24, "XK": 20,
}  # fmt: skip
_IBAN = re.compile(r"[A-Z]{2}[0-9]{2}[A-Z0-9]{11,30}")
_BIC = re.compile(r"[A-Z]{4}(?P<country>[A-Z]{2})[A-Z0-9]{2}(?:[A-Z0-9]{3})?")
_SPACES = re.compile(r"[\s\u00a0\u202f-]+")
_CONTROL = re.compile(r"[\x00-\x1f\x7f\u2028\u2029]")
MAX_HOLDER = 70
"""The longest account holder name a SEPA transfer carries."""
MAX_BANK_NAME = 140
IBAN_EXAMPLE = "DE89 3704 0044 0532 0130 00"


@cache
def _countries() -> frozenset[str]:
    return frozenset(c.alpha_2 for c in pycountry.countries) | {"XK"}  # Kosovo: in use


def check_iban(value: str, where: str = "iban") -> str:
    """The IBAN in electronic form (upper case, no spaces or dashes); ValidationError
    saying what is wrong (form, country, length, check digits) otherwise."""
    iban = _SPACES.sub("", str(value)).upper()
    fix = f"give the IBAN as on a bank statement, e.g. {IBAN_EXAMPLE}"
    if not _IBAN.fullmatch(iban):
        raise ValidationError(
            f"{value!r} is not an IBAN: two letters, two check digits, then up to 30 letters "
            "and digits",
            where=where,
            fix=fix,
        )
    country = iban[:2]
    if country not in _countries():
        raise ValidationError(
            f"{value!r} is not an IBAN: {country} is not a country code", where=where, fix=fix
        )
    length = IBAN_LENGTHS.get(country)
    if length is not None and len(iban) != length:
        raise ValidationError(
            f"{value!r} is not an IBAN: an IBAN of {country} has {length} characters, "
            f"this one {len(iban)}",
            where=where,
            fix="check for a missing or extra character; " + fix,
        )
    if int("".join(str(int(c, 36)) for c in iban[4:] + iban[:4])) % 97 != 1:
        raise ValidationError(
            f"{value!r} is not a valid IBAN: its check digits do not match (a typing error?)",
            where=where,
            fix="copy the IBAN again from the bank statement, character by character",
        )
    return iban


def check_bic(value: str, where: str = "bic") -> str:
    """The BIC in upper case without spaces (8 or 11 characters); ValidationError otherwise."""
    bic = _SPACES.sub("", str(value)).upper()
    m = _BIC.fullmatch(bic)
    if m is None or m["country"] not in _countries():
        raise ValidationError(
            f"{value!r} is not a BIC: 4 letters (the bank), 2 (its country), 2 letters or "
            "digits (the place), optionally 3 more (the branch)",
            where=where,
            fix="give the BIC (SWIFT code) of the bank, e.g. COBADEFFXXX or COBADEFF",
        )
    return bic


def _name(value: Any, where: str, label: str, longest: int, required: bool) -> str | None:
    text = " ".join(str(value).split()) if value is not None else ""
    if not text:
        if required:
            raise ValidationError(
                f"the {label} is missing",
                where=where,
                fix="give the name the account is held in, as the bank knows it",
            )
        return None
    if _CONTROL.search(text) or len(text) > longest:
        raise ValidationError(
            f"the {label} must be one line of at most {longest} characters (it has {len(text)})",
            where=where,
            fix="shorten it to what the bank prints",
        )
    return text


@dataclass(frozen=True, slots=True)
class BankDetails:
    account_holder: str
    iban: str
    """Electronic form: DE89370400440532013000."""
    bic: str | None = None
    bank_name: str | None = None

    @property
    def iban_print(self) -> str:
        """In groups of four: DE89 3704 0044 0532 0130 00."""
        return " ".join(self.iban[i : i + 4] for i in range(0, len(self.iban), 4))

    @classmethod
    def check(cls, data: Any, where: str = "bank") -> BankDetails:
        """Bank details from a mapping (``account_holder``, ``iban``, optional ``bic`` and
        ``bank_name``), normalised; ValidationError naming the field otherwise."""
        if not isinstance(data, dict):
            raise ValidationError(
                "the bank details must be an object",
                where=where,
                fix='give {"account_holder": ..., "iban": ..., "bic": ..., "bank_name": ...}',
            )
        unknown = sorted(set(data) - {"account_holder", "iban", "bic", "bank_name"})
        if unknown:
            raise ValidationError(
                f"unknown field {unknown[0]!r} in the bank details",
                where=f"{where}.{unknown[0]}",
                fix="the bank details are account_holder, iban, bic and bank_name",
            )
        holder = _name(
            data.get("account_holder"),
            f"{where}.account_holder",
            "account holder",
            MAX_HOLDER,
            True,
        )
        if not data.get("iban"):
            raise ValidationError(
                "the IBAN is missing",
                where=f"{where}.iban",
                fix=f"give the IBAN of the account, e.g. {IBAN_EXAMPLE}",
            )
        bic = data.get("bic")
        return cls(
            account_holder=holder or "",
            iban=check_iban(data["iban"], f"{where}.iban"),
            bic=check_bic(bic, f"{where}.bic") if bic else None,
            bank_name=_name(
                data.get("bank_name"), f"{where}.bank_name", "bank name", MAX_BANK_NAME, False
            ),
        )

    @classmethod
    def from_json(cls, data: Any) -> BankDetails | None:
        """What :meth:`to_json` stored (None: none set)."""
        return cls(**data) if data else None

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


__all__ = ["IBAN_LENGTHS", "BankDetails", "check_bic", "check_iban"]
