"""What the customer sheet changes, each through the function its API route calls, with
the same permission: promises and disputes (``POST``/``PATCH /v1/promises``,
``/v1/disputes``: the ledger write service, ledger:write), an owner by hand with its lock
(``PUT /v1/customers/{id}/owners/{role}``: ownership.admin.set_owner, owners:write), a
call or a note (ledger.notes, ledger:write), the reminders paused or resumed with a reason
(engagement.pauses, ledger:write). Each is audited with the user.

After a change the browser is sent back to the sheet (303); bad input renders the sheet
with the form open, the message beside the field and status 422, nothing stored."""

from __future__ import annotations

import secrets
from collections.abc import Callable
from typing import Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import RedirectResponse, Response
from pydantic import ValidationError as PydanticError
from sqlalchemy.orm import Session
from starlette.concurrency import run_in_threadpool

from arpolicy.api import ledger
from arpolicy.api.routes.disputes import DisputeCreate, DisputeUpdate
from arpolicy.api.routes.promises import PromiseCreate, PromiseUpdate
from arpolicy.engagement import pauses
from arpolicy.exceptions import ArpolicyError, NotFoundError
from arpolicy.kit.clock import local_today
from arpolicy.ledger.notes import log_note
from arpolicy.ledger.writing.resources import CUSTOMERS, DISPUTES, PROMISES
from arpolicy.ownership.admin import set_owner
from arpolicy.web.context import Caller, signed_in
from arpolicy.web.views.customer_sheet import render_sheet

router = APIRouter(include_in_schema=False)
WRITE = signed_in("ledger:write")


class BadInput(Exception):
    def __init__(self, errors: dict[str, str]) -> None:
        super().__init__(errors)
        self.errors = errors


async def _form(request: Request) -> dict[str, str]:
    form = await request.form()
    return {k: v.strip() for k, v in form.items() if isinstance(v, str) and k != "csrf_token"}


def _field(where: str | None, fields: tuple[str, ...]) -> str:
    """The form field a located error is about (``body.amount.currency`` -> currency)."""
    parts = (where or "").split(".")
    if len(parts) > 1 and parts[0] in ("body", "path"):
        parts = parts[1:]
    for p in reversed(parts):
        if p in fields:
            return p
    return "form"


def _pydantic(exc: PydanticError, fields: tuple[str, ...]) -> dict[str, str]:
    out: dict[str, str] = {}
    for err in exc.errors():
        name = _field(".".join(str(p) for p in err.get("loc", ())), fields)
        message = str(err.get("msg", "is not valid")).removeprefix("Value error, ")
        if err.get("type") == "string_pattern_mismatch":
            message = PATTERNS.get(name, "This is not written as expected.")
        out.setdefault(name, message)
    return out


PATTERNS = {
    "amount": "Write the amount as digits with a decimal point, e.g. 500.00 (more than zero).",
    "currency": "Write the currency as its three-letter ISO code, e.g. EUR.",
}


def _message(exc: ArpolicyError) -> str:
    return f"{exc.message}. {exc.fix}" if exc.fix else exc.message


async def _act(
    request: Request,
    me: Caller,
    customer_id: int,
    form: str,
    fields: tuple[str, ...],
    work: Callable[[Session, dict[str, str]], str],
) -> Response:
    """Run ``work`` in one transaction; its answer is the ``done`` message key. Bad input
    (a pydantic or a domain 4xx error other than 403/404) comes back on the sheet."""
    values = await _form(request)

    def run() -> str:
        with me.write() as session:
            ledger.get_or_404(session, me, CUSTOMERS, customer_id)
            return work(session, values)

    try:
        done = await run_in_threadpool(run)
    except BadInput as exc:
        errors = exc.errors
    except PydanticError as exc:
        errors = _pydantic(exc, fields)
    except ArpolicyError as exc:
        field = _field(exc.where, fields)
        chosen = exc.status == 404 and field != "form"  # a record chosen in the form
        if (exc.status in (401, 403, 404) and not chosen) or exc.status >= 500:
            raise
        errors = {field: _message(exc)}
    else:
        return RedirectResponse(f"/customers/{customer_id}?done={done}", status_code=303)
    return await run_in_threadpool(
        render_sheet, request, me, customer_id, status=422, form=form, errors=errors, values=values
    )


def _money(values: dict[str, str]) -> dict[str, str]:
    return {"amount": values.get("amount", ""), "currency": values.get("currency", "").upper()}


def _document(values: dict[str, str]) -> dict[str, Any]:
    doc = values.get("document_id", "")
    if not doc:
        return {}
    return {"document_id": int(doc) if doc.isdigit() and len(doc) < 10 else doc}


def _external(kind: str, customer_id: int) -> str:
    return f"web-{kind}-{customer_id}-{secrets.token_hex(4)}"


def _mine(session: Session, me: Caller, res: Any, record_id: int, customer_id: int) -> Any:
    found = ledger.get_or_404(session, me, res, record_id)
    if found.customer_id != customer_id:
        raise NotFoundError(f"no {res.name} {record_id} of this customer", where="path")
    return found


