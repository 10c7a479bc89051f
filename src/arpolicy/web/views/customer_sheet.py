"""The customer sheet (docs/web/customer-sheet.md): figures and ageing, open documents,
payments, promises and disputes, owners, the timeline, and the reminders. Its forms post
to web/views/customer_actions.py, which comes back here: after a change, with a message
(``?done=``); on bad input, with the form open and the message beside the field (422)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse

from arpolicy.kit.money import Money
from arpolicy.web.context import Caller, signed_in
from arpolicy.web.customer_sheet import load_sheet
from arpolicy.web.render import page

router = APIRouter(include_in_schema=False)

DONE = {
    "promise": "The promise to pay is recorded.",
    "promise-kept": "The promise is marked kept.",
    "promise-broken": "The promise is marked broken.",
    "promise-cancelled": "The promise is cancelled.",
    "dispute": "The dispute is recorded.",
    "dispute-resolved": "The dispute is resolved.",
    "dispute-rejected": "The dispute is rejected.",
    "owner": "The owner is changed.",
    "call": "The call is logged.",
    "note": "The note is saved.",
    "paused": "The reminders are paused.",
    "resumed": "The reminders are resumed.",
}


def render_sheet(
    request: Request,
    me: Caller,
    customer_id: int,
    *,
    status: int = 200,
    form: str | None = None,
    errors: dict[str, str] | None = None,
    values: dict[str, str] | None = None,
    flash: str | None = None,
) -> HTMLResponse:
    """The sheet; ``form`` names the form that failed (shown open with ``errors``)."""
    sheet = load_sheet(me, customer_id)
    return page(
        request,
        me,
        "customers/sheet.html",
        status=status,
        sheet=sheet,
        c=sheet.customer,
        form=form,
        errors=errors or {},
        values=values or {},
        flash=flash,
        money=Money.from_minor,
    )


@router.get("/customers/{customer_id}", response_class=HTMLResponse)
def customer_sheet(
    request: Request,
    customer_id: int,
    done: str | None = None,
    me: Caller = Depends(signed_in("ledger:read")),
) -> Any:
    return render_sheet(request, me, customer_id, flash=DONE.get(done or ""))
