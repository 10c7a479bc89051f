"""Owner assignment against both databases: policies saved and validated, runs, dry runs,
stickiness, locks, inactive users, audit and webhooks, rebalancing, concurrency."""

from __future__ import annotations

import threading
from collections import Counter
from datetime import UTC, date, datetime

import pytest
from sqlalchemy import func, select

from arpolicy.audit import Actor
from arpolicy.kit.db import transaction
from arpolicy.models import (
    AuditEvent,
    Customer,
    OutboxMessage,
    OwnerAssignment,
    UserRole,
    WebhookEndpoint,
)
from arpolicy.ownership.admin import owners_of, save_policy, set_owner
from arpolicy.ownership.config import PolicyError
from arpolicy.ownership.service import assign_customers, run
from tests.fixtures.factories import create_customer, create_document, create_tenant, create_user

AT = datetime(2026, 11, 23, 9, 0, tzinfo=UTC)
AS_OF = date(2026, 11, 23)

DACH_POLICY = {
    "role": "finance",
    "rules": [
        {
            "name": "DACH",
            "when": "language includes (de)",
            "assign": {"strategy": "round_robin", "users": ["team:DACH"]},
        },
        {
            "name": "Enterprise",
            "when": 'segment = "Enterprise"',
            "assign": {
                "strategy": "mapping",
                "field": "sales_owner",
                "map": {"sal@shop.example": "cal@shop.example"},
            },
        },
    ],
    "fallback": {"strategy": "least_loaded", "users": ["role:collector"]},
}


@pytest.fixture
def shop(session):
    t = create_tenant(session)
    people = {
        "ann": create_user(session, t, email="ann@shop.example", team="DACH"),
        "ben": create_user(session, t, email="ben@shop.example", team="DACH"),
        "cal": create_user(session, t, email="cal@shop.example", team="US"),
        "sal": create_user(session, t, email="sal@shop.example", team="US", role=UserRole.SALES),
    }
    actor = Actor(t.id, "test")
    return t, people, actor


def owner(session, customer):
    session.expire(customer)
    return customer.finance_owner_id


def test_a_run_assigns_by_the_first_matching_rule_and_records_why(session, shop):
    t, p, actor = shop
    save_policy(session, t, actor, DACH_POLICY, at=AT)
    de = [create_customer(session, t, language="de") for _ in range(4)]
    ent = create_customer(
        session, t, language="en", segment="Enterprise", sales_owner_id=p["sal"].id
    )
    other = create_customer(session, t, language="en")
    report = run(session, t, actor, role="finance", as_of=AS_OF, at=AT)
    assert (report.customers, len(report.changes), report.kept) == (6, 6, 0)
    assert [owner(session, c) for c in de] == [p["ann"].id, p["ben"].id] * 2
    assert owner(session, ent) == p["cal"].id
    assert owner(session, other) in {p["ann"].id, p["ben"].id, p["cal"].id}
    row = session.scalar(select(OwnerAssignment).where(OwnerAssignment.customer_id == de[0].id))
    assert (row.rule, row.policy_version, row.locked) == ("DACH", 1, False)
    change = next(c for c in report.changes if c.customer_id == de[0].id)
    assert "language de includes (de): yes" in change.reason and change.after == "ann@shop.example"
    events = session.scalars(
        select(AuditEvent).where(
            AuditEvent.tenant_id == t.id, AuditEvent.action == "owner.assigned"
        )
    ).all()
    assert len(events) == 6 and events[0].after == {
        "finance_owner": events[0].after["finance_owner"]
    }


def test_a_second_run_changes_nothing_and_a_dry_run_writes_nothing(session, shop):
    t, _p, actor = shop
    save_policy(session, t, actor, DACH_POLICY, at=AT)
    c = create_customer(session, t, language="de")
    dry = run(session, t, actor, role="finance", as_of=AS_OF, at=AT, dry_run=True)
    assert len(dry.changes) == 1 and owner(session, c) is None
    assert (
        session.scalar(
            select(func.count())
            .select_from(OwnerAssignment)
            .where(OwnerAssignment.tenant_id == t.id)
        )
        == 0
    )
    run(session, t, actor, role="finance", as_of=AS_OF, at=AT)
    again = run(session, t, actor, role="finance", as_of=AS_OF, at=AT)
    assert (len(again.changes), again.kept) == (0, 1)


