"""The customer sheet, server side, on both databases: what it shows, each change made
from it (through the same functions as the API, audited with the user), bad input beside
the field with nothing stored, CSRF, a read-only role, another tenant's customer (404)."""

from __future__ import annotations

import re

from fastapi.testclient import TestClient
from sqlalchemy import Engine, func, select

from arpolicy.kit.db import transaction
from arpolicy.models import (
    AuditEvent,
    Customer,
    CustomerNote,
    Dispute,
    DisputeStatus,
    OwnerAssignment,
    PromiseStatus,
    PromiseToPay,
    ReminderPause,
    UserRole,
)
from arpolicy.tenancy.rls import scope_tenant
from tests.web.customers_support import Ledger, make_ledger
from tests.web.signin_support import make_web_user, sign_in


def count(engine: Engine, tenant_id: int, model: type) -> int:
    with transaction(engine, write=False) as s:
        scope_tenant(s, tenant_id)
        stmt = select(func.count()).select_from(model).where(model.tenant_id == tenant_id)
        return int(s.scalar(stmt) or 0)


def actors(engine: Engine, tenant_id: int, action: str) -> list[str]:
    with transaction(engine, write=False) as s:
        scope_tenant(s, tenant_id)
        stmt = select(AuditEvent.actor).where(
            AuditEvent.tenant_id == tenant_id, AuditEvent.action == action
        )
        return list(s.scalars(stmt))


def _signed(web_client: TestClient, engine: Engine, role: UserRole = UserRole.COLLECTOR):
    led = make_ledger(engine, role)
    return led, sign_in(web_client, led.admin)


def test_the_sheet_shows_figures_documents_payments_and_owners(
    web_client: TestClient, db_engine: Engine
):
    led, _ = _signed(web_client, db_engine)
    page = web_client.get(f"/customers/{led.late}")
    assert page.status_code == 200
    text = page.text
    assert "<h1>Acme Late GmbH</h1>" in text
    assert '<td class="num">45</td>' in text  # days past due of the open invoice
    assert '<a href="/customers?bucket=31-60">€1,000.00</a>' in text
    beta = web_client.get(f"/customers/{led.current}").text
    assert "$50.00" in beta and re.search(r"INV-\d+: \$50\.00", beta)  # payment, allocation
    assert "Finance owner" in text and "Nothing to send today" in text


def test_record_keep_and_break_a_promise(web_client: TestClient, db_engine: Engine):
    led, token = _signed(web_client, db_engine)
    tid = led.admin.caller.tenant_id
    made = web_client.post(
        f"/customers/{led.late}/promises",
        data={
            "csrf_token": token,
            "amount": "400.00",
            "currency": "EUR",
            "promised_on": "2026-12-04",
            "document_id": str(led.invoice),
            "note": "Anna: after the board meets",
        },
    )
    assert made.status_code == 303
    assert made.headers["location"] == f"/customers/{led.late}?done=promise"
    sheet = web_client.get(made.headers["location"]).text
    assert "The promise to pay is recorded." in sheet and "€400.00" in sheet
    with transaction(db_engine, write=False) as s:
        scope_tenant(s, tid)
        p = s.scalars(select(PromiseToPay).where(PromiseToPay.tenant_id == tid)).one()
        assert (p.amount_minor, p.currency, p.document_id) == (40000, "EUR", led.invoice)
        pid = p.id
    who = f"user:{led.admin.email} (web)"
    assert actors(db_engine, tid, "promise.created") == [who]
    kept = web_client.post(
        f"/customers/{led.late}/promises/{pid}", data={"csrf_token": token, "status": "kept"}
    )
    assert kept.status_code == 303 and kept.headers["location"].endswith("done=promise-kept")
    with transaction(db_engine, write=False) as s:
        scope_tenant(s, tid)
        assert s.get(PromiseToPay, pid).status is PromiseStatus.KEPT  # type: ignore[union-attr]
    assert actors(db_engine, tid, "promise.updated") == [who]
    # a state no promise has: the message above the table, nothing changed
    odd = web_client.post(
        f"/customers/{led.late}/promises/{pid}", data={"csrf_token": token, "status": "maybe"}
    )
    assert odd.status_code == 422 and 'class="form-error" role="alert"' in odd.text
    assert actors(db_engine, tid, "promise.updated") == [who]


