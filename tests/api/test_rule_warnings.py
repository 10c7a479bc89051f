"""Warnings over HTTP (issue 12, item 10): a rule unknown for many of the records it reads is
valid and saved, and the response says so in ``warnings`` (validate, preview, saving a
cycle or an assignment policy); owners named by name; text compared case-insensitively."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from arpolicy.kit.db import transaction
from arpolicy.models import AttemptStatus, Tenant
from tests.fixtures.factories import create_attempt, create_customer, create_document, create_user

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")
UNKNOWN = "not (last_attempt_status = failure)"
FIXED = "last_attempt_status is empty or not last_attempt_status = failure"
WARNING_KEYS = ["where", "level", "field", "count", "total", "share", "empty", "message", "fix"]


@pytest.fixture
def shop(api_engine, caller):
    """Five customers in Zürich, one with a failed card payment; Anna Berg owns two."""
    me = caller()
    with transaction(api_engine) as s:
        t = s.get(Tenant, me.tenant_id)
        anna = create_user(s, t, email=f"anna-{t.slug}@shop.example", name="Anna Berg")
        ids = []
        for i in range(5):
            c = create_customer(
                s, t, region="Zürich", language="de", finance_owner_id=anna.id if i < 2 else None
            )
            create_document(s, t, c, "50.00")
            ids.append(c.id)
        create_attempt(
            s, t, c, status=AttemptStatus.FAILURE, attempted_at=datetime(2026, 11, 20, tzinfo=UTC)
        )
    return me, ids, anna.email


def test_validate_and_preview_warn_about_a_rule_unknown_for_most_records(client, shop):
    me, _, _ = shop
    body = {"rule": UNKNOWN, "level": "payment"}
    r = client.post("/v1/rules/validate", headers=me.headers, json=body)
    assert r.status_code == 200 and r.json()["valid"] is True
    (w,) = r.json()["warnings"]
    assert list(w) == WARNING_KEYS
    assert (w["where"], w["level"], w["field"], w["count"], w["total"], w["share"]) == (
        "",
        "payment",
        "last_attempt_status",
        4,
        5,
        0.8,
    )
    assert w["empty"] == [{"field": "last_attempt_status", "count": 4}]
    assert w["message"].startswith("the rule is unknown for 4 of 5 customers (80%)")
    assert f"write: {FIXED};" in w["fix"]
    preview = client.post("/v1/rules/preview", headers=me.headers, json=body).json()
    assert preview["matches"] == 0 and preview["warnings"] == [w]
    fixed = client.post("/v1/rules/preview", headers=me.headers, json={**body, "rule": FIXED})
    assert fixed.json()["matches"] == 4 and fixed.json()["warnings"] == []


def test_saving_a_cycle_warns_and_saves(client, shop):
    me, _, _ = shop
    cycle = {
        "name": "Zurich",
        "customer": "region = ZURICH or region = zürich",
        "payment": UNKNOWN,
        "reminders": [{"name": "firm", "template": "firm"}],
    }
    r = client.put("/v1/engagement/cycles/Zurich", headers=me.headers, json={"cycle": cycle})
    assert r.status_code == 200 and r.json()["version"] == 1
    (w,) = r.json()["warnings"]
    assert (w["where"], w["count"], w["total"]) == ("payment", 4, 5)
    assert w["message"].startswith("the payment rule is unknown for 4 of 5 customers")
    r = client.put(
        "/v1/engagement/cycles/Zurich",
        headers=me.headers,
        json={"cycle": {**cycle, "payment": FIXED}},
    )
    assert r.status_code == 200 and r.json()["version"] == 2 and r.json()["warnings"] == []
    assert "warnings" not in client.get("/v1/engagement/cycles/Zurich", headers=me.headers).json()


def test_saving_a_policy_warns_and_saves(client, shop):
    me, _, anna = shop
    policy = {
        "role": "finance",
        "rules": [
            {
                "name": "not DE",
                "when": "country != DE",
                "assign": {"strategy": "fixed", "users": [anna]},
            },
            {
                "name": "keep",
                "when": "finance_owner = Anna Berg",
                "assign": {"strategy": "fixed", "users": [anna]},
            },
        ],
    }
    r = client.put("/v1/assignment/policies/finance", headers=me.headers, json={"policy": policy})
    assert r.status_code == 200 and r.json()["version"] == 1
    w, owner = r.json()["warnings"]
    assert (w["where"], w["level"], w["field"], w["count"], w["total"]) == (
        "rules[0].when",
        "customer",
        "country",
        5,
        5,
    )
    assert w["message"].startswith("the rule at rules[0].when is unknown for 5 of 5 customers")
    # the customers without an owner: "finance_owner is not empty and ..." says it is meant
    assert (owner["where"], owner["field"], owner["count"]) == ("rules[1].when", "finance_owner", 3)
    assert 'finance_owner is not empty and finance_owner = "Anna Berg"' in owner["fix"]


def test_an_unknown_owner_is_a_problem_naming_the_nearest(client, shop):
    me, _, anna = shop
    r = client.post(
        "/v1/rules/validate",
        headers=me.headers,
        json={"rule": "finance_owner = Ana Berg", "level": "customer"},
    )
    (p,) = r.json()["problems"]
    assert p["what"] == "no user 'Ana Berg' in this tenant"
    assert p["fix"].startswith(f"did you mean Anna Berg ({anna})?")
    r = client.post(
        "/v1/rules/preview",
        headers=me.headers,
        json={"rule": f"finance_owner = {anna.upper()}", "level": "customer"},
    )
    assert r.json()["matches"] == 2