def test_sticky_until_another_rule_matches(session, shop):
    t, p, actor = shop
    save_policy(session, t, actor, DACH_POLICY, at=AT)
    c = create_customer(session, t, language="de", sales_owner_id=p["sal"].id)
    run(session, t, actor, role="finance", as_of=AS_OF, at=AT)
    first = owner(session, c)
    create_customer(session, t, language="de")  # moves the cursor; c keeps its owner
    run(session, t, actor, role="finance", as_of=AS_OF, at=AT)
    assert owner(session, c) == first
    c.language, c.segment = "en", "Enterprise"
    session.flush()
    report = run(session, t, actor, role="finance", as_of=AS_OF, at=AT, customer_ids=[c.id])
    assert owner(session, c) == p["cal"].id and report.changes[0].rule == "Enterprise"


def test_locked_owner_survives_runs(session, shop):
    t, p, actor = shop
    save_policy(session, t, actor, DACH_POLICY, at=AT)
    c = create_customer(session, t, language="de")
    set_owner(session, t, actor, c.id, "finance", p["cal"].id, locked=True, at=AT)
    report = run(session, t, actor, role="finance", as_of=AS_OF, at=AT)
    assert owner(session, c) == p["cal"].id and report.locked == 1
    info = owners_of(session, t, c.id, as_of=AS_OF)["finance"]
    assert info["locked"] and info["email"] == "cal@shop.example"
    set_owner(session, t, actor, c.id, "finance", p["cal"].id, locked=False, at=AT)
    run(session, t, actor, role="finance", as_of=AS_OF, at=AT)
    assert owner(session, c) in {p["ann"].id, p["ben"].id}


def test_inactive_users_are_skipped_and_gaps_reported(session, shop):
    t, p, actor = shop
    p["ann"].active = p["ben"].active = False
    save_policy(
        session,
        t,
        actor,
        {
            "role": "finance",
            "rules": DACH_POLICY["rules"][:1],
            "fallback": {"strategy": "fixed", "users": ["cal@shop.example"]},
        },
        at=AT,
    )
    c = create_customer(session, t, language="de")
    report = run(session, t, actor, role="finance", as_of=AS_OF, at=AT)
    assert owner(session, c) == p["cal"].id
    assert report.gaps == [{"customer_id": c.id, "gaps": ["DACH: nobody in the pool is active"]}]


def test_least_loaded_by_outstanding(session, shop):
    t, p, actor = shop
    save_policy(
        session,
        t,
        actor,
        {
            "role": "finance",
            "rules": [
                {
                    "name": "ll",
                    "assign": {
                        "strategy": "least_loaded",
                        "by": "outstanding",
                        "users": ["ann@shop.example", "ben@shop.example"],
                    },
                }
            ],
        },
        at=AT,
    )
    big = create_customer(session, t)
    create_document(session, t, big, "9000.00", due_date=date(2026, 12, 1))
    small = [create_customer(session, t) for _ in range(3)]
    for c in small:
        create_document(session, t, c, "100.00", due_date=date(2026, 12, 1))
    run(session, t, actor, role="finance", as_of=AS_OF, at=AT)
    assert owner(session, big) == p["ann"].id
    assert [owner(session, c) for c in small] == [p["ben"].id] * 3


def test_rebalance_evens_a_pool(session, shop):
    t, p, actor = shop
    save_policy(
        session,
        t,
        actor,
        {
            "role": "finance",
            "rules": [
                {
                    "name": "rr",
                    "assign": {
                        "strategy": "round_robin",
                        "users": ["ann@shop.example", "ben@shop.example"],
                    },
                }
            ],
        },
        at=AT,
    )
    cs = [create_customer(session, t, finance_owner_id=p["ann"].id) for _ in range(6)]
    kept = run(session, t, actor, role="finance", as_of=AS_OF, at=AT)
    assert len(kept.changes) == 0  # sticky: imported owners in the pool stay
    moved = run(session, t, actor, role="finance", as_of=AS_OF, at=AT, rebalance_pools=True)
    assert len(moved.changes) == 3
    assert Counter(owner(session, c) for c in cs) == Counter({p["ann"].id: 3, p["ben"].id: 3})


