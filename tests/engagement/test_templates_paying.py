"""Reminder templates and the customer's money: the statement of account (credit notes and
payments on account negative, labelled, never overdue; the balance given), and how to pay
(the tenant's payment link and bank details, shown when set, absent when not). Pure."""

from __future__ import annotations

import re
from dataclasses import replace

import pytest

from arpolicy.engagement.templates import BUILTINS, InvoiceLine, render, validate
from arpolicy.kit.bank import BankDetails
from arpolicy.kit.money import Money
from tests.engagement.test_templates import NBSP, NNBSP, context, line


def _credit(kind: str, amount: str, currency: str = "EUR") -> InvoiceLine:
    # a credit line that (wrongly) carries a past due date: it is still never overdue
    return replace(line(f"X-{kind}", amount, currency), document_type=kind)


@pytest.mark.parametrize(
    ("language", "labels", "balance"),
    [
        ("en", ["(credit note)", "(payment on account)", "(refund)"], "Balance: €1,034.56"),
        (
            "de",
            ["(Gutschrift)", "(nicht zugeordnete Zahlung)", "(Erstattung)"],
            f"Saldo: 1.034,56{NBSP}€",
        ),
        (
            "fr",
            ["(avoir)", "(paiement non imputé)", "(remboursement)"],
            f"Solde : 1{NNBSP}034,56{NBSP}€",
        ),
    ],
)
def test_statement_credit_and_payments_are_labelled_negative_and_never_overdue(
    language, labels, balance
):
    items = [
        line("INV-1", "1234.56"),
        _credit("credit_note", "-500.00"),
        _credit("payment", "-200.00"),
        _credit("refund", "500.00"),
    ]
    out = render("final", context(statement=items), language)
    cells = {
        r.split("  ")[0].split(" ", 1)[-1]: re.split(r" {2,}", r)
        for r in out.text.splitlines()
        if r.startswith("X-")
    }
    assert list(cells) == labels
    for label, item in zip(labels, items[1:], strict=True):
        _, _, _, days, amount, open_ = cells[label]
        assert days == "–" and item.days_overdue == 20  # never "20 days overdue"
        assert open_ == amount and open_.startswith("-") == (item.document_type != "refund")
    assert balance in out.text and balance in (out.html or "").replace("<strong>", "")


def test_statement_balance_is_the_one_given_not_a_sum_of_the_lines():
    items = [line("INV-1", "100.00")]
    given_balance = [Money.of("70.00", "EUR")]
    out = render("firm", context(statement=items, statement_balance=given_balance), "en")
    assert "Balance: €70.00" in out.text


BANK = BankDetails("Acme Supplies Ltd", "DE89370400440532013000", "COBADEFFXXX", "Commerzbank")
PAYING = {
    "en": [
        "Pay online: https://pay.example/C-10482",
        "Or pay by bank transfer:",
        "Account holder: Acme Supplies Ltd",
        "IBAN: DE89 3704 0044 0532 0130 00",
        "BIC: COBADEFFXXX",
        "Bank: Commerzbank",
        "Reference: C-10482",
    ],
    "de": [
        "Online bezahlen: https://pay.example/C-10482",
        "Oder per Überweisung:",
        "Kontoinhaber: Acme Supplies Ltd",
        "IBAN: DE89 3704 0044 0532 0130 00",
        "BIC: COBADEFFXXX",
        "Bank: Commerzbank",
        "Verwendungszweck: C-10482",
    ],
    "fr": [
        "Payer en ligne : https://pay.example/C-10482",
        "Ou par virement bancaire :",
        "Titulaire du compte : Acme Supplies Ltd",
        "IBAN : DE89 3704 0044 0532 0130 00",
        "BIC : COBADEFFXXX",
        "Banque : Commerzbank",
        "Référence : C-10482",
    ],
}


@pytest.mark.parametrize("language", ["en", "de", "fr"])
@pytest.mark.parametrize("name", BUILTINS)
def test_builtins_say_how_to_pay_when_the_tenant_set_it(name, language):
    words = PAYING[language]
    bare = render(name, context(), language)
    for part in (bare.text, bare.html or ""):
        assert "IBAN" not in part and "pay.example" not in part
        assert words[0].split(":")[0].strip() not in part
    both = render(name, context(payment_link="https://pay.example/C-10482", bank=BANK), language)
    for text in words:
        assert f"\n{text}\n" in both.text, text
    html = both.html or ""
    assert '<a href="https://pay.example/C-10482"' in html
    assert all(w.split(": ")[-1].split(" : ")[-1] in html for w in words[2:])
    link_only = render(name, context(payment_link="https://pay.example/C-10482"), language)
    assert words[0] in link_only.text and "IBAN" not in link_only.text
    bank_only = render(name, context(bank=replace(BANK, bic=None, bank_name=None)), language)
    assert "pay.example" not in bank_only.text and words[3] in bank_only.text
    assert "BIC" not in bank_only.text and words[5] not in bank_only.text
    by_transfer = {
        "en": "Pay by bank transfer:",
        "de": "Per Überweisung:",
        "fr": "Par virement bancaire :",
    }[language]
    assert f"\n\n{by_transfer}\n{words[2]}\n{words[3]}\n{words[6]}\n" in bank_only.text


def test_bank_and_payment_link_are_escaped_in_html():
    odd = replace(BANK, account_holder="Tom & <Jerry>")
    out = render("firm", context(bank=odd, payment_link="https://pay.example/?a=1&b=2"), "en")
    assert "Tom &amp; &lt;Jerry&gt;" in (out.html or "")
    assert 'href="https://pay.example/?a=1&amp;b=2"' in (out.html or "")
    assert "Account holder: Tom & <Jerry>" in out.text


def test_validate_knows_the_payment_variables_and_that_they_may_be_none():
    ok = (
        "{{ payment_link or '' }}{% if bank %}{{ bank.iban_print }} {{ bank.bic or '' }}{% endif %}"
    )
    assert validate({"en": {"subject": "x", "text": ok + "{{ statement_balance }}"}}) == []
    (typo,) = validate({"en": {"subject": "x", "text": "{% if bank %}{{ bank.ibn }}{% endif %}"}})
    assert typo["what"] == "bank has no 'ibn'" and "did you mean 'iban'?" in typo["fix"]
    (unset,) = validate({"en": {"subject": "x", "text": "{{ bank.iban }}"}})
    assert unset["what"] == "'None' has no attribute 'iban'" and "bank" in unset["fix"]
    (no_bic,) = validate(
        {"en": {"subject": "x", "text": "{% if bank %}{{ bank.bic.lower() }}{% endif %}"}}
    )
    assert no_bic["what"] == "'None' has no attribute 'lower'" and "bank.bic" in no_bic["fix"]
