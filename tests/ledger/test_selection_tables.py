"""Decision tables in bulk: the database selects each rule's condition, and every record's
outcome equals what the table gives it record by record (table_to_python), on SQLite and
PostgreSQL; ``select`` of a table is the records some rule matches (its explanation's yes)."""

from __future__ import annotations

from datetime import date

import pytest

from arpolicy.ledger.fields import catalogue_for
from arpolicy.ledger.rates import exchange
from arpolicy.ledger.selection import decide, invoice_records, select
from arpolicy.models import DocumentType
from arpolicy.rules import bind, check, explain, parse, table_to_python
from tests.fixtures.factories import create_customer, create_document, create_rate, create_tenant

AS_OF = date(2026, 11, 23)
TABLE = """decide {policy}
  when days_past_due > 60 and balance > 500 USD then "escalate"
  when days_past_due > 0 then {{"level": 1}}
  when customer.country = DE then "german"
  {otherwise}
"""


@pytest.mark.parametrize("policy", ["first", "collect"])
@pytest.mark.parametrize("otherwise", ['otherwise "none"', ""])
def test_outcomes_in_bulk_equal_the_table_record_by_record(session, policy, otherwise):
    t = create_tenant(session, base_currency="USD", timezone="UTC")
    create_rate(session, t, "EUR", "USD", date(2026, 1, 1), "1.10")
    de, us = create_customer(session, t, country="DE"), create_customer(session, t, country="US")
    for c in (de, us):
        for due, amount, ccy in (
            (date(2026, 8, 1), "600.00", "USD"),
            (date(2026, 8, 1), "470.00", "EUR"),
            (date(2026, 11, 1), "50.00", "USD"),
            (date(2026, 12, 30), "900.00", "USD"),
        ):
            create_document(session, t, c, amount, currency=ccy, due_date=due)
        create_document(session, t, c, "700.00", balance="0", due_date=date(2026, 8, 1))
        create_document(
            session, t, c, "700.00", doc_type=DocumentType.CREDIT_NOTE, due_date=date(2026, 8, 1)
        )
    fields = catalogue_for("USD").level("invoice")
    table = check(parse(TABLE.format(policy=policy, otherwise=otherwise)), fields)
    bound = bind(table, AS_OF, tz="UTC", exchange=exchange(session, t))
    decisions = decide(session, t, bound, fields)
    by_record = table_to_python(bound, fields)
    records = dict(invoice_records(session, t, fields, AS_OF))
    assert len(records) == 12
    for i, record in records.items():
        assert decisions.outcome(i) == by_record(record), record
    yes = [i for i, r in records.items() if explain(bound, r, fields).verdict == "yes"]
    assert select(session, t, bound, fields) == decisions.matched == yes
    assert 0 < len(yes) < len(records)
    groups = decisions.groups()
    assert [g.rule for g in groups] == [1, 2, 3] + ([None] if otherwise else [])
    if policy == "first":  # each record is decided once, by the first rule it matches
        decided = [i for g in groups for i in g.ids]
        assert sorted(decided) == decisions.matched
