"""Rules: try a rule in the builder (docs/web/rule-builder.md), and the builder's own
round-trips, which every screen that embeds it posts to.

- ``GET /rules``: the builder with a level to choose, and what the rule selects;
  ``?level=customer&rule=<text>`` opens a rule (bookmarkable).
- ``POST /rules/builder``: the builder's fields (or its text) back, the builder redrawn in
  step, with its problems in place and its preview (htmx; always 200 so it swaps).
- ``POST /rules/builder/explain``: one record's verdict under the builder's rule.

Every one needs ``rules:read``, as ``POST /v1/rules/validate`` and ``/preview`` do.
"""

from __future__ import annotations

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import HTMLResponse
from sqlalchemy import select
from sqlalchemy.orm import Session

from arpolicy.exceptions import ValidationError
from arpolicy.kit.clock import local_today
from arpolicy.models import Tenant
from arpolicy.web import rulebuilder
from arpolicy.web.context import Caller, signed_in
from arpolicy.web.render import page
from arpolicy.web.rulebuilder_form import Form

router = APIRouter(include_in_schema=False)


async def posted(request: Request) -> Form:
    """The posted form, each field with all its values (a multi-select sends several)."""
    return rulebuilder.form_of(await request.form())


def tenant_of(session: Session, me: Caller) -> Tenant:
    tenant = session.scalar(select(Tenant).where(Tenant.id == me.tenant_id))
    assert tenant is not None
    return tenant


@router.get("/rules", response_class=HTMLResponse)
def rules_page(
    request: Request,
    level: str = Query("invoice", max_length=20),
    rule: str = Query("", max_length=20_000),
    me: Caller = Depends(signed_in("rules:read")),
) -> HTMLResponse:
    with me.read() as session:
        tenant = tenant_of(session, me)
        rb = rulebuilder.start(
            session,
            tenant,
            level=level,
            rule=rule or None,
            choose_level=True,
            as_of=local_today(me.clock, tenant.timezone),
        )
    return page(request, me, "rules/index.html", rb=rb)


@router.post("/rules/builder", response_class=HTMLResponse)
def builder(
    request: Request,
    form: Form = Depends(posted),
    me: Caller = Depends(signed_in("rules:read")),
) -> HTMLResponse:
    with me.read() as session:
        tenant = tenant_of(session, me)
        rb = rulebuilder.from_form(
            session, tenant, form, as_of=local_today(me.clock, tenant.timezone)
        )
    return page(request, me, "rulebuilder/builder.html", rb=rb)


@router.post("/rules/builder/preview", response_class=HTMLResponse)
def preview(
    request: Request,
    form: Form = Depends(posted),
    me: Caller = Depends(signed_in("rules:read")),
) -> HTMLResponse:
    """What the builder's rule selects (loaded after the builder, so editing stays quick):
    the count and the first matches; ``rb_coverage=1`` adds the coverage advice."""
    coverage = (form.get("rb_coverage") or [""])[0] == "1"
    with me.read() as session:
        tenant = tenant_of(session, me)
        today = local_today(me.clock, tenant.timezone)
        found = rulebuilder.previewed(session, tenant, form, as_of=today, coverage=coverage)
    prefix = (form.get("rb_prefix") or ["rule"])[0]
    return page(
        request,
        me,
        "rulebuilder/preview.html",
        sample=found,
        coverage=coverage,
        rb_id="rb-" + prefix.replace(".", "-"),
        endpoint=rulebuilder.ENDPOINT,
        level=(form.get(prefix + ".level") or ["invoice"])[0],
    )


@router.post("/rules/builder/explain", response_class=HTMLResponse)
def explain(
    request: Request,
    form: Form = Depends(posted),
    me: Caller = Depends(signed_in("rules:read")),
) -> HTMLResponse:
    raw = (form.get("rb_explain") or [""])[0]
    if not raw.isdigit() or not 0 < int(raw) < 2**31:
        raise ValidationError(
            f"{raw!r} is not a record id", where="rb_explain", fix="pick a match to explain"
        )
    with me.read() as session:
        tenant = tenant_of(session, me)
        found = rulebuilder.explained(
            session, tenant, form, int(raw), as_of=local_today(me.clock, tenant.timezone)
        )
    return page(request, me, "rulebuilder/explanation.html", sample=found)
