"""Reminder templates: built-ins in three languages, locale formatting, escaping and the
sandbox (the problems validate() reports: test_template_validate.py). Pure: no database."""

from __future__ import annotations

import re
from dataclasses import replace
from datetime import date
from decimal import Decimal

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from jinja2.exceptions import SecurityError, UndefinedError

from arpolicy.engagement.templates import (
    BUILTINS,
    MAX_SUBJECT,
    InvoiceLine,
    RenderContext,
    TemplateBudgetError,
    TemplateText,
    _money_layout,
    builtin,
    choose_language,
    format_money,
    parse_locale,
    render,
    sample_context,
    totals,
    validate,
)
from arpolicy.exceptions import ValidationError
from arpolicy.kit.money import Money

AS_OF = date(2026, 3, 16)
NNBSP, NBSP = "\u202f", "\xa0"  # Babel's narrow no-break space (fr groups) and no-break space


def line(number: str, amount: str, currency: str = "EUR", due: date | None = None) -> InvoiceLine:
    due = due or date(2026, 2, 24)
    return InvoiceLine(
        number=number,
        document_type="invoice",
        issued_on=date(2026, 1, 25),
        due_on=due,
        days_overdue=(AS_OF - due).days,
        total=Money.of(amount, currency),
        balance=Money.of(amount, currency),
    )


def context(**changes: object) -> RenderContext:
    base = RenderContext(
        tenant_name="Acme Supplies Ltd",
        customer_name="Northwind Traders",
        customer_external_id="C-10482",
        contact_name="Alex Morgan",
        sender_name="Jamie Lee",
        sender_email="accounts@acme.example",
        cycle="Standard",
        reminder="overdue",
        as_of=AS_OF,
        invoices=[line("INV-1", "1234.56")],
    )
    return replace(base, **changes)  # type: ignore[arg-type]


def own(text: str, subject: str = "Reminder", html: str | None = None) -> dict[str, TemplateText]:
    return {"en": TemplateText(subject=subject, text=text, html=html)}


# ---------------------------------------------------------------------------- built-ins
@pytest.mark.parametrize("name", BUILTINS)
def test_every_builtin_has_subject_text_and_html_in_english_german_and_french(name):
    templates = builtin(name)
    assert set(templates) == {"de", "en", "fr"}
    assert all(t.subject and t.text and t.html for t in templates.values())
    assert validate(name) == []


@pytest.mark.parametrize(
    ("locale", "amount", "due"),
    [
        ("en", "€1,234.56", "Feb 24, 2026"),
        ("de", f"1.234,56{NBSP}€", "24.02.2026"),
        ("fr", f"1{NNBSP}234,56{NBSP}€", "24 févr. 2026"),
    ],
)
@pytest.mark.parametrize("name", BUILTINS)
def test_builtins_format_money_and_dates_for_the_locale(name, locale, amount, due):
    out = render(name, context(), locale)
    assert out.language == locale
    for body in (out.text, out.html):
        assert body is not None
        assert "INV-1" in body and amount in body and due in body
    assert re.search(rf"INV-1 +{re.escape(due)} +20 +{re.escape(amount)}\n", out.text)
    assert "Jamie Lee" in out.text and "accounts@acme.example" in out.text
    assert "\n" not in out.subject and "Acme Supplies Ltd" in out.subject


def test_builtin_wording_follows_the_language():
    assert render("friendly", context(), "en").text.startswith("Dear Alex Morgan,\n\nWe hope")
    de = render("firm", context(contact_name=None), "de_AT")
    assert de.language == "de"
    assert de.text.startswith("Sehr geehrte Damen und Herren,\n\nnach unseren Unterlagen ist")
    assert de.text.rstrip().endswith(
        "Mit freundlichen Grüßen\n\nJamie Lee\nAcme Supplies Ltd\naccounts@acme.example"
    )
    fr = render("final", context(), "fr")
    assert (
        fr.subject
        == f"Dernière relance : solde impayé de 1{NNBSP}234,56{NBSP}€ – Acme Supplies Ltd"
    )


def test_totals_per_currency_appear_in_the_body():
    invoices = [line("A", "1000.00"), line("B", "234.56"), line("C", "99.90", "USD")]
    out = render("firm", context(invoices=invoices), "en")
    assert "Amount overdue: €1,234.56, $99.90" in out.text
    assert "<strong>€1,234.56, $99.90</strong>" in (out.html or "")


