"""A small ledger for the rule builder's and the owners screen's server-side tests."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from fastapi.testclient import TestClient
from sqlalchemy import Engine

from arpolicy.kit.db import transaction
from arpolicy.models import CustomFieldDefinition, Tenant, UserRole
from arpolicy.models.tenant import FieldEntity, FieldType
from arpolicy.tenancy.rls import scope_tenant
from tests.fixtures.factories import create_customer, create_document
from tests.web.signin_support import WebUser, make_web_user, sign_in


@dataclass
class Ledger:
    who: WebUser
    csrf: str
    ids: dict[str, int]


def engine_of(client: TestClient) -> Engine:
    engine: Engine = client.app.state.engine  # type: ignore[attr-defined]
    return engine


def make_ledger(client: TestClient, role: UserRole = UserRole.ADMIN) -> Ledger:
    """A tenant with a user of ``role`` signed in, a custom field ``cf.tier`` (gold,
    silver), a German and a US customer, an old and a new invoice."""
    engine = engine_of(client)
    who = make_web_user(engine, role)
    with transaction(engine) as s:
        scope_tenant(s, who.caller.tenant_id)
        t = s.get(Tenant, who.caller.tenant_id)
        assert t is not None
        s.add(
            CustomFieldDefinition(
                tenant_id=t.id,
                entity=FieldEntity.CUSTOMER,
                key="tier",
                label="Tier",
                type=FieldType.ENUM,
                options=["gold", "silver"],
            )
        )
        de = create_customer(s, t, name="Kunde GmbH", country="DE", language="de")
        us = create_customer(s, t, name="Client Inc", country="US")
        old = create_document(s, t, de, "812.40", due_date=date(2026, 9, 1))
        new = create_document(s, t, us, "100.00", due_date=date(2026, 12, 20))
        ids = {"de": de.id, "us": us.id, "old": old.id, "new": new.id}
    return Ledger(who, sign_in(client, who), ids)


def tree(level: str = "invoice", prefix: str = "rule", **leaves: dict[str, str]) -> dict[str, str]:
    """The builder's fields for an ``all`` of the given leaves (keyed by child index)."""
    data = {"rb_prefix": prefix, f"{prefix}.level": level, f"{prefix}.t.kind": "all"}
    data[f"{prefix}.text"] = ""
    data[f"{prefix}.synced"] = ""
    for index, leaf in leaves.items():
        p = f"{prefix}.t.{index.removeprefix('c')}"
        data[f"{p}.kind"] = "leaf"
        data |= {f"{p}.{k}": v for k, v in leaf.items()}
    return data
