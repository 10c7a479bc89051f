"""Owners (docs/web/owners.md): each role's assignment policy, a dry run as a table of
changes with reasons, a real run, and a customer's owners explained.

The views call what the API's routes call (``api/routes/ownership.py``): the policy
versions from the ownership repository, ``run_roles`` for dry and real runs (both need
``owners:write``, as ``POST /v1/assignment/runs`` does), ``owners_of`` to explain a
customer (``ledger:read``). Editing a policy is in ``owners_policy.py``.
"""

from __future__ import annotations

from typing import Any, Literal

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import HTMLResponse
from sqlalchemy.orm import Session

from arpolicy.exceptions import NotFoundError
from arpolicy.kit.clock import local_today
from arpolicy.ownership import repository as repo
from arpolicy.ownership.admin import owners_of, run_roles
from arpolicy.ownership.config import ROLES, parse_policy
from arpolicy.ownership.service import RunReport
from arpolicy.rules import intake, to_text
from arpolicy.web.context import Caller, signed_in
from arpolicy.web.render import page
from arpolicy.web.views.rules import tenant_of

router = APIRouter(include_in_schema=False)
Role = Literal["finance", "sales"]
LISTED = 50
"""Changes listed after a run (the counts cover all)."""


def when_text(when: Any) -> str:
    """A stored rule condition as its canonical text (what the table shows)."""
    if when is None:
        return ""
    try:
        return to_text(intake.read(when))
    except Exception:  # a stored rule the language no longer reads: show it as stored
        return str(when)


def policy_view(session: Session, me: Caller, role: str) -> dict[str, Any]:
    """The live version of ``role``'s policy with its rules as text, and earlier versions."""
    versions = list(repo.versions(session, me.tenant_id, role))
    live = versions[0] if versions else None
    rules: list[dict[str, Any]] = []
    fallback = None
    if live is not None:
        policy = parse_policy(live.config)
        rules = [
            {"name": r.name, "when": when_text(r.when), "assign": r.assign} for r in policy.rules
        ]
        fallback = policy.fallback
    return {"live": live, "rules": rules, "fallback": fallback, "versions": versions[1:6]}


def screen(
    request: Request,
    me: Caller,
    role: str,
    *,
    status: int = 200,
    fragment: str | None = None,
    **extra: Any,
) -> HTMLResponse:
    with me.read() as session:
        view = policy_view(session, me, role)
    return page(
        request,
        me,
        "owners/index.html",
        status=status,
        fragment=fragment,
        role=role,
        roles=ROLES,
        listed=LISTED,
        **view,
        **extra,
    )


@router.get("/owners", response_class=HTMLResponse)
def owners_page(
    request: Request,
    role: Role = Query("finance"),
    customer: str = Query("", max_length=20),
    me: Caller = Depends(signed_in("ledger:read")),
) -> HTMLResponse:
    """The role's policy; with ``customer``, that customer's owners explained."""
    if not customer:
        return screen(request, me, role)
    explained, error = None, None
    if not customer.isdigit() or not 0 < int(customer) < 2**31:
        error = "give the customer's number (its id), e.g. 42"
        return screen(request, me, role, status=422, customer=customer, explain_error=error)
    with me.read() as session:
        tenant = tenant_of(session, me)
        try:
            explained = owners_of(
                session, tenant, int(customer), as_of=local_today(me.clock, tenant.timezone)
            )
        except NotFoundError as exc:
            error = f"{exc.message}: check the number"
    status = 404 if error else 200
    return screen(
        request,
        me,
        role,
        status=status,
        customer=customer,
        explained=explained,
        explain_error=error,
    )


def _run(me: Caller, role: str, *, dry_run: bool) -> RunReport:
    def work(session: Session) -> RunReport:
        tenant = tenant_of(session, me)
        reports = run_roles(
            session,
            tenant,
            me.actor,
            (role,),
            as_of=local_today(me.clock, tenant.timezone),
            at=me.now(),
            dry_run=dry_run,
        )
        return reports[0]

    if dry_run:
        with me.read() as session:
            return work(session)
    with me.write() as session:
        return work(session)


@router.post("/owners/{role}/dry-run", response_class=HTMLResponse)
def dry_run(
    request: Request, role: Role, me: Caller = Depends(signed_in("owners:write"))
) -> HTMLResponse:
    """What a run would change, with each change's reason; writes nothing."""
    report = _run(me, role, dry_run=True)
    return screen(request, me, role, fragment="changes", report=report)


@router.post("/owners/{role}/run", response_class=HTMLResponse)
def run(
    request: Request, role: Role, me: Caller = Depends(signed_in("owners:write"))
) -> HTMLResponse:
    """Run the role's policy for every customer: the changes are written, each audited."""
    report = _run(me, role, dry_run=False)
    flash = f"Run done: {len(report.changes)} owner(s) changed, {report.kept} kept."
    return screen(request, me, role, fragment="changes", report=report, flash=flash)
