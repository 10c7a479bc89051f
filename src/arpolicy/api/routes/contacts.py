"""Contacts: the people at a customer who receive reminders."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Depends
from pydantic import Field
from sqlalchemy import select
from sqlalchemy.orm import Session

from arpolicy.api import ledger
from arpolicy.api.context import Api, require
from arpolicy.api.listing import contains, equal, page, sort_by
from arpolicy.api.schemas import Input, NotNull, Output, Page
from arpolicy.api.types import (
    Cursor,
    Email,
    ExternalId,
    ExternalKey,
    Language,
    Limit,
    PathId,
    QueryId,
    QueryText,
    RefId,
    Text40,
    Text200,
)
from arpolicy.ledger.writing.resources import CONTACTS
from arpolicy.models import Contact

router = APIRouter(prefix="/contacts", tags=["contacts"])


class ContactFields(Input):
    customer_id: Annotated[RefId | None, NotNull] = None
    name: Text200 | None = None
    email: Email | None = Field(None, description="Stored lower case.")
    phone: Text40 | None = None
    language: Language | None = None
    is_billing: bool | None = Field(None, description="Receives invoices and reminders.")
    is_primary: bool | None = None
    bounced: bool | None = None
    unsubscribed: bool | None = None


class ContactCreate(ContactFields):
    external_id: ExternalId
    customer_id: RefId


class ContactUpdate(ContactFields):
    """Fields to change; ``external_id`` cannot change."""

    external_id: ExternalKey = None


class ContactRead(Output):
    id: int
    external_id: str
    customer_id: int
    name: str | None
    email: str | None
    phone: str | None
    language: str | None
    is_billing: bool
    is_primary: bool
    bounced: bool
    unsubscribed: bool
    created_at: datetime | None
    updated_at: datetime | None


def read(c: Contact, base: str = "") -> ContactRead:
    return ContactRead.model_validate(c)


SORTABLE = {
    "id": Contact.id,
    "external_id": Contact.external_id,
    "name": Contact.name,
    "email": Contact.email,
}


@router.get("", response_model=Page[ContactRead])
def list_contacts(
    api: Api = Depends(require("ledger:read")),
    customer_id: QueryId = None,
    external_id: QueryText = None,
    email: QueryText = None,
    q: QueryText = None,
    is_billing: bool | None = None,
    is_primary: bool | None = None,
    cursor: Cursor = None,
    limit: Limit = 50,
    sort: str | None = sort_by(SORTABLE),
) -> Any:
    """Contacts, filtered (``q``: part of the name or e-mail); sort by id, external_id, name
    or email."""
    c = Contact
    stmt = equal(
        select(c).where(c.tenant_id == api.tenant_id),
        {
            c.customer_id: customer_id,
            c.external_id: external_id,
            c.email: email.lower() if email else None,
            c.is_billing: is_billing,
            c.is_primary: is_primary,
        },
    )
    if q:
        stmt = stmt.where(contains(c.name, c.email, text=q))
    with api.read() as session:
        return page(
            session,
            stmt,
            c,
            ContactRead,
            read,
            sort=sort,
            cursor=cursor,
            limit=limit,
            sortable=SORTABLE,
        )


@router.get("/{contact_id}", response_model=ContactRead)
def read_contact(contact_id: PathId, api: Api = Depends(require("ledger:read"))) -> Any:
    with api.read() as session:
        return read(ledger.get_or_404(session, api, CONTACTS, contact_id))


@router.post("", status_code=201, response_model=ContactRead)
def create_contact(body: ContactCreate, api: Api = Depends(require("ledger:write"))) -> Any:
    """Create a contact (409 if its external_id exists)."""

    def work(session: Session) -> Any:
        return read(ledger.create(session, api, CONTACTS, body))

    return api.created(work)


@router.patch("/{contact_id}", response_model=ContactRead)
def update_contact(
    contact_id: PathId, body: ContactUpdate, api: Api = Depends(require("ledger:write"))
) -> Any:
    with api.write() as session:
        return read(ledger.update(session, api, CONTACTS, contact_id, body))
