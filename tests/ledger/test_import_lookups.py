"""Reference maps looked up key by key (lookups.RefMap): an import of a few rows reads only
the rows it refers to, a large one loads each map once, and both give the same results."""

from __future__ import annotations

import pytest

from arpolicy.ledger.exporter import export_rows
from arpolicy.ledger.importing import context, import_file, import_rows, lookups
from arpolicy.ledger.importing.lookups import RefMap
from tests.fixtures.factories import create_customer, create_tenant
from tests.ledger.test_import_kinds import import_examples
from tests.ledger.test_import_support import EXAMPLES


def counting(data: dict) -> tuple[RefMap, list]:
    calls: list = []

    def one(key):
        calls.append(("one", key))
        return data.get(key)

    def everything():
        calls.append(("all",))
        return dict(data)

    return RefMap(one, everything, limit=3), calls


def test_a_ref_map_looks_keys_up_one_by_one_then_loads_whole():
    refs, calls = counting({"a": 1, "b": 2, "c": 3, "d": 4})
    assert refs.get("a") == 1 and "zz" not in refs and refs["b"] == 2
    assert refs.get("a") == 1 and refs.get("zz", 0) == 0  # remembered, no new lookup
    assert calls == [("one", "a"), ("one", "zz"), ("one", "b")]
    refs["new"] = 9
    refs.pop("b")
    with pytest.raises(KeyError):
        refs["q"]  # the fourth lookup loads the whole map
    assert calls[-1] == ("all",)
    assert dict(refs.items()) == {"a": 1, "c": 3, "d": 4, "new": 9}  # local changes kept
    assert "d" in refs and len(calls) == 4


def test_iteration_and_pickling_see_the_whole_map():
    import pickle

    refs, _ = counting({"a": 1, "b": 2})
    refs.get("a")
    refs["z"] = 0
    assert sorted(refs) == ["a", "b", "z"] and len(refs) == 3
    refs2, _ = counting({"x": 1})
    assert pickle.loads(pickle.dumps(refs2)) == {"x": 1}


def test_a_one_row_import_never_loads_a_whole_map(session, monkeypatch):
    tenant = create_tenant(session)
    for i in range(50):
        create_customer(session, tenant, external_id=f"C{i}")

    def refuse(*args):
        raise AssertionError("a whole reference map was loaded")

    monkeypatch.setattr(context, "LOADERS", dict.fromkeys(context.LOADERS, refuse))
    row = {
        "number": "I1",
        "customer": "C7",
        "currency": tenant.base_currency,
        "amount": "5.00",
        "document_date": "2026-01-01",
        "due_date": "2026-02-01",
    }
    report = import_rows(session, tenant, "invoices", [row])
    assert report.ok and report.inserted == 1
    bad = import_rows(session, tenant, "invoices", [{**row, "number": "I2", "customer": "C99"}])
    assert bad.errors[0].column == "customer" and "no customer C99" in bad.errors[0].reason


def test_results_do_not_depend_on_how_maps_are_read(session, monkeypatch):
    """The example files (references of every kind, self references, allocations over
    payments) give the same rows whether maps are read whole at once, after one lookup, or
    key by key throughout; compared through the export, which names references by key."""
    exported = []
    for limit in (0, 1, 1000):
        monkeypatch.setattr(lookups, "PER_KEY_LOOKUPS", limit)
        tenant = create_tenant(session, base_currency="USD")
        reports = import_examples(session, tenant)
        assert all(r.ok for r in reports.values()), {n: r.errors for n, r in reports.items()}
        again = import_file(session, tenant, "allocations", EXAMPLES / "allocations.csv")
        assert again.ok and again.updated == again.rows
        exported.append({kind: _export(session, tenant, kind) for kind in KINDS})
    assert exported[0] == exported[1] == exported[2]
    assert all(exported[0][kind][1] for kind in KINDS)


KINDS = (
    "users",
    "customers",
    "contacts",
    "documents",
    "payments",
    "allocations",
    "promises",
    "disputes",
    "payment-attempts",
)


def _export(session, tenant, kind):
    header, rows = export_rows(session, tenant, kind)
    return header, list(rows)