PROMISE_FIELDS = ("amount", "currency", "promised_on", "document_id", "note")


@router.post("/customers/{customer_id}/promises")
async def add_promise(request: Request, customer_id: int, me: Caller = Depends(WRITE)) -> Response:
    def work(session: Session, values: dict[str, str]) -> str:
        if not values.get("promised_on"):
            raise BadInput({"promised_on": "Give the date the customer promised to pay by."})
        body = PromiseCreate.model_validate(
            {
                "external_id": _external("p2p", customer_id),
                "customer_id": customer_id,
                "amount": _money(values),
                "promised_on": values["promised_on"],
                **_document(values),
                **({"note": values["note"]} if values.get("note") else {}),
            }
        )
        ledger.create(session, me, PROMISES, body)
        return "promise"

    return await _act(request, me, customer_id, "promise", PROMISE_FIELDS, work)


@router.post("/customers/{customer_id}/promises/{promise_id}")
async def settle_promise(
    request: Request, customer_id: int, promise_id: int, me: Caller = Depends(WRITE)
) -> Response:
    def work(session: Session, values: dict[str, str]) -> str:
        _mine(session, me, PROMISES, promise_id, customer_id)
        body = PromiseUpdate.model_validate({"status": values.get("status", "")})
        ledger.update(session, me, PROMISES, promise_id, body)
        return f"promise-{body.status}"

    return await _act(request, me, customer_id, "promises", (), work)


DISPUTE_FIELDS = ("amount", "currency", "reason", "opened_on", "document_id")


@router.post("/customers/{customer_id}/disputes")
async def add_dispute(request: Request, customer_id: int, me: Caller = Depends(WRITE)) -> Response:
    def work(session: Session, values: dict[str, str]) -> str:
        opened = values.get("opened_on") or local_today(me.clock, _zone(session, me)).isoformat()
        body = DisputeCreate.model_validate(
            {
                "external_id": _external("dispute", customer_id),
                "customer_id": customer_id,
                "amount": _money(values),
                "opened_on": opened,
                **_document(values),
                **({"reason": values["reason"]} if values.get("reason") else {}),
            }
        )
        ledger.create(session, me, DISPUTES, body)
        return "dispute"

    return await _act(request, me, customer_id, "dispute", DISPUTE_FIELDS, work)


def _zone(session: Session, me: Caller) -> str:
    return ledger.tenant_of(session, me).timezone


@router.post("/customers/{customer_id}/disputes/{dispute_id}")
async def close_dispute(
    request: Request, customer_id: int, dispute_id: int, me: Caller = Depends(WRITE)
) -> Response:
    def work(session: Session, values: dict[str, str]) -> str:
        _mine(session, me, DISPUTES, dispute_id, customer_id)
        status = values.get("status", "")
        today = local_today(me.clock, _zone(session, me)).isoformat()
        body = DisputeUpdate.model_validate({"status": status, "resolved_on": today})
        ledger.update(session, me, DISPUTES, dispute_id, body)
        return f"dispute-{body.status}"

    return await _act(request, me, customer_id, "disputes", (), work)


@router.post("/customers/{customer_id}/owners")
async def change_owner(
    request: Request, customer_id: int, me: Caller = Depends(signed_in("owners:write"))
) -> Response:
    def work(session: Session, values: dict[str, str]) -> str:
        chosen = values.get("user_id", "")
        if chosen and not chosen.isdigit():
            raise BadInput({"user_id": "Choose a user from the list."})
        set_owner(
            session,
            ledger.tenant_of(session, me),
            me.actor,
            customer_id,
            values.get("role", ""),
            int(chosen) if chosen else None,
            locked=values.get("locked") == "on",
            at=me.now(),
            reason=values.get("reason") or None,
        )
        return "owner"

    return await _act(request, me, customer_id, "owner", ("role", "user_id", "reason"), work)


@router.post("/customers/{customer_id}/notes")
async def add_note(request: Request, customer_id: int, me: Caller = Depends(WRITE)) -> Response:
    def work(session: Session, values: dict[str, str]) -> str:
        kind = values.get("kind", "")
        log_note(session, me.actor, customer_id, kind, values.get("body", ""), at=me.now())
        return kind

    return await _act(request, me, customer_id, "note", ("kind", "body"), work)


@router.post("/customers/{customer_id}/reminders")
async def pause_or_resume(
    request: Request, customer_id: int, me: Caller = Depends(WRITE)
) -> Response:
    def work(session: Session, values: dict[str, str]) -> str:
        reason = values.get("reason", "")
        if values.get("action") == "resume":
            pauses.resume(session, me.actor, customer_id, reason, at=me.now())
            return "resumed"
        pauses.pause(session, me.actor, customer_id, reason, at=me.now())
        return "paused"

    return await _act(request, me, customer_id, "reminders", ("reason",), work)
