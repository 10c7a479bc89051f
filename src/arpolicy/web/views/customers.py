"""The Customers screen (docs/web/customers.md): search by name or id, filters (owner,
country, currency, ageing bucket, cycle, paused, disputed), sort and pages of 50 as GET
parameters (bookmarkable; htmx swaps the table), and the filtered list as CSV.

The rows come from the same pieces as ``GET /v1/customers``: the filters of
api.customer_filters, keyset pages of api.listing (no count of the whole list), and the
figures of the page's customers in one statement (ledger.figures, as
``?figures=true``)."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator
from typing import Any
from urllib.parse import urlencode

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse, StreamingResponse

from arpolicy.exceptions import ArpolicyError
from arpolicy.web.context import Caller, signed_in
from arpolicy.web.customer_list import (
    CSV_CHUNK,
    PAGE,
    Listing,
    csv_header,
    csv_rows,
    list_page,
    parse_filter,
)
from arpolicy.web.render import page

router = APIRouter(include_in_schema=False)
PARAMS = ("q", "owner", "country", "currency", "bucket", "cycle", "paused", "disputed", "sort")


def _values(request: Request) -> dict[str, str]:
    query = request.query_params
    return {name: query.get(name, "").strip() for name in (*PARAMS, "cursor")}


@router.get("/customers", response_class=HTMLResponse)
def customers(request: Request, me: Caller = Depends(signed_in("ledger:read"))) -> HTMLResponse:
    values = _values(request)
    errors: dict[str, str] = {}
    listing: Listing | None = None
    try:
        wanted = parse_filter(me, values)
        listing = list_page(me, wanted, values.get("sort") or "name", values.get("cursor") or None)
    except ArpolicyError as exc:
        if exc.status != 422:
            raise
        errors[_field(exc.where)] = f"{exc.message}: {exc.fix}" if exc.fix else exc.message
    if listing is None:
        listing = list_page(me, None, "name", None, empty=True)
    shown = {k: v for k, v in values.items() if k != "cursor" and v}
    return page(
        request,
        me,
        "customers/list.html",
        status=422 if errors else 200,
        fragment="results",
        listing=listing,
        values=values,
        errors=errors,
        query=shown,
        link=link,
        page_size=PAGE,
    )


def link(query: dict[str, str], *, csv: bool = False, **changes: str | None) -> str:
    """The list's address with ``query`` changed (None drops a parameter); a new sort or
    filter starts at the first page."""
    merged: dict[str, str] = {k: v for k, v in query.items() if k != "cursor"}
    for name, value in changes.items():
        if value is None:
            merged.pop(name, None)
        else:
            merged[name] = value
    path = "/customers.csv" if csv else "/customers"
    return f"{path}?{urlencode(merged)}" if merged else path


def _field(where: str | None) -> str:
    name = (where or "q").split(".")[-1]
    return name if name in (*PARAMS, "cursor") else "q"


@router.get("/customers.csv")
def customers_csv(request: Request, me: Caller = Depends(signed_in("ledger:read"))) -> Any:
    values = _values(request)
    wanted = parse_filter(me, values)
    sort = values.get("sort") or "name"
    first = list_page(me, wanted, sort, None, limit=CSV_CHUNK)  # errors before streaming

    def lines() -> Iterator[str]:
        buffer = io.StringIO()
        out = csv.writer(buffer)
        out.writerow(csv_header(first))
        for row in csv_rows(me, wanted, sort, first):
            out.writerow(row)
            if buffer.tell() > 64_000:
                yield buffer.getvalue()
                buffer.seek(0)
                buffer.truncate()
        yield buffer.getvalue()

    return StreamingResponse(
        lines(),
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": 'attachment; filename="customers.csv"'},
    )