def test_a_bad_promise_comes_back_beside_the_field_and_stores_nothing(
    web_client: TestClient, db_engine: Engine
):
    led, token = _signed(web_client, db_engine)
    tid = led.admin.caller.tenant_id
    cases = [
        ({"amount": "lots", "currency": "EUR", "promised_on": "2026-12-04"}, "amount"),
        ({"amount": "10.00", "currency": "EURO", "promised_on": "2026-12-04"}, "currency"),
        ({"amount": "10.00", "currency": "EUR", "promised_on": ""}, "promised_on"),
        ({"amount": "10.00", "currency": "EUR", "promised_on": "4 Dec"}, "promised_on"),
    ]
    for fields, where in cases:
        response = web_client.post(
            f"/customers/{led.late}/promises", data={"csrf_token": token, **fields}
        )
        assert response.status_code == 422, fields
        assert f'aria-describedby="promise-{where}-error"' in response.text, fields
        assert re.search(rf'id="promise-{where}-error" class="error">\w', response.text)
        assert 'name="amount" type="text" value="' + fields["amount"] in response.text
        assert '<details class="action" open>' in response.text
    assert count(db_engine, tid, PromiseToPay) == 0


def test_open_and_resolve_a_dispute(web_client: TestClient, db_engine: Engine):
    led, token = _signed(web_client, db_engine)
    tid = led.admin.caller.tenant_id
    made = web_client.post(
        f"/customers/{led.late}/disputes",
        data={"csrf_token": token, "amount": "100.00", "currency": "EUR", "reason": "Wrong VAT"},
    )
    assert made.status_code == 303
    with transaction(db_engine, write=False) as s:
        scope_tenant(s, tid)
        d = s.scalars(
            select(Dispute).where(Dispute.tenant_id == tid, Dispute.customer_id == led.late)
        ).one()
        assert d.reason == "Wrong VAT" and d.status is DisputeStatus.OPEN
        did = d.id
    assert "Wrong VAT" in web_client.get(f"/customers/{led.late}").text
    done = web_client.post(
        f"/customers/{led.late}/disputes/{did}", data={"csrf_token": token, "status": "resolved"}
    )
    assert done.status_code == 303
    with transaction(db_engine, write=False) as s:
        scope_tenant(s, tid)
        d = s.get(Dispute, did)
        assert d is not None and d.status is DisputeStatus.RESOLVED
        assert d.resolved_on is not None
    # a dispute of another customer cannot be closed through this one's sheet
    with transaction(db_engine, write=False) as s:
        scope_tenant(s, tid)
        gamma = s.scalars(
            select(Dispute.id).where(Dispute.tenant_id == tid, Dispute.customer_id == led.disputed)
        ).one()
    wrong = web_client.post(
        f"/customers/{led.late}/disputes/{gamma}", data={"csrf_token": token, "status": "resolved"}
    )
    assert wrong.status_code == 404


def test_log_a_call_and_pause_then_resume_the_reminders(web_client: TestClient, db_engine: Engine):
    led, token = _signed(web_client, db_engine)
    tid = led.admin.caller.tenant_id
    url = f"/customers/{led.late}"
    logged = web_client.post(
        f"{url}/notes", data={"csrf_token": token, "kind": "call", "body": "Pays on Friday"}
    )
    assert logged.status_code == 303
    paused = web_client.post(
        f"{url}/reminders", data={"csrf_token": token, "action": "pause", "reason": "Legal review"}
    )
    assert paused.status_code == 303
    sheet = web_client.get(url).text
    assert "Pays on Friday" in sheet and "Call logged" in sheet
    assert "Paused</strong>: paused by hand: Legal review" in sheet
    assert "Resume reminders" in sheet
    listed = web_client.get("/customers?paused=yes").text
    assert "Acme Late GmbH" in listed
    resumed = web_client.post(
        f"{url}/reminders", data={"csrf_token": token, "action": "resume", "reason": "Cleared"}
    )
    assert resumed.status_code == 303
    who = f"user:{led.admin.email} (web)"
    for action in (
        "customer.call_logged",
        "customer.reminders_paused",
        "customer.reminders_resumed",
    ):
        assert actors(db_engine, tid, action) == [who], action
    # no reason, no pause: the message beside the field
    blank = web_client.post(
        f"{url}/reminders", data={"csrf_token": token, "action": "pause", "reason": " "}
    )
    assert blank.status_code == 422 and 'id="reminders-reason-error"' in blank.text
    empty = web_client.post(f"{url}/notes", data={"csrf_token": token, "kind": "note", "body": ""})
    assert empty.status_code == 422 and 'id="note-body-error"' in empty.text
    assert count(db_engine, tid, CustomerNote) == 1
    assert count(db_engine, tid, ReminderPause) == 1


