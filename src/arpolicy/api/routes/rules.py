"""The rule language over HTTP: the field catalogue, validation, and preview (what a rule
matches as of a date, with the explanation for one record)."""

from __future__ import annotations

from datetime import date
from typing import Any, Literal

from fastapi import APIRouter, Depends, Query
from pydantic import BaseModel, Field
from sqlalchemy import select
from sqlalchemy.orm import Session

from arpolicy.api.context import Api, require
from arpolicy.api.schemas import Input, RuleWarning
from arpolicy.api.types import Day
from arpolicy.kit.clock import local_today
from arpolicy.ledger.catalogue import tenant_catalogue
from arpolicy.ledger.selection.preview import preview, warnings_of
from arpolicy.models import Tenant
from arpolicy.rules import (
    FieldSet,
    Rule,
    RuleError,
    check,
    intake,
    to_json,
    to_text,
)

router = APIRouter(prefix="/rules", tags=["rules"])
LevelName = Literal["customer", "invoice", "payment"]


def tenant_fields(session: Session, tenant_id: int, level: str) -> tuple[Tenant, FieldSet]:
    tenant = session.scalar(select(Tenant).where(Tenant.id == tenant_id))
    assert tenant is not None
    return tenant, tenant_catalogue(session, tenant).level(level)


class RuleInput(Input):
    rule: str | dict[str, Any] = Field(
        description="The rule as text (`balance > 500 USD and not disputed`) or in its JSON form.",
        examples=["balance > 500 USD and due_date < 30 days ago and not disputed"],
    )
    level: LevelName = "invoice"


class ProblemItem(BaseModel):
    path: str
    what: str
    fix: str
    line: int | None = None
    column: int | None = None


class Validation(BaseModel):
    valid: bool
    level: LevelName
    text: str | None = Field(None, description="The canonical text form (when valid).")
    json_form: Any = Field(None, alias="json", description="The JSON form (when valid).")
    problems: list[ProblemItem] = []
    warnings: list[RuleWarning] = Field(
        [], description="A valid rule unknown for many of the tenant's records, as of today."
    )

    model_config = {"populate_by_name": True}


class FieldInfo(BaseModel):
    name: str
    label: str
    type: str
    operators: list[str]
    nullable: bool
    values: list[str]
    doc: str


def read_rule(value: str | dict[str, Any], fields: FieldSet) -> Rule:
    """Read (text or JSON, :func:`arpolicy.rules.intake.read`) and check a rule; RuleError
    lists every problem."""
    return check(intake.read(value), fields)


@router.get("/fields", response_model=list[FieldInfo])
def list_fields(
    level: LevelName = Query("invoice"), api: Api = Depends(require("rules:read"))
) -> Any:
    """The fields a rule of ``level`` can use (the tenant's custom fields included)."""
    with api.read() as session:
        _, fields = tenant_fields(session, api.tenant_id, level)
    return [
        FieldInfo(
            name=f.name,
            label=f.label,
            type=str(f.type),
            operators=list(f.operators),
            nullable=f.nullable,
            values=list(f.values),
            doc=f.doc,
        )
        for f in fields.values()
    ]


@router.post("/validate", response_model=Validation, response_model_by_alias=True)
def validate_rule(body: RuleInput, api: Api = Depends(require("rules:read"))) -> Any:
    """Check a rule against the tenant's fields. A well-formed request answers 200 either
    way: ``valid`` false lists every problem with where (JSON path, line and column), what,
    and how to fix it. Valid rules come back in canonical text and JSON form."""
    with api.read() as session:
        tenant, fields = tenant_fields(session, api.tenant_id, body.level)
        try:
            rule = read_rule(body.rule, fields)
        except RuleError as exc:
            return Validation(
                valid=False,
                level=body.level,
                problems=[ProblemItem(**p.to_json()) for p in exc.problems],
            )
        warnings = _warnings(session, tenant, rule, fields, local_today(api.clock, tenant.timezone))
    return Validation(
        valid=True, level=body.level, text=to_text(rule), json_form=to_json(rule), warnings=warnings
    )


def _warnings(
    session: Session, tenant: Tenant, rule: Rule, fields: FieldSet, on: date
) -> list[RuleWarning]:
    return [RuleWarning.of(w) for w in warnings_of(session, tenant, rule, fields, on)]


class PreviewInput(RuleInput):
    as_of: Day | None = Field(
        None, description="Evaluation date (default: today in the tenant's zone)."
    )
    limit: int = Field(100, ge=0, le=10_000, description="Ids to list (0: count only).")
    explain_id: int | None = Field(
        None,
        ge=1,
        le=2**31 - 1,
        description="Explain the verdict for this record (a document id at invoice level, "
        "a customer id otherwise).",
    )


class Preview(BaseModel):
    level: LevelName
    as_of: date
    rule: dict[str, Any] = Field(
        description="The bound rule: its constants, how relative dates resolved, and the "
        "exchange rates money literals compared with (`rates`)."
    )
    text: str
    matches: int
    ids: list[int] = Field(
        description="Matching ids (documents at invoice level, customers otherwise), first `limit`."
    )
    outcomes: list[dict[str, Any]] | None = Field(
        None,
        description="For a decision table: per rule (`rule`, 1-based; null for `otherwise`), "
        "its outcome (`then`), how many records it decides (`matches`: with `first`, those no "
        "earlier rule matched) and their first `limit` ids.",
    )
    explanation: dict[str, Any] | None = None
    warnings: list[RuleWarning] = Field(
        [], description="The rule is unknown for many of the records it reads, as of `as_of`."
    )


@router.post("/preview", response_model=Preview)
def preview_rule(body: PreviewInput, api: Api = Depends(require("rules:read"))) -> Any:
    """What the rule selects as of a date, in the database, with the explanation of one
    record (each condition's actual value and verdict). An invalid rule is a 422 listing
    every problem."""
    with api.read() as session:
        tenant, fields = tenant_fields(session, api.tenant_id, body.level)
        rule = read_rule(body.rule, fields)
        on = body.as_of or local_today(api.clock, tenant.timezone)
        found = preview(
            session, tenant, fields, rule, as_of=on, limit=body.limit, explain_id=body.explain_id
        )
    return Preview(
        level=body.level,
        as_of=on,
        rule=found.bound.to_json(),
        text=to_text(rule),
        matches=found.matches,
        ids=found.ids,
        outcomes=found.outcomes,
        explanation=found.explanation,
        warnings=[RuleWarning.of(w) for w in found.warnings],
    )
