"""Engagement cycles over HTTP: cycles (validated, versioned, audited), the sending
settings, runs (dry by default), forecasts and backtests. docs/engagement.md explains the
cycle format; the emails themselves are under ``/v1/emails``."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Path, Response
from pydantic import BaseModel, Field
from sqlalchemy import select
from sqlalchemy.orm import Session

from arpolicy.api.context import Api, require
from arpolicy.api.schemas import Input, RuleWarning
from arpolicy.api.types import Day
from arpolicy.engagement import admin, service
from arpolicy.engagement.config import NAME, Cycle, Settings
from arpolicy.engagement.repository import stored_cycles
from arpolicy.exceptions import ValidationError
from arpolicy.kit.clock import local_today
from arpolicy.models import Tenant

router = APIRouter(prefix="/engagement", tags=["engagement"])
CycleName = Annotated[str, Path(max_length=100, pattern=NAME, description="The cycle's name.")]


class CycleRead(BaseModel):
    name: str
    status: str
    priority: int
    version: int
    config: dict[str, Any]
    updated_by: str
    updated_at: datetime | None


class CycleSaved(CycleRead):
    warnings: list[RuleWarning] = Field(
        description="Rules of the cycle unknown for many of the records they read (advice)."
    )


class CycleSave(Input):
    cycle: Cycle


class StatusSet(Input):
    status: Literal["draft", "test", "live"]


class SettingsSave(Input):
    settings: Settings


class RunRequest(Input):
    as_of: Day | None = Field(default=None, description="Default: today in the tenant's zone.")
    dry_run: bool = Field(
        default=True, description="List every email it would send; write nothing."
    )
    cycles: list[str] | None = Field(
        default=None,
        max_length=100,
        description="Only these cycles (drafts included); default: every live and test cycle.",
    )


class ForecastRequest(Input):
    days: int = Field(default=14, ge=1, le=366)
    cycles: list[str] | None = Field(default=None, max_length=100)


class BacktestRequest(Input):
    since: Day = Field(alias="from")
    until: Day = Field(alias="to")
    cycles: list[str] | None = Field(default=None, max_length=100)


def _tenant(session: Session, api: Api) -> Tenant:
    tenant = session.scalar(select(Tenant).where(Tenant.id == api.tenant_id))
    assert tenant is not None
    return tenant


def _read(row: Any) -> CycleRead:
    return CycleRead(
        name=row.name,
        status=row.status.value,
        priority=row.priority,
        version=row.version,
        config=row.config,
        updated_by=row.updated_by,
        updated_at=row.updated_at,
    )


@router.get("/cycles", response_model=list[CycleRead])
def list_cycles(api: Api = Depends(require("ledger:read"))) -> Any:
    """Every cycle, by priority."""
    with api.read() as session:
        return [_read(s.row) for s in stored_cycles(session, _tenant(session, api))]


@router.get("/cycles/{name}", response_model=CycleRead)
def read_cycle(name: CycleName, api: Api = Depends(require("ledger:read"))) -> Any:
    with api.read() as session:
        return _read(admin.get_cycle(session, _tenant(session, api), name))


@router.put("/cycles/{name}", response_model=CycleSaved)
def save_cycle(
    name: CycleName, body: CycleSave, api: Api = Depends(require("policies:manage"))
) -> Any:
    """Create or replace the cycle: its rules are checked against the fields of their level
    and its templates rendered against a sample; every problem is listed in a 422. A rule
    unknown for many of the records it reads comes back in ``warnings``."""
    if body.cycle.name != name:
        raise ValidationError(
            f"the cycle is named {body.cycle.name!r}, the path says {name!r}",
            where="body.cycle.name",
            fix="make them agree",
        )
    with api.write() as session:
        tenant = _tenant(session, api)
        row = admin.save_cycle(
            session,
            tenant,
            api.actor,
            body.cycle.model_dump(mode="json", exclude_none=True),
            at=api.now(),
        )
        found = admin.cycle_warnings(
            session, tenant, row.config, as_of=local_today(api.clock, tenant.timezone)
        )
        return CycleSaved(**_read(row).model_dump(), warnings=[RuleWarning.of(w) for w in found])


@router.post("/cycles/{name}/status", response_model=CycleRead)
def set_status(
    name: CycleName, body: StatusSet, api: Api = Depends(require("policies:manage"))
) -> Any:
    """Draft (not run), test (emails go to the internal test address) or live."""
    with api.write() as session:
        return _read(
            admin.set_status(
                session, _tenant(session, api), api.actor, name, body.status, at=api.now()
            )
        )


@router.delete("/cycles/{name}", status_code=204)
def delete_cycle(name: CycleName, api: Api = Depends(require("policies:manage"))) -> Response:
    """Delete a cycle that never sent an email (one with history can only go to draft)."""
    with api.write() as session:
        admin.delete_cycle(session, _tenant(session, api), api.actor, name, at=api.now())
    return Response(status_code=204)


@router.get("/settings", response_model=Settings)
def read_settings(api: Api = Depends(require("ledger:read"))) -> Any:
    with api.read() as session:
        return admin.settings_of(session, _tenant(session, api))


@router.put("/settings", response_model=Settings)
def save_settings(body: SettingsSave, api: Api = Depends(require("policies:manage"))) -> Any:
    """Daily cap, quiet days, pauses, sender and test addresses (audited)."""
    with api.write() as session:
        return admin.save_settings(
            session,
            _tenant(session, api),
            api.actor,
            body.settings.model_dump(mode="json"),
            at=api.now(),
        )


@router.post("/runs")
def run_cycles(body: RunRequest, api: Api = Depends(require("ledger:read"))) -> Any:
    """Run the cycles once as of a day. A dry run (the default) lists every email it would
    send with the reason; a real run (``emails:send``) writes them to the outbox, where
    the worker sends them. Runs are idempotent: a second run the same day adds nothing."""
    if not body.dry_run:
        api.require("emails:send")

    def work(session: Session) -> Any:
        tenant = _tenant(session, api)
        on = body.as_of or local_today(api.clock, tenant.timezone)
        return service.run(
            session,
            tenant,
            api.actor,
            as_of=on,
            now=api.now(),
            dry_run=body.dry_run,
            cycles=body.cycles,
        ).to_json()

    if body.dry_run:
        with api.read() as session:
            return work(session)
    return api.created(work, status=200)


@router.post("/forecast")
def forecast_cycles(body: ForecastRequest, api: Api = Depends(require("ledger:read"))) -> Any:
    """What the live and test cycles will send in the next ``days`` days, per day it goes
    out (the send window's next opening) and per cycle, assuming nothing is paid meanwhile;
    tasks (customers with nobody to email) apart, on the day they are created."""
    with api.read() as session:
        tenant = _tenant(session, api)
        return admin.forecast(
            session,
            tenant,
            start=local_today(api.clock, tenant.timezone),
            days=body.days,
            now=api.now(),
            cycles=body.cycles,
        )


@router.post("/backtest")
def backtest_cycles(body: BacktestRequest, api: Api = Depends(require("ledger:read"))) -> Any:
    """What the cycles (drafts included) would have sent over a past period."""
    if body.until < body.since or body.until - body.since > timedelta(days=366):
        raise ValidationError(
            "the period must run forward and last at most a year",
            where="body.to",
            fix="give from before to, at most 366 days apart",
        )
    with api.read() as session:
        return admin.backtest(
            session, _tenant(session, api), start=body.since, end=body.until, cycles=body.cycles
        )
