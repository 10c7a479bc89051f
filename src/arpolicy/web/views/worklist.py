"""My worklist (docs/web/worklist.md): the collector's morning, from engagement/worklist.py.

``GET /worklist`` lists the signed-in user's items (``?user=`` another's, for a user who
may act for others: a supervisor sees their team, a finance manager or admin everyone),
filtered by ``kind``, 50 a page. Each item is done, snoozed or handed over in place: the
forms post with htmx and the answer replaces the item's row (a row with the message
beside the field, status 422, when the input is wrong; nothing is stored then).
"""

from __future__ import annotations

from datetime import date
from typing import Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from starlette.concurrency import run_in_threadpool

from arpolicy.api.ledger import tenant_of
from arpolicy.api.routes.reports import as_of_or_today
from arpolicy.engagement import worklist_actions as actions
from arpolicy.engagement.worklist import KINDS, item, team, worklist
from arpolicy.exceptions import ArpolicyError, NotFoundError, PermissionDeniedError
from arpolicy.models import UserRole
from arpolicy.web.context import Caller, signed_in
from arpolicy.web.render import is_htmx, page

router = APIRouter(include_in_schema=False)
PER_PAGE = 50
LABELS = {
    "reply": "Replies",
    "promise": "Promises",
    "task": "Tasks",
    "dispute": "Disputes",
    "cycle_end": "Cycle ended",
}
ROW = {"X-Worklist-Row": "1"}


def for_others(me: Caller) -> bool:
    """Who may open another user's worklist and act on its items."""
    return me.can("owners:write")


def everyone(me: Caller) -> bool:
    """Who may open anyone's (not only their team's)."""
    return me.can("policies:manage")


def _admin(people: list[tuple[int, str, str]], whose: int) -> bool:
    """An admin's worklist also holds the items nobody owns."""
    return any(p[0] == whose and p[2] == UserRole.ADMIN.value for p in people)


def _int(value: str | None) -> int | None:
    try:
        return int(value) if value else None
    except ValueError:
        return None


