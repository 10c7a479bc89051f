"""Owners in a rule: named by e-mail or by name, bare or quoted, in any case, each resolved
to the tenant's user (its stored e-mail); an unknown or ambiguous owner is a problem naming
the nearest user. (The same in SQL: tests/ledger/test_selection_text.py.)"""

from __future__ import annotations

import re
from datetime import date

import pytest

from arpolicy.ledger.fields import catalogue_for
from arpolicy.rules import RuleError, bind, check, parse, to_python, to_text
from arpolicy.rules import ast as a

USERS = [
    ("anna.berg@shop.example", "Anna Berg"),
    ("bob@shop.example", "Bob Stone"),
    ("jurgen@shop.example", "Jürgen Müller"),
]
CAT = catalogue_for("USD", users=USERS)
AS_OF = date(2026, 11, 23)


def matches(text: str, level: str = "customer") -> bool:
    fields = CAT.level(level)
    record = {"finance_owner": "anna.berg@shop.example", "sales_owner": "jurgen@shop.example"}
    if level != "customer":
        record = {f"customer.{k}": v for k, v in record.items()}
    return to_python(bind(check(parse(text), fields), AS_OF), fields)(record)


@pytest.mark.parametrize(
    "text",
    [
        "finance_owner = anna.berg@shop.example",
        'finance_owner = "anna.berg@shop.example"',
        "finance_owner = Anna.Berg@Shop.Example",
        'finance_owner = "Anna Berg"',
        "finance_owner = Anna Berg",
        "finance_owner = anna   berg",
        'finance_owner includes (Bob Stone, "ANNA BERG")',
        "sales_owner = Jürgen Müller and finance_owner != bob@shop.example",
        "not (finance_owner excludes (Anna Berg))",
    ],
)
def test_an_owner_is_named_by_email_or_by_name_bare_or_quoted(text):
    assert matches(text)
    below = re.sub(r"\b(finance|sales)_owner", r"customer.\1_owner", text)
    assert matches(below, "invoice")  # from an invoice, too


def test_a_name_that_is_someone_else_does_not_match():
    assert not matches("finance_owner = Bob Stone")
    assert matches("finance_owner != Bob Stone")


def test_an_unknown_owner_is_a_problem_naming_the_nearest_user():
    with pytest.raises(RuleError) as err:
        check(parse("finance_owner = Ana Berg"), CAT.level("customer"))
    (p,) = err.value.problems
    assert p.what == "no user 'Ana Berg' in this tenant"
    assert p.fix.startswith("did you mean Anna Berg (anna.berg@shop.example)?")
    assert (p.line, p.column) == (1, 17)
    with pytest.raises(RuleError) as err:
        check(parse("customer.sales_owner = jurgen@shop.exampel"), CAT.level("payment"))
    assert "Jürgen Müller (jurgen@shop.example)" in err.value.problems[0].fix


def test_two_users_of_one_name_must_be_named_by_email():
    cat = catalogue_for("USD", users=[*USERS, ("anna@other.example", "Anna Berg")])
    with pytest.raises(RuleError) as err:
        check(parse('finance_owner = "Anna Berg"'), cat.level("customer"))
    (p,) = err.value.problems
    assert p.what == "2 users are named 'Anna Berg' (anna.berg@shop.example, anna@other.example)"
    assert p.fix == "name the finance owner by e-mail, e.g. finance_owner = anna.berg@shop.example"
    check(parse("finance_owner = anna@other.example"), cat.level("customer"))


def test_several_bare_words_are_only_an_owners_name():
    with pytest.raises(RuleError) as err:
        check(parse("segment = Key Account"), CAT.level("customer"))
    (p,) = err.value.problems
    assert p.what == '"Key Account" is several bare words'
    assert p.fix == 'quote a value with spaces ("Key Account"), or join conditions with and / or'
    check(parse('segment = "Key Account"'), CAT.level("customer"))


def test_the_text_form_quotes_names_and_emails():
    rule = parse("finance_owner = Anna Berg or sales_owner = bob@shop.example")
    assert to_text(rule) == 'finance_owner = "Anna Berg" or sales_owner = "bob@shop.example"'
    assert parse(to_text(rule)) == rule
    assert rule == a.Any(
        (
            a.Compare("finance_owner", "=", a.StringLit("Anna Berg")),
            a.Compare("sales_owner", "=", a.StringLit("bob@shop.example")),
        )
    )


def test_without_users_an_owner_compares_as_written():
    fields = catalogue_for("USD").level("customer")
    rule = bind(check(parse("finance_owner = Anna Berg"), fields), AS_OF)
    assert not to_python(rule, fields)({"finance_owner": "anna.berg@shop.example"})
    assert to_python(rule, fields)({"finance_owner": "Anna Berg"})