def test_statement_of_account_on_demand():
    statement = [*sample_context(AS_OF).statement]  # type: ignore[misc]
    without = render("firm", context(), "en")
    assert "Statement of account" not in without.text
    out = render("firm", context(statement=statement), "en")
    assert "Statement of account as of Mar 16, 2026:" in out.text
    assert re.search(r"CN-0007 \(credit note\) +Mar 4, 2026 +– +– +-€150\.00 +-€150\.00", out.text)
    assert re.search(
        r"REM-5521 \(payment on account\) +Mar 10, 2026 +– +– +-\$500\.00 +-\$200\.00", out.text
    )
    assert "Balance: €1,394.56, $780.40" in out.text  # credit and payments subtract
    empty = render("firm", context(statement=[]), "de")
    assert "Auf Ihrem Konto sind keine Posten offen." in empty.text


def test_html_table_is_inline_styled_and_escaped():
    out = render("friendly", context(invoices=[line("<b>1</b>", "5.00")]), "en")
    assert out.html is not None
    assert "<style" not in out.html and '<th style="' in out.html
    assert "&lt;b&gt;1&lt;/b&gt;" in out.html and "<b>1</b>" not in out.html
    assert "<b>1</b>" in out.text


def test_unknown_builtin_is_a_validation_error():
    with pytest.raises(ValidationError, match="no built-in template named 'frendly'"):
        render("frendly", context(), "en")


# --------------------------------------------------------------------- escaping, subject
def test_html_escapes_the_customer_name_and_text_keeps_it_literal():
    name = "<script>alert(1)</script> & Co"
    templates = own("Dear {{ customer_name }}", html="<p>Dear {{ customer_name }}</p>")
    out = render(templates, context(customer_name=name), "en")
    assert out.text == f"Dear {name}\n"
    assert out.html == "<p>Dear &lt;script&gt;alert(1)&lt;/script&gt; &amp; Co</p>\n"


def test_subject_is_one_line_without_cr_or_lf():
    templates = own("x", subject="Invoice {{ customer_name }}\r\nBcc: victim@example.com\n")
    out = render(templates, context(customer_name="A\rB\nC\tD"), "en")
    assert out.subject == "Invoice A B C D Bcc: victim@example.com"
    assert "\r" not in out.subject and "\n" not in out.subject


def test_subject_keeps_babel_no_break_spaces_and_is_capped():
    out = render(own("x", subject="{{ invoices[0].balance|money }}"), context(), "fr")
    assert out.subject == f"1{NNBSP}234,56{NBSP}€"
    long = render(own("x", subject="{{ 'ab' * 1000 }}"), context(), "en")
    assert len(long.subject) == MAX_SUBJECT


def test_test_mode_changes_nothing():
    assert render("firm", context(test=True), "en") == render("firm", context(), "en")


def test_dict_templates_as_stored_in_a_cycle_render_too():
    out = render({"de": {"subject": "Hallo", "text": "{{ as_of|date('long') }}"}}, context(), "de")
    assert (out.subject, out.text, out.html) == ("Hallo", "16. März 2026\n", None)


# -------------------------------------------------------------------- filters and totals
def test_money_and_date_helpers_use_the_render_locale():
    text = "{{ money(invoices[0].balance) }}|{{ as_of|date }}|{{ date(as_of, 'full') }}"
    assert (
        render(own(text), context(), "de").text
        == "1.234,56\xa0€|16.03.2026|Montag, 16. März 2026\n"
    )
    jpy = context(invoices=[line("J", "500", "JPY")])
    assert render(own("{{ invoices|first|attr('total')|money }}"), jpy, "en").text == "¥500\n"


def test_totals_sum_exactly_per_currency_sorted_by_currency():
    lines = [line(str(i), "0.10") for i in range(10)] + [
        line("u1", "33.33", "USD"),
        line("u2", "33.33", "USD"),
        line("u3", "33.34", "USD"),
        line("k", "1.005", "KWD"),
    ]
    result = totals(lines)
    assert [m.currency for m in result] == ["EUR", "KWD", "USD"]
    assert [m.amount for m in result] == [Decimal("1.00"), Decimal("1.005"), Decimal("100.00")]
    assert totals([]) == []


