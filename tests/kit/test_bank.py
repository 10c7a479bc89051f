"""IBAN and BIC checks: the country's length and the mod-97 check digits; bank details as
stored and as printed."""

from __future__ import annotations

import pytest

from arpolicy.exceptions import ValidationError
from arpolicy.kit.bank import BankDetails, check_bic, check_iban


@pytest.mark.parametrize(
    ("given", "stored"),
    [
        ("DE89 3704 0044 0532 0130 00", "DE89370400440532013000"),
        ("gb82west12345698765432", "GB82WEST12345698765432"),
        ("FR14 2004 1010 0505 0001 3M02 606", "FR1420041010050500013M02606"),
        ("NO93 8601 1117 947", "NO9386011117947"),
        ("CH93 0076 2011 6238 5295 7", "CH9300762011623852957"),
    ],
)
def test_valid_ibans_are_kept_in_electronic_form(given, stored):
    assert check_iban(given) == stored


@pytest.mark.parametrize(
    ("given", "what"),
    [
        ("DE89 3704 0044 0532 0130 01", "check digits do not match"),
        ("DE89 3704 0044 0532 0130", "an IBAN of DE has 22 characters, this one 20"),
        ("ZZ89 3704 0044 0532 0130 00", "ZZ is not a country code"),
        ("89DE 3704 0044 0532 0130 00", "two letters, two check digits"),
        ("DE89 3704 0044 0532 0130 0€", "two letters, two check digits"),
    ],
)
def test_a_bad_iban_says_what_is_wrong(given, what):
    with pytest.raises(ValidationError) as err:
        check_iban(given, "bank.iban")
    assert what in err.value.message and err.value.where == "bank.iban" and err.value.fix


def test_bic_has_eight_or_eleven_characters_and_a_country():
    assert check_bic("cobade ff xxx") == "COBADEFFXXX" and check_bic("COBADEFF") == "COBADEFF"
    for bad in ("COBADEF", "COBAZZFFXXX", "COBADEFFXX", "C0BADEFF"):
        with pytest.raises(ValidationError):
            check_bic(bad)


def test_bank_details_are_checked_as_a_whole_and_printed_in_groups_of_four():
    bank = BankDetails.check({"account_holder": "  Shop   GmbH ", "iban": "DE89370400440532013000"})
    assert bank == BankDetails("Shop GmbH", "DE89370400440532013000", None, None)
    assert bank.iban_print == "DE89 3704 0044 0532 0130 00"
    assert BankDetails.from_json(bank.to_json()) == bank and BankDetails.from_json(None) is None
    for data, where in [
        ({"iban": "DE89370400440532013000"}, "bank.account_holder"),
        ({"account_holder": "x"}, "bank.iban"),
        ({"account_holder": "x", "iban": "DE89370400440532013000", "swift": "x"}, "bank.swift"),
        ({"account_holder": "x" * 71, "iban": "DE89370400440532013000"}, "bank.account_holder"),
        ("DE89370400440532013000", "bank"),
    ]:
        with pytest.raises(ValidationError) as err:
            BankDetails.check(data)
        assert err.value.where == where
