"""The owners screen on the server: policies saved through the rule builder or as YAML
(what PUT /v1/assignment/policies/{role} does), problems in place and nothing stored,
dry run and run with the API's permission, a customer's owners explained."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from arpolicy.kit.db import transaction
from arpolicy.models import AssignmentPolicyVersion, AuditEvent, Customer, UserRole
from arpolicy.tenancy.rls import scope_tenant
from tests.web.rules_support import Ledger, engine_of, make_ledger, tree
from tests.web.signin_support import make_web_user, sign_in

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")


def rule_form(led: Ledger, users: str, **extra: str) -> dict[str, str]:
    country = {"field": "country", "type": "code", "op": "includes", "v.list": "DE, AT"}
    data = tree("customer", "when", c0=country) | {
        "csrf_token": led.csrf,
        "name": "DACH",
        "strategy": "fixed",
        "users": users,
        "active": "1",
    }
    return data | extra


def versions(client: TestClient, tenant_id: int) -> list[AssignmentPolicyVersion]:
    with transaction(engine_of(client), write=False) as s:
        scope_tenant(s, tenant_id)
        q = select(AssignmentPolicyVersion).where(AssignmentPolicyVersion.tenant_id == tenant_id)
        return list(s.scalars(q))


def finance_owner(client: TestClient, tenant_id: int, customer_id: int) -> int | None:
    with transaction(engine_of(client), write=False) as s:
        scope_tenant(s, tenant_id)
        customer = s.get(Customer, customer_id)
        assert customer is not None
        return customer.finance_owner_id


def test_an_admin_saves_a_rule_built_in_the_builder(web_client):
    led = make_ledger(web_client)
    page = web_client.get("/owners")
    assert "No finance policy yet" in page.text and "Add a rule" in page.text
    form = web_client.get("/owners/finance/rules/new")
    assert form.status_code == 200 and 'id="rb-when"' in form.text
    r = web_client.post("/owners/finance/rules/new", data=rule_form(led, led.who.email))
    assert r.status_code == 303 and r.headers["location"] == "/owners?role=finance&saved=1"
    [saved] = versions(web_client, led.who.caller.tenant_id)
    assert saved.config["rules"][0]["when"] == "country includes (DE, AT)"
    assert saved.created_by == f"user:{led.who.email} (web)"
    with transaction(engine_of(web_client), write=False) as s:
        scope_tenant(s, led.who.caller.tenant_id)
        event = s.scalar(
            select(AuditEvent).where(
                AuditEvent.tenant_id == led.who.caller.tenant_id,
                AuditEvent.action == "assignment_policy.saved",
            )
        )
    assert event is not None and event.actor == f"user:{led.who.email} (web)"
    shown = web_client.get("/owners?role=finance&saved=1").text
    assert "version 1" in shown and "country includes (DE, AT)" in shown


def test_bad_input_comes_back_beside_the_field_and_nothing_is_stored(web_client):
    led = make_ledger(web_client)
    r = web_client.post("/owners/finance/rules/new", data=rule_form(led, "nobody@example.com"))
    assert r.status_code == 422
    assert 'id="e-users" class="error">no user nobody@example.com in this tenant' in r.text
    bad_rule = rule_form(led, led.who.email, **{"when.t.0.field": "contry"})
    r = web_client.post("/owners/finance/rules/new", data=bad_rule)
    assert r.status_code == 422 and "the rule has problems" in r.text
    assert "unknown field &#39;contry&#39; — did you mean country?" in r.text
    r = web_client.post(
        "/owners/finance/yaml", data={"csrf_token": led.csrf, "policy": "role: [finance"}
    )
    assert r.status_code == 422 and "not valid YAML" in r.text and "line 1" in r.text
    r = web_client.post(
        "/owners/finance/yaml", data={"csrf_token": led.csrf, "policy": "role: sales\nrules: []\n"}
    )
    assert r.status_code == 422 and "the path says finance" in r.text
    assert versions(web_client, led.who.caller.tenant_id) == []


def test_a_yaml_policy_is_saved_as_a_new_version(web_client):
    led = make_ledger(web_client)
    text = f"role: sales\nfallback: {{strategy: fixed, users: [{led.who.email}]}}\n"
    r = web_client.post(
        "/owners/sales/yaml", data={"csrf_token": led.csrf, "policy": text, "active": "1"}
    )
    assert r.status_code == 303
    assert [v.role for v in versions(web_client, led.who.caller.tenant_id)] == ["sales"]
    assert "fallback" in web_client.get("/owners/sales/yaml").text


def test_without_csrf_or_the_permission_nothing_is_stored(web_client):
    led = make_ledger(web_client)
    no_token = {k: v for k, v in rule_form(led, led.who.email).items() if k != "csrf_token"}
    assert web_client.post("/owners/finance/rules/new", data=no_token).status_code == 403
    sales = make_web_user(engine_of(web_client), UserRole.SALES, tenant_id=led.who.caller.tenant_id)
    csrf = sign_in(web_client, sales)
    page = web_client.get("/owners").text
    assert "Add a rule" not in page and "Dry run" not in page
    assert web_client.get("/owners/finance/rules/new").status_code == 403
    data = rule_form(led, led.who.email, csrf_token=csrf)
    assert web_client.post("/owners/finance/rules/new", data=data).status_code == 403
    assert web_client.post("/owners/finance/dry-run", data={"csrf_token": csrf}).status_code == 403
    assert web_client.post("/owners/finance/run", data={"csrf_token": csrf}).status_code == 403
    assert versions(web_client, led.who.caller.tenant_id) == []


def test_dry_run_lists_changes_with_reasons_and_run_writes_them(web_client):
    led = make_ledger(web_client)
    tenant_id, de = led.who.caller.tenant_id, led.ids["de"]
    assert (
        web_client.post("/owners/finance/rules/new", data=rule_form(led, led.who.email)).status_code
        == 303
    )
    hx = {"X-CSRF-Token": led.csrf, "HX-Request": "true"}
    dry = web_client.post("/owners/finance/dry-run", headers=hx)
    assert dry.status_code == 200 and dry.text.lstrip().startswith('<div id="changes"')
    assert "DACH" in dry.text and led.who.email in dry.text and "<caption>Changes" in dry.text
    assert finance_owner(web_client, tenant_id, de) is None
    ran = web_client.post("/owners/finance/run", headers=hx)
    assert ran.status_code == 200 and "Run done: 1 owner(s) changed" in ran.text
    assert finance_owner(web_client, tenant_id, de) == led.who.caller.user_id
    assert finance_owner(web_client, tenant_id, led.ids["us"]) is None


def test_explain_a_customer_and_not_another_tenants(web_client):
    led = make_ledger(web_client)
    web_client.post("/owners/finance/rules/new", data=rule_form(led, led.who.email))
    r = web_client.get(f"/owners?role=finance&customer={led.ids['de']}")
    assert r.status_code == 200 and "The live policy would assign" in r.text
    assert led.who.email in r.text and "DACH" in r.text
    other = make_ledger(web_client)
    sign_in(web_client, led.who)
    r = web_client.get(f"/owners?customer={other.ids['de']}")
    assert r.status_code == 404 and "no customer" in r.text
    assert web_client.get("/owners?customer=abc").status_code == 422


def test_a_rule_is_removed_as_a_new_version_unless_nothing_would_be_left(web_client):
    led = make_ledger(web_client)
    web_client.post("/owners/finance/rules/new", data=rule_form(led, led.who.email))
    delete = {"csrf_token": led.csrf}
    r = web_client.post("/owners/finance/rules/0/delete", data=delete)
    assert r.status_code == 422 and "the policy assigns nobody" in r.text
    second = rule_form(led, led.who.email, name="Everyone else")
    assert web_client.post("/owners/finance/rules/new", data=second).status_code == 303
    assert "Remove this rule" in web_client.get("/owners/finance/rules/0").text
    assert web_client.post("/owners/finance/rules/0/delete", data=delete).status_code == 303
    assert web_client.post("/owners/finance/rules/5/delete", data=delete).status_code == 404
    live = max(versions(web_client, led.who.caller.tenant_id), key=lambda v: v.version)
    assert live.version == 3 and [r["name"] for r in live.config["rules"]] == ["Everyone else"]
    assert live.comment == "removed rule DACH"