def test_text_invoice_table_is_aligned():
    invoices = [line("INV-1", "1234.56"), line("INV-22", "5.00", due=date(2026, 4, 1))]
    out = render(own("{{ invoice_table(invoices) }}"), context(invoices=invoices), "en").text
    assert out == (
        "Invoice  Due date      Days overdue  Open balance\n"
        "-------  ------------  ------------  ------------\n"
        "INV-1    Feb 24, 2026            20     €1,234.56\n"
        "INV-22   Apr 1, 2026              –         €5.00\n"
    )


# ----------------------------------------------------------------------------- sandbox
def test_undefined_variable_is_an_error():
    with pytest.raises(UndefinedError, match="'customer' is undefined"):
        render(own("Dear {{ customer }}"), context(), "en")
    with pytest.raises(UndefinedError, match="no attribute 'amount'"):
        render(own("{{ invoices[0].amount }}"), context(), "en")


@pytest.mark.parametrize(
    "source",
    [
        "{{ ''.__class__.__mro__ }}",
        "{{ invoices.__init__ }}",
        "{{ invoices[0].balance.__class__ }}",
        "{{ invoices.append(1) }}",
        "{{ 'x' * 10**8 }}",
        "{{ '%099999999d' % 1 }}",
        "{{ '{:>999999999}'.format(1) }}",
        "{{ 'x'|center(999999999) }}",
    ],
)
def test_sandbox_refuses_unsafe_access_and_huge_values(source):
    with pytest.raises(SecurityError):
        render(own(source), context(), "en")


def test_runaway_templates_are_stopped():
    with pytest.raises(OverflowError, match="MAX_RANGE"):
        render(own("{% for i in range(10**9) %}{% endfor %}"), context(), "en")
    nested = "{% for a in range(100000) %}{% for b in range(100000) %}x{% endfor %}{% endfor %}"
    with pytest.raises(TemplateBudgetError):
        render(own(nested), context(), "en")
    doubling = (
        "{% set ns = namespace(s='ab') %}{% for i in range(60) %}"
        "{% set ns.s = ns.s ~ ns.s %}{% endfor %}{{ ns.s|length }}"
    )
    with pytest.raises(TemplateBudgetError):
        render(own(doubling), context(), "en")


def test_locale_must_be_known():
    with pytest.raises(ValidationError, match="'xx' is not a locale"):
        render("firm", context(), "xx")


# ---------------------------------------------------------------------------- languages
@pytest.mark.parametrize(
    ("available", "wanted", "expected"),
    [
        (["en", "de", "fr"], ["de_AT"], "de"),
        (["en", "de", "fr"], ["de-CH"], "de"),
        (["en", "de", "fr"], [None, "", "FR"], "fr"),
        (["en", "de_CH"], ["de"], "de_CH"),
        (["en", "de_CH", "de"], ["de_AT"], "de"),
        (["en", "de"], ["it", "de"], "de"),
        (["en", "de"], ["it"], "en"),
        (["fr", "de"], ["it"], "fr"),
        (["fr", "de"], [], "fr"),
        ([], ["de"], "en"),
    ],
)
def test_choose_language(available, wanted, expected):
    assert choose_language(available, wanted) == expected


def test_choose_language_default():
    assert choose_language(["fr", "de"], ["it"], default="de") == "de"


# --- the fast money layout gives exactly what Babel gives -------------------------------

LOCALE_CURRENCIES = [
    ("en_US", "USD"),
    ("de_DE", "EUR"),
    ("fr_FR", "EUR"),
    ("de_CH", "CHF"),
    ("ja_JP", "JPY"),
    ("nl_NL", "EUR"),
    ("en", "KWD"),
    ("es_ES", "EUR"),
    ("ar_EG", "EGP"),
    ("he_IL", "ILS"),
    ("en_IN", "INR"),
    ("fr_CA", "CAD"),
]


@settings(max_examples=400, deadline=None)
@given(st.sampled_from(LOCALE_CURRENCIES), st.integers(-(10**15), 10**15))
def test_fast_money_matches_babel(pair, minor):
    from babel.numbers import format_currency

    from arpolicy.kit.money import exponent

    locale, currency = pair
    loc = parse_locale(locale)
    amount = Decimal(minor).scaleb(-exponent(currency))
    want = format_currency(amount, currency, locale=loc, decimal_quantization=False)
    assert format_money(Money(amount, currency), loc) == want


def test_indian_grouping_goes_through_babel():
    assert _money_layout("en_IN", "INR") is None
    assert (
        format_money(Money(Decimal("1234567.89"), "INR"), parse_locale("en_IN")) == "₹12,34,567.89"
    )
