"""The dashboard (placeholder until its screen lands): the start page after signing in."""

from __future__ import annotations

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse

from arpolicy.web.context import Caller, signed_in
from arpolicy.web.render import page

router = APIRouter(include_in_schema=False)


@router.get("/dashboard", response_class=HTMLResponse)
def dashboard(request: Request, me: Caller = Depends(signed_in())) -> HTMLResponse:
    return page(request, me, "dashboard.html")