@router.get("/worklist", response_class=HTMLResponse)
def show(
    request: Request,
    me: Caller = Depends(signed_in("ledger:read")),
    user: str | None = None,
    kind: str | None = None,
) -> HTMLResponse:
    whose = _int(user) or me.user_id
    chosen = kind if kind in KINDS else None
    number = max(_int(request.query_params.get("page")) or 1, 1)
    with me.read() as session:
        tenant = tenant_of(session, me)
        today = as_of_or_today(me, tenant, None)
        people = team(session, me.tenant_id, me.user_id, everyone=everyone(me))
        if whose != me.user_id:
            if not for_others(me):
                raise PermissionDeniedError(
                    "you may open only your own worklist",
                    fix="ask a supervisor for a role that may act for the team",
                )
            if whose not in {p[0] for p in people}:
                raise NotFoundError(f"no user {whose} in your team", where="user")
        found = worklist(session, tenant, whose, today, unowned=_admin(people, whose))
    items = [i for i in found.items if chosen is None or i.kind == chosen]
    pages = max((len(items) + PER_PAGE - 1) // PER_PAGE, 1)
    number = min(number, pages)
    shown = items[(number - 1) * PER_PAGE : number * PER_PAGE]
    return page(
        request,
        me,
        "worklist/page.html",
        fragment="items",
        items=shown,
        total=len(items),
        counts=found.counts,
        all_count=len(found.items),
        kind=chosen,
        labels=LABELS,
        whose=whose,
        whose_name=next((p[1] for p in people if p[0] == whose), me.user_name),
        people=people,
        may_switch=for_others(me),
        may_act=me.can("ledger:write"),
        today=today,
        number=number,
        pages=pages,
        query=_query(whose, me.user_id, chosen),
    )


def _query(whose: int, me_id: int, kind: str | None) -> str:
    parts = [f"user={whose}"] if whose != me_id else []
    if kind:
        parts.append(f"kind={kind}")
    return "&".join(parts)


async def _form(request: Request) -> dict[str, str]:
    form = await request.form()
    return {k: v for k, v in form.items() if isinstance(v, str)}


def _again(me: Caller, whose: int, kind: str, object_id: int) -> dict[str, Any]:
    """What the item's row needs to be shown again (with an error beside a field)."""
    with me.read() as session:
        tenant = tenant_of(session, me)
        today = as_of_or_today(me, tenant, None)
        people = team(session, me.tenant_id, me.user_id, everyone=everyone(me))
        found = item(session, tenant, whose, today, kind, object_id, unowned=_admin(people, whose))
    return {"item": found, "today": today, "people": people, "whose": whose}


def _act(
    request: Request, me: Caller, kind: str, object_id: int, values: dict[str, str], work: Any
) -> Response:
    """Run one action in a write transaction; the answer replaces the item's row (htmx),
    a domain error coming back beside its field with nothing stored."""
    if kind == "task":
        me.require("emails:send")  # closing a task, as POST /v1/tasks/{id}/done
    try:
        with me.write() as session:
            message = work(session)
    except ArpolicyError as exc:
        text = f"{exc.message}: {exc.fix}" if exc.fix else exc.message
        whose = (_int(values.get("whose")) if for_others(me) else None) or me.user_id
        shown = _again(me, whose, kind, object_id) if exc.status == 422 else {"item": None}
        return _answer(request, me, exc.status, error=text, where=exc.where, **shown)
    return _answer(request, me, 200, message=message, item=None)


def _answer(request: Request, me: Caller, status: int, **context: Any) -> Response:
    if not is_htmx(request) and status < 400:
        return RedirectResponse("/worklist", status_code=303)
    headers = ROW if is_htmx(request) else None
    return page(
        request,
        me,
        "worklist/outcome.html",
        status=status,
        fragment="row",
        headers=headers,
        **context,
    )


@router.post("/worklist/{kind}/{object_id}/done")
async def done(
    request: Request, kind: str, object_id: int, me: Caller = Depends(signed_in("ledger:write"))
) -> Response:
    values = await _form(request)

    def work(session: Any) -> str:
        actions.done(session, me.actor, kind, object_id, me.now(), for_others=for_others(me))
        return "Done: it leaves the worklist."

    return await run_in_threadpool(_act, request, me, kind, object_id, values, work)


@router.post("/worklist/{kind}/{object_id}/snooze")
async def snooze(
    request: Request, kind: str, object_id: int, me: Caller = Depends(signed_in("ledger:write"))
) -> Response:
    values = await _form(request)
    try:
        until: date | None = date.fromisoformat(values.get("until", "").strip())
    except ValueError:
        until = None

    def work(session: Any) -> str:
        tenant = tenant_of(session, me)
        today = as_of_or_today(me, tenant, None)
        actions.snooze(
            session, me.actor, kind, object_id, until, today, me.now(), for_others=for_others(me)
        )
        return f"Snoozed until {until.isoformat() if until else ''}."

    return await run_in_threadpool(_act, request, me, kind, object_id, values, work)


@router.post("/worklist/{kind}/{object_id}/reassign")
async def reassign(
    request: Request, kind: str, object_id: int, me: Caller = Depends(signed_in("ledger:write"))
) -> Response:
    values = await _form(request)
    to_user = _int(values.get("user"))

    def work(session: Any) -> str:
        people = team(session, me.tenant_id, me.user_id, everyone=everyone(me))
        allowed = {p[0] for p in people}
        actions.reassign(
            session,
            me.actor,
            kind,
            object_id,
            to_user,
            allowed,
            me.now(),
            for_others=for_others(me),
        )
        name = next(p[1] for p in people if p[0] == to_user)
        return f"Handed to {name}."

    return await run_in_threadpool(_act, request, me, kind, object_id, values, work)
