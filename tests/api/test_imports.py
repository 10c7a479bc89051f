"""POST /v1/imports/{kind} on both databases: the CLI import's report, a whole-file
rejection as a 422 listing every bad row, partial imports, permissions, audit and outbox."""

from __future__ import annotations

import json

import httpx
import pytest

from arpolicy.models import AuditEvent, Customer, OutboxMessage, UserRole

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")
IMPORTS = "/v1/imports"

CUSTOMERS = b"external_id,name,currency\nC1,ACME,USD\nC2,Beta,EUR\n"
BAD = b"external_id,name,currency\nC1,ACME,usd\nC2,,EUR\nC3,Gamma,USD\n"


def upload(client, who, kind, content, name="file.csv", **form):
    files = {"file": (name, content, "application/octet-stream")}
    data = {k: str(v).lower() if isinstance(v, bool) else v for k, v in form.items()}
    return client.post(f"{IMPORTS}/{kind}", headers=who.headers, files=files, data=data)


def test_csv_and_jsonl_give_the_cli_report(client, caller, stored, subscribe):
    me = caller()
    subscribe(me.tenant_id, ("import.completed", "customer.created"))
    r = upload(client, me, "customers", CUSTOMERS)
    assert r.status_code == 200, r.text
    assert r.json() == {
        "kind": "customers",
        "partial": False,
        "rows": 2,
        "inserted": 2,
        "updated": 0,
        "rejected": 0,
        "errors": [],
        "errors_omitted": 0,
        "file_error": None,
        "rejects_path": None,
        "applied": True,
        "ok": True,
        "assignment": [],
    }
    lines = [{"external_id": "C2", "name": "Beta GmbH"}, {"external_id": "C3", "name": "Gamma"}]
    content = "\n".join(json.dumps(x) for x in lines).encode()
    r = upload(client, me, "customers", content, name="more.jsonl")
    assert r.status_code == 200 and (r.json()["inserted"], r.json()["updated"]) == (1, 1)
    names = {c.external_id: c.name for c in stored(me.tenant_id, Customer)}
    assert names == {"C1": "ACME", "C2": "Beta GmbH", "C3": "Gamma"}
    events = stored(me.tenant_id, AuditEvent, action="import.completed")
    assert [e.after["inserted"] for e in events] == [2, 1] and events[0].entity_id == "customers"
    outbox = stored(me.tenant_id, OutboxMessage)
    assert [m.event_type for m in outbox] == ["import.completed", "import.completed"]
    assert outbox[1].payload["data"]["file"] == "more.jsonl"


def test_a_bad_row_rejects_the_whole_file_and_lists_every_bad_row(client, caller, stored):
    me = caller()
    r = upload(client, me, "customers", BAD)
    assert r.status_code == 422
    body = r.json()
    assert "nothing was imported" in body["detail"]
    assert [(e["line"], e["column"], e["value"]) for e in body["errors"]] == [
        (2, "currency", "usd"),
        (3, "name", ""),
    ]
    assert all(e["reason"] and e["fix"] and e["where"].startswith("line ") for e in body["errors"])
    assert body["errors"][0]["fix"] == "write USD"
    assert stored(me.tenant_id, Customer) == []
    assert stored(me.tenant_id, AuditEvent, action="import.completed") == []


def test_partial_imports_the_good_rows(client, caller, stored):
    me = caller()
    r = upload(client, me, "customers", BAD, partial=True)
    assert r.status_code == 200, r.text
    report = r.json()
    assert (report["rows"], report["inserted"], report["rejected"], report["ok"]) == (
        3,
        1,
        2,
        False,
    )
    assert [e["line"] for e in report["errors"]] == [2, 3] and report["applied"] is True
    assert [c.external_id for c in stored(me.tenant_id, Customer)] == ["C3"]


def test_file_problems(client, caller):
    me = caller()
    cases = [
        (b"external_id;name\nC1;A\n", "file.csv", {}, "semicolons"),
        (b"\xff\xfeexternal_id,name\n", "file.csv", {}, "UTF-8"),
        (b"", "file.csv", {}, "empty"),
        (b"external_id,name\nC1,A\x00\n", "file.csv", {}, "NUL"),
        (b'{"external_id": "C1", "name": "A\\u0000"}\n', "f.jsonl", {}, "NUL"),
        (b'{"external_id": "C1", "name": "A\\ud800"}\n', "f.jsonl", {}, None),
        (b"external_id,nme\nC1,A\n", "file.csv", {}, "nme"),
        (b"external_id,name\nC1,A\n", "file.txt", {}, "CSV or JSON Lines"),
        (b"external_id,name\nC1,A\n", "file.csv", {"format": "xml"}, "format"),
        (b"external_id,name\nC1,A\n", "file.csv", {"partial": "perhaps"}, "partial"),
    ]
    for content, name, form, words in cases:
        r = upload(client, me, "customers", content, name=name, **form)
        assert r.status_code == 422, (content, r.text)
        if words:
            assert words in json.dumps(r.json()), (content, r.json())
    r = client.post(f"{IMPORTS}/customers", headers=me.headers, data={"partial": "true"})
    assert r.status_code == 422 and r.json()["where"] == "body.file"
    r = client.post(f"{IMPORTS}/customers", headers=me.headers, json={"file": "x"})
    assert r.status_code == 422 and r.json()["where"] == "body.file"
    assert upload(client, me, "planets", CUSTOMERS).status_code == 422
    two = [("file", ("a.csv", CUSTOMERS)), ("file", ("b.csv", CUSTOMERS))]
    r = client.post(f"{IMPORTS}/customers", headers=me.headers, files=two)
    assert r.status_code == 422 and r.json()["where"] == "body.file"
    r = upload(client, me, "customers", CUSTOMERS, name="x.bin", format="csv")
    assert r.status_code == 200


