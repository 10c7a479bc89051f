"""Custom field definitions: typed fields a tenant adds to customers or documents. Their
values go in the records' ``custom_fields`` (and the ``cf.<key>`` columns of imports).

The key is (entity, key). Changing a definition does not rewrite stored values: a record
whose value no longer fits is refused at its next update until the value is corrected.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Depends
from pydantic import Field, StringConstraints
from sqlalchemy import select
from sqlalchemy.orm import Session

from arpolicy.api import ledger
from arpolicy.api.context import Api, require
from arpolicy.api.listing import equal, page, sort_by
from arpolicy.api.schemas import Input, NotNull, Output, Page
from arpolicy.api.types import (
    STRIPPED,
    Currency,
    Cursor,
    CustomKey,
    Limit,
    PathId,
    Text200,
)
from arpolicy.ledger.writing.resources import FIELDS
from arpolicy.models import CustomFieldDefinition, FieldEntity, FieldType

router = APIRouter(prefix="/custom-fields", tags=["custom fields"])

Option = Annotated[
    str,
    StringConstraints(
        min_length=1, max_length=100, pattern=rf"^[^|\x00]*[^|\x00{STRIPPED}][^|\x00]*$"
    ),
]
Options = Annotated[list[Option], Field(min_length=1, max_length=100)]


class FieldCreate(Input):
    entity: FieldEntity
    key: CustomKey = Field(description="a-z, 0-9 and _, starting with a letter.")
    label: Text200
    type: FieldType
    options: Options | None = Field(None, description="Allowed values of an enum field.")
    currency: Currency | None = Field(None, description="Fixed currency of a money field.")
    required: bool | None = Field(None, description="Every record must give a value.")


class FieldUpdate(Input):
    """Fields to change; ``entity`` and ``key`` cannot change."""

    entity: Annotated[FieldEntity | None, NotNull] = None
    key: Annotated[CustomKey | None, NotNull] = None
    label: Annotated[Text200 | None, NotNull] = None
    type: Annotated[FieldType | None, NotNull] = None
    options: Options | None = None
    currency: Currency | None = None
    required: bool | None = None


class FieldRead(Output):
    id: int
    entity: FieldEntity
    key: str
    label: str
    type: FieldType
    options: list[str] | None
    currency: str | None
    required: bool
    created_at: datetime | None
    updated_at: datetime | None


def read(f: CustomFieldDefinition, base: str = "") -> FieldRead:
    return FieldRead.model_validate(f)


SORTABLE = {"id": CustomFieldDefinition.id, "key": CustomFieldDefinition.key}


@router.get("", response_model=Page[FieldRead])
def list_fields(
    api: Api = Depends(require("ledger:read")),
    entity: FieldEntity | None = None,
    type: FieldType | None = None,
    cursor: Cursor = None,
    limit: Limit = 50,
    sort: str | None = sort_by(SORTABLE),
) -> Any:
    """Custom field definitions; sort by id or key."""
    f = CustomFieldDefinition
    stmt = equal(select(f).where(f.tenant_id == api.tenant_id), {f.entity: entity, f.type: type})
    with api.read() as session:
        return page(
            session,
            stmt,
            f,
            FieldRead,
            read,
            sort=sort,
            cursor=cursor,
            limit=limit,
            sortable=SORTABLE,
        )


@router.get("/{field_id}", response_model=FieldRead)
def read_field(field_id: PathId, api: Api = Depends(require("ledger:read"))) -> Any:
    with api.read() as session:
        return read(ledger.get_or_404(session, api, FIELDS, field_id))


@router.post("", status_code=201, response_model=FieldRead)
def create_field(body: FieldCreate, api: Api = Depends(require("ledger:write"))) -> Any:
    """Define a custom field (409 if the entity has one with this key)."""

    def work(session: Session) -> Any:
        return read(ledger.create(session, api, FIELDS, body))

    return api.created(work)


@router.patch("/{field_id}", response_model=FieldRead)
def update_field(
    field_id: PathId, body: FieldUpdate, api: Api = Depends(require("ledger:write"))
) -> Any:
    with api.write() as session:
        return read(ledger.update(session, api, FIELDS, field_id, body))