def test_change_an_owner_by_hand_with_a_lock(web_client: TestClient, db_engine: Engine):
    led, token = _signed(web_client, db_engine, UserRole.SUPERVISOR)
    tid = led.admin.caller.tenant_id
    response = web_client.post(
        f"/customers/{led.current}/owners",
        data={
            "csrf_token": token,
            "role": "finance",
            "user_id": str(led.admin.caller.user_id),
            "locked": "on",
            "reason": "Key account",
        },
    )
    assert response.status_code == 303
    with transaction(db_engine, write=False) as s:
        scope_tenant(s, tid)
        c = s.get(Customer, led.current)
        assert c is not None and c.finance_owner_id == led.admin.caller.user_id
        row = s.scalars(
            select(OwnerAssignment).where(
                OwnerAssignment.tenant_id == tid, OwnerAssignment.customer_id == led.current
            )
        ).one()
        assert row.locked and row.reason == "Key account"
    sheet = web_client.get(f"/customers/{led.current}").text
    assert "Key account" in sheet and '<span class="badge">locked</span>' in sheet
    bad = web_client.post(
        f"/customers/{led.current}/owners",
        data={"csrf_token": token, "role": "finance", "user_id": "999999", "reason": "x"},
    )
    assert bad.status_code == 422 and 'id="owner-user_id-error"' in bad.text


def test_a_read_only_role_sees_the_sheet_and_changes_nothing(
    web_client: TestClient, db_engine: Engine
):
    for role in (UserRole.SALES, UserRole.CUSTOMER_SUCCESS):
        led, token = _signed(web_client, db_engine, role)
        tid = led.admin.caller.tenant_id
        sheet = web_client.get(f"/customers/{led.late}")
        assert sheet.status_code == 200
        assert "Record promise" not in sheet.text and "Pause reminders" not in sheet.text
        posts = [
            ("promises", {"amount": "1.00", "currency": "EUR", "promised_on": "2026-12-01"}),
            ("disputes", {"amount": "1.00", "currency": "EUR"}),
            ("notes", {"kind": "note", "body": "hello"}),
            ("reminders", {"action": "pause", "reason": "x"}),
            ("owners", {"role": "finance", "user_id": ""}),
        ]
        for path, data in posts:
            response = web_client.post(
                f"/customers/{led.late}/{path}", data={"csrf_token": token, **data}
            )
            assert response.status_code == 403, (role, path)
        for model in (PromiseToPay, CustomerNote, ReminderPause):
            assert count(db_engine, tid, model) == 0
        assert count(db_engine, tid, Dispute) == 1  # Gamma's, from the ledger


def test_a_collector_may_not_change_owners(web_client: TestClient, db_engine: Engine):
    led, token = _signed(web_client, db_engine)
    response = web_client.post(
        f"/customers/{led.current}/owners",
        data={"csrf_token": token, "role": "finance", "user_id": str(led.admin.caller.user_id)},
    )
    assert response.status_code == 403
    assert "Change owner" not in web_client.get(f"/customers/{led.current}").text


def test_without_the_csrf_token_nothing_is_stored(web_client: TestClient, db_engine: Engine):
    led, _token = _signed(web_client, db_engine)
    tid = led.admin.caller.tenant_id
    for data in (
        {"amount": "1.00", "currency": "EUR", "promised_on": "2026-12-01"},
        {"amount": "1.00", "currency": "EUR", "promised_on": "2026-12-01", "csrf_token": "forged"},
    ):
        response = web_client.post(f"/customers/{led.late}/promises", data=data)
        assert response.status_code == 403
    note = web_client.post(f"/customers/{led.late}/notes", data={"kind": "call", "body": "x"})
    assert note.status_code == 403
    assert count(db_engine, tid, PromiseToPay) == 0 and count(db_engine, tid, CustomerNote) == 0


def test_another_tenants_customer_is_404(web_client: TestClient, db_engine: Engine):
    led: Ledger = make_ledger(db_engine)
    other = make_web_user(db_engine)
    token = sign_in(web_client, other)
    assert web_client.get(f"/customers/{led.late}").status_code == 404
    response = web_client.post(
        f"/customers/{led.late}/notes", data={"csrf_token": token, "kind": "call", "body": "x"}
    )
    assert response.status_code == 404
    assert count(db_engine, led.admin.caller.tenant_id, CustomerNote) == 0