def test_gated_columns_and_kinds_need_their_permission(client, caller, stored):
    admin = caller()
    collector = caller(UserRole.COLLECTOR, tenant_id=admin.tenant_id)
    owned = b"external_id,name,finance_owner\nC1,A,\n"
    r = upload(client, collector, "customers", owned)
    assert r.status_code == 403 and "owners:write" in r.json()["detail"]
    lines = (
        b'{"external_id": "C1", "name": "A"}\n{"external_id": "C2", "credit_check_exempt": true}\n'
    )
    r = upload(client, collector, "customers", lines, name="c.jsonl")
    assert r.status_code == 403 and "credit:write" in r.json()["detail"]
    assert stored(admin.tenant_id, Customer) == []
    r = upload(client, collector, "users", b"email,name,role\nx@example.com,X,admin\n")
    assert r.status_code == 403 and "users:manage" in r.json()["detail"]
    assert upload(client, admin, "customers", owned).status_code == 200
    agent = caller(UserRole.AGENT, tenant_id=admin.tenant_id)
    assert upload(client, agent, "customers", CUSTOMERS).status_code == 403


def test_documents_import_like_the_cli_and_repeat_by_idempotency_key(client, caller, stored):
    me = caller()
    assert upload(client, me, "customers", CUSTOMERS).status_code == 200
    rates = b"from_currency,to_currency,valid_on,rate\nEUR,USD,2026-01-01,1.1\n"
    assert upload(client, me, "fx-rates", rates).status_code == 200
    invoices = (
        b"number,customer,currency,amount,document_date,due_date\n"
        b"I1,C1,USD,100.00,2026-10-01,2026-11-01\nI2,C2,EUR,10.00,2026-10-01,2026-11-01\n"
    )
    # a repeat is the same bytes (multipart included: the same boundary)
    built = httpx.Request("POST", "http://x", files={"file": ("inv.csv", invoices, "text/csv")})
    headers = {
        **me.headers,
        "Idempotency-Key": "upload-1",
        "Content-Type": built.headers["content-type"],
    }
    first = client.post(f"{IMPORTS}/invoices", headers=headers, content=built.read())
    again = client.post(f"{IMPORTS}/invoices", headers=headers, content=built.read())
    assert first.status_code == again.status_code == 200, first.text
    assert again.json() == first.json() and again.headers["idempotent-replayed"] == "true"
    docs = client.get("/v1/documents", headers=me.headers, params={"sort": "number"}).json()
    assert [(d["number"], d["base_amount"]["amount"]) for d in docs["items"]] == [
        ("I1", "100.00"),
        ("I2", "11.00"),
    ]
    assert len(stored(me.tenant_id, AuditEvent, action="import.completed")) == 3


def test_imports_stay_in_their_tenant(client, caller, stored):
    a, b = caller(), caller()
    assert upload(client, b, "customers", CUSTOMERS).status_code == 200
    invoices = b"number,customer,currency,amount,document_date,due_date\nI1,C1,USD,1.00,2026-10-01,2026-11-01\n"
    r = upload(client, a, "invoices", invoices)
    assert r.status_code == 422 and r.json()["errors"][0]["column"] == "customer"
    assert stored(a.tenant_id, Customer) == []


def test_every_import_kind_can_be_uploaded():
    from arpolicy.api.routes.imports import ImportKind
    from arpolicy.ledger.importing.registry import KINDS

    assert [k.value for k in ImportKind] == list(KINDS)


DEEP = '{"a": ' * 990 + '"x"' + "}" * 990
UNSTORABLE = [
    (b"external_id,name\nC1,A\x00\n", "f.csv", (2, "name", "NUL")),
    (b'{"external_id": "C1", "name": "A\\u0000"}\n', "f.jsonl", (1, "name", "NUL")),
    (b'{"external_id": "C1", "name": "A\\ud800"}\n', "f.jsonl", (1, "name", "U+D800")),
    (
        f'{{"external_id": "C1", "name": "A", "custom_fields": {{"k": {DEEP}}}}}\n'.encode(),
        "f.jsonl",
        (1, "cf.k", "levels deep"),
    ),
    (
        b"external_id,name,currency,reported_balance\nC1,A,USD,92233720368547758.08\n",
        "f.csv",
        (2, "reported_balance", "largest amount"),
    ),
]


def test_values_no_database_can_store_are_row_errors(client, caller, stored):
    """Like any bad row: a 422 listing line, column, value, reason and fix; nothing stored."""
    me = caller()
    for content, name, (line, column, words) in UNSTORABLE:
        r = upload(client, me, "customers", content, name=name)
        assert r.status_code == 422, (content[:60], r.text[:300])
        assert r.headers["content-type"] == "application/problem+json"
        (error,) = r.json()["errors"]
        assert (error["line"], error["column"]) == (line, column), error
        assert words in error["reason"] and error["fix"] and len(error["value"]) < 130
    assert stored(me.tenant_id, Customer) == []


def test_an_unforeseen_database_error_is_a_problem_without_row_data(
    client, caller, stored, monkeypatch
):
    from arpolicy.ledger.importing import limits

    me = caller()
    monkeypatch.setattr(limits, "INT64", 2**80)  # the database refuses the amount itself
    content = b"external_id,name,currency,reported_balance\nSECRET,A,USD,10000000000000000000\n"
    r = upload(client, me, "customers", content)
    assert r.status_code == 422 and r.json()["type"].endswith("/import-failed"), r.text
    assert "nothing was imported" in r.json()["detail"] and r.json()["fix"]
    assert "SECRET" not in r.text and "INSERT" not in r.text
    assert stored(me.tenant_id, Customer) == []