def test_owner_changes_queue_webhooks(session, shop):
    t, _p, actor = shop
    session.add(
        WebhookEndpoint(
            tenant_id=t.id,
            url="https://example.com/h",
            events=["customer.owner_changed"],
            secret="whsec_x",
            active=True,
        )
    )
    save_policy(session, t, actor, DACH_POLICY, at=AT)
    create_customer(session, t, language="de")
    run(session, t, actor, role="finance", as_of=AS_OF, at=AT)
    msgs = session.scalars(select(OutboxMessage).where(OutboxMessage.tenant_id == t.id)).all()
    assert [m.event_type for m in msgs] == ["customer.owner_changed"]
    assert msgs[0].payload["data"]["after"] == "ann@shop.example"


def test_policy_validation_names_every_problem(session, shop):
    t, _, actor = shop
    bad = {
        "role": "finance",
        "rules": [
            {
                "name": "a",
                "when": "langauge includes (de)",
                "assign": {"strategy": "fixed", "users": ["nobody@x.example"]},
            },
            {"name": "b", "assign": {"strategy": "from_field", "field": "cf.nope"}},
        ],
    }
    with pytest.raises(PolicyError) as exc:
        save_policy(session, t, actor, bad, at=AT)
    wheres = [e["where"] for e in exc.value.errors]
    assert wheres[0].startswith("rules[0].when") and "rules[0].assign.users" in wheres
    assert "rules[1].assign.field" in wheres
    assert "did you mean language" in exc.value.errors[0]["fix"]


def test_saving_versions_and_audits(session, shop):
    t, _, actor = shop
    v1 = save_policy(session, t, actor, DACH_POLICY, at=AT)
    v2 = save_policy(
        session,
        t,
        actor,
        {**DACH_POLICY, "rules": DACH_POLICY["rules"][:1]},
        at=AT,
        comment="drop Enterprise",
    )
    assert (v1.version, v2.version) == (1, 2)
    ev = session.scalars(
        select(AuditEvent).where(
            AuditEvent.tenant_id == t.id, AuditEvent.action == "assignment_policy.saved"
        )
    ).all()
    assert len(ev) == 2 and ev[1].before["version"] == 1 and ev[1].reason == "drop Enterprise"


@pytest.mark.parametrize("strategy", ["round_robin", "least_loaded"])
def test_fifty_concurrent_creations_over_five_users_get_ten_each(db_engine, strategy):
    with transaction(db_engine) as s:
        t = create_tenant(s)
        users = [create_user(s, t, email=f"c{i}-{t.slug}@x.example", team="P") for i in range(5)]
        actor = Actor(t.id, "test")
        save_policy(
            s,
            t,
            actor,
            {
                "role": "finance",
                "rules": [{"name": "pool", "assign": {"strategy": strategy, "users": ["team:P"]}}],
            },
            at=AT,
        )
        tenant_id = t.id
    errors: list[BaseException] = []
    start = threading.Barrier(10)

    def create(n: int) -> None:
        try:
            start.wait()
            for _ in range(n):
                with transaction(db_engine) as s:
                    from arpolicy.models import Tenant

                    tenant = s.get(Tenant, tenant_id)
                    c = create_customer(s, tenant)
                    assign_customers(
                        s, tenant, Actor(tenant_id, "test"), [c.id], as_of=AS_OF, at=AT
                    )
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)

    threads = [threading.Thread(target=create, args=(5,)) for _ in range(10)]
    for th in threads:
        th.start()
    for th in threads:
        th.join()
    assert not errors, errors
    with transaction(db_engine, write=False) as s:
        counts = Counter(
            s.scalars(select(Customer.finance_owner_id).where(Customer.tenant_id == tenant_id))
        )
    assert counts == Counter({u.id: 10 for u in users})
