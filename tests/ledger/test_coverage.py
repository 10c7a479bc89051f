"""Rules unknown for many records: the database counts exactly the records the explanation
calls unknown (and, of those, each empty field), at every level, over random ledgers and
rules on SQLite and PostgreSQL; and the warnings say how many, which field, and the fix."""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any

from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from arpolicy.ledger.fields import catalogue_for
from arpolicy.ledger.rates import exchange
from arpolicy.ledger.selection import records
from arpolicy.ledger.selection.coverage import RuleCheck, coverage, rule_warnings
from arpolicy.models import AttemptStatus
from arpolicy.rules import Level, bind, explain, parse, problems
from arpolicy.rules import ast as a
from tests.fixtures.factories import create_attempt, create_customer, create_document, create_tenant
from tests.ledger.selection_data import AS_OF, CUSTOM, TZ, build, ledgers
from tests.ledger.selection_rules import conditions

CATALOGUE = catalogue_for("USD", [30, 60, 90, 120], CUSTOM)
SETTINGS = settings(
    max_examples=25,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)


def scopes(fields: Any) -> st.SearchStrategy[Any]:
    return st.none() | conditions(fields)


def check_counts(session: Any, level: Level, spec: Any, rule: Any, scope: Any, open_only: bool):
    """``scope`` (or None): a condition the records read must also be true for."""
    fields = CATALOGUE.level(level)
    assume(not problems(rule, fields) and (scope is None or not problems(scope, fields)))
    with session.begin_nested() as sp:
        tenant = build(session, spec)
        fx = exchange(session, tenant)
        bound = bind(rule, AS_OF, tz=TZ, exchange=fx)
        within = [] if scope is None else [bind(scope, AS_OF, tz=TZ, exchange=fx)]
        recs = dict(records(session, tenant, fields, AS_OF))
        if open_only:
            recs = {i: r for i, r in recs.items() if r["balance"].amount != 0}
        read = [r for r in recs.values() if all(explain(w, r, fields).matched for w in within)]
        unknown = [r for r in read if explain(bound, r, fields).verdict == "unknown"]
        names = sorted({n.field for _, n in a.walk(rule) if isinstance(n, a.LEAVES)})
        empty = {n: sum(r.get(n) is None for r in unknown) for n in names}
        got = coverage(session, tenant, bound, fields, within=within, open_only=open_only)
        assert (got.total, got.unknown) == (len(read), len(unknown)), str(rule)
        assert dict(got.empty) == {n: k for n, k in empty.items() if k}, str(rule)
        assert [k for _, k in got.empty] == sorted((k for _, k in got.empty), reverse=True)
        sp.rollback()


@SETTINGS
@given(ledgers, conditions(CATALOGUE.level("customer")), scopes(CATALOGUE.level("customer")))
def test_customer_counts_equal_the_explanations(session, spec, rule, scope):
    check_counts(session, Level.CUSTOMER, spec, rule, scope, False)


@SETTINGS
@given(ledgers, conditions(CATALOGUE.level("payment")), scopes(CATALOGUE.level("payment")))
def test_payment_counts_equal_the_explanations(session, spec, rule, scope):
    check_counts(session, Level.PAYMENT, spec, rule, scope, False)


@SETTINGS
@given(
    ledgers,
    conditions(CATALOGUE.level("invoice")),
    scopes(CATALOGUE.level("invoice")),
    st.booleans(),
)
def test_invoice_counts_equal_the_explanations(session, spec, rule, scope, open_only):
    check_counts(session, Level.INVOICE, spec, rule, scope, open_only)


# the warnings ------------------------------------------------------------------------------
def shop(session: Any, countries: list[str | None], attempts: int) -> Any:
    """Customers with these countries (and an open invoice each); the first ``attempts``
    have a card payment that failed yesterday."""
    t = create_tenant(session)
    for i, country in enumerate(countries):
        c = create_customer(session, t, country=country)
        create_document(session, t, c, "50.00")
        if i < attempts:
            create_attempt(
                session,
                t,
                c,
                status=AttemptStatus.FAILURE,
                attempted_at=datetime(2026, 11, 22, 12, tzinfo=UTC),
            )
    return t


ON = date(2026, 11, 23)


def warnings(session: Any, t: Any, text: str, level: str, *within: str) -> list[Any]:
    fields = CATALOGUE.level(level)
    check = RuleCheck("payment", parse(text), fields, tuple(map(parse, within)))
    return rule_warnings(session, t, [check], as_of=ON)


def test_a_rule_unknown_for_most_customers_warns_with_the_field_and_the_fix(session):
    t = shop(session, ["DE"] * 5, attempts=1)
    (w,) = warnings(session, t, "not (last_attempt_status = failure)", "payment")
    assert (w.where, w.level, w.field, w.count, w.total, w.share) == (
        "payment",
        "payment",
        "last_attempt_status",
        4,
        5,
        0.8,
    )
    assert w.message == (
        "the payment rule is unknown for 4 of 5 customers (80%), so it never matches them "
        "(a condition on an empty field is unknown, and so is not of it): "
        "last_attempt_status is empty for 4 of them"
    )
    assert w.fix == (
        "if customers with no last_attempt_status should match, write: last_attempt_status "
        "is empty or not last_attempt_status = failure; if not, say so: last_attempt_status "
        "is not empty and not last_attempt_status = failure"
    )
    assert w.to_json()["empty"] == [{"field": "last_attempt_status", "count": 4}]
    for fixed in (w.fix.split("write: ")[1].split(";")[0], w.fix.split("say so: ")[1]):
        assert warnings(session, t, fixed, "payment") == [], fixed


def test_the_threshold_is_a_fifth_of_the_records_read(session):
    t = shop(session, [None, "DE", "DE", "DE", "US"], attempts=0)
    (w,) = warnings(session, t, "country != DE", "customer")
    assert (w.count, w.total, w.field) == (1, 5, "country")
    assert "(20%)" in w.message
    t = shop(session, [None, "DE", "DE", "DE", "US", "US"], attempts=0)
    assert warnings(session, t, "country != DE", "customer") == []  # 1 of 6
    assert warnings(session, t, "country is empty or country != DE", "customer") == []


def test_within_narrows_the_records_a_rule_reads(session):
    t = shop(session, ["DE", "DE", "US", "US", "US", "US"], attempts=1)
    # 5 of 6 customers have no attempt; of the two in DE, one
    (w,) = warnings(
        session, t, "last_attempt_status != success", "payment", "customer.country = DE"
    )
    assert (w.count, w.total) == (1, 2)
    (w,) = warnings(session, t, "last_attempt_status != success", "payment")
    assert (w.count, w.total) == (5, 6)
    assert (
        warnings(session, t, "last_attempt_status != success", "payment", "customer.country = FR")
        == []
    )
