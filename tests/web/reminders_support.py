"""A tenant for the reminders screens' tests: demo customers, the example cycles and
settings (docs/engagement.md), a run's emails, and users of each role with a password."""

from __future__ import annotations

import uuid
from dataclasses import dataclass

from sqlalchemy import Engine, func, select

from arpolicy.audit import Actor
from arpolicy.cli.demo import install_example
from arpolicy.engagement import service
from arpolicy.engagement.inbound import receive
from arpolicy.kit.db import transaction
from arpolicy.ledger.demo import generate, write
from arpolicy.ledger.tenants import get_tenant
from arpolicy.models import (
    AuditEvent,
    Customer,
    Email,
    EngagementCycle,
    EngagementTask,
    Tenant,
    UserRole,
)
from arpolicy.tenancy.rls import scope_tenant
from tests.api.conftest import NOW
from tests.web.signin_support import WebUser, make_web_user


@dataclass
class Shop:
    tenant_id: int
    slug: str
    emails: int
    """Emails the run wrote."""


def make_shop(engine: Engine, customers: int = 12, *, run: bool = True) -> Shop:
    """A demo tenant with the example cycles; ``run``: today's run written (emails)."""
    slug = f"rem-{uuid.uuid4().hex[:8]}"
    today = NOW.date()
    with transaction(engine) as db:
        write(db, slug, generate(customers, 7, today))
        install_example(db, slug, today)
    with transaction(engine) as db:
        tenant = get_tenant(db, slug)
        scope_tenant(db, tenant.id)
        written = 0
        if run:
            report = service.run(db, tenant, Actor(tenant.id, "system:test"), as_of=today, now=NOW)
            written = report.written
        return Shop(tenant.id, slug, written)


def user(engine: Engine, shop: Shop, role: UserRole = UserRole.ADMIN) -> WebUser:
    return make_web_user(engine, role, tenant_id=shop.tenant_id)


def cycle_config(engine: Engine, shop: Shop, name: str) -> tuple[int, dict]:  # type: ignore[type-arg]
    with transaction(engine, write=False) as db:
        scope_tenant(db, shop.tenant_id)
        row = db.scalar(
            select(EngagementCycle).where(
                EngagementCycle.tenant_id == shop.tenant_id, EngagementCycle.name == name
            )
        )
        assert row is not None
        return row.version, dict(row.config)


def audits(engine: Engine, shop: Shop, action: str) -> list[str]:
    """The actors of the tenant's audit events of ``action``, oldest first."""
    with transaction(engine, write=False) as db:
        scope_tenant(db, shop.tenant_id)
        found = db.scalars(
            select(AuditEvent.actor)
            .where(AuditEvent.tenant_id == shop.tenant_id, AuditEvent.action == action)
            .order_by(AuditEvent.id)
        )
        return list(found)


def first_email(engine: Engine, shop: Shop) -> Email:
    with transaction(engine, write=False) as db:
        scope_tenant(db, shop.tenant_id)
        found = db.scalar(
            select(Email).where(Email.tenant_id == shop.tenant_id).order_by(Email.id).limit(1)
        )
        assert found is not None
        db.expunge(found)
        return found


def count_emails(engine: Engine, shop: Shop) -> int:
    with transaction(engine, write=False) as db:
        scope_tenant(db, shop.tenant_id)
        n = db.scalar(
            select(func.count()).select_from(Email).where(Email.tenant_id == shop.tenant_id)
        )
        return int(n or 0)


def a_customer(engine: Engine, shop: Shop, with_email: bool = False) -> tuple[int, str, str]:
    """(id, external id, name) of a customer of the shop (one that got an email)."""
    with transaction(engine, write=False) as db:
        scope_tenant(db, shop.tenant_id)
        stmt = select(Customer.id, Customer.external_id, Customer.name).where(
            Customer.tenant_id == shop.tenant_id
        )
        if with_email:
            stmt = stmt.where(Customer.id.in_(select(Email.customer_id)))
        found = db.execute(stmt.order_by(Customer.id).limit(1)).one()
        return found[0], found[1], found[2]


def reply_to(engine: Engine, shop: Shop, email: Email) -> None:
    """The customer answers ``email`` (an inbound reply matched by In-Reply-To)."""
    raw = (
        "From: Payer <payer@customer.example>\r\n"
        "To: ar@demo.example\r\n"
        f"Subject: Re: {email.subject}\r\n"
        "Message-ID: <reply-1@customer.example>\r\n"
        f"In-Reply-To: {email.message_id}\r\n"
        "\r\nWe pay on Friday.\r\n"
    ).encode()
    with transaction(engine) as db:
        scope_tenant(db, shop.tenant_id)
        tenant = db.get(Tenant, shop.tenant_id)
        assert tenant is not None
        receive(db, tenant, raw, at=NOW, actor=Actor(shop.tenant_id, "system:test"))


def add_task(engine: Engine, shop: Shop, customer_id: int) -> int:
    with transaction(engine) as db:
        scope_tenant(db, shop.tenant_id)
        task = EngagementTask(
            tenant_id=shop.tenant_id,
            customer_id=customer_id,
            key=f"task:{uuid.uuid4().hex}",
            kind="no_address",
            cycle="Standard",
            reminder="firm",
            detail="nobody to email: call the customer",
            due_on=NOW.date(),
        )
        db.add(task)
        db.flush()
        return task.id
