"""The tenant's field catalogue: the standard fields, its custom fields, and its users (the
names and e-mails an owner literal may use, arpolicy.rules.people). Every surface and
policy that checks or runs a rule builds the catalogue here."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from arpolicy.ledger.fields import catalogue_for
from arpolicy.models import CustomFieldDefinition, Tenant, User
from arpolicy.rules import Catalogue


def tenant_catalogue(session: Session, tenant: Tenant) -> Catalogue:
    defs = session.scalars(
        select(CustomFieldDefinition).where(CustomFieldDefinition.tenant_id == tenant.id)
    ).all()
    users = session.execute(select(User.email, User.name).where(User.tenant_id == tenant.id))
    return catalogue_for(
        tenant.base_currency,
        tenant.ageing_bounds,
        defs,
        users=[(email, name) for email, name in users],
    )
