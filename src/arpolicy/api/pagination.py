"""Cursor pagination with sorting, for every list endpoint.

Keyset pagination: the cursor carries the sort key and id of the last row of the page, so a
page costs the same at row 10 and at row 10,000,000 and rows inserted meanwhile neither
repeat nor vanish. Sorting is on a whitelisted column, ascending (``created_at``) or
descending (``-created_at``); ``id`` breaks ties.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Mapping, Sequence
from datetime import date, datetime
from typing import Any

from sqlalchemy import Select, and_, or_
from sqlalchemy.orm import Session

from arpolicy.exceptions import ValidationError

MAX_LIMIT = 500
DEFAULT_LIMIT = 50


def _encode(values: list[Any]) -> str:
    def plain(v: Any) -> Any:
        if isinstance(v, datetime):
            return {"dt": v.isoformat()}
        if isinstance(v, date):
            return {"d": v.isoformat()}
        return getattr(v, "value", v)

    raw = json.dumps([plain(v) for v in values], separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def _decode(cursor: str) -> list[Any]:
    def typed(v: Any) -> Any:
        if isinstance(v, dict) and "dt" in v:
            return datetime.fromisoformat(v["dt"])
        if isinstance(v, dict) and "d" in v:
            return date.fromisoformat(v["d"])
        return v

    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        values = json.loads(raw)
        if not isinstance(values, list) or len(values) != 3:
            raise ValueError
        return [typed(v) for v in values]
    except (ValueError, TypeError, UnicodeDecodeError):
        raise ValidationError(
            "the cursor is not one this service issued",
            where="cursor",
            fix="pass next_cursor from the previous page unchanged, or omit it for the first page",
        ) from None


def paginate(
    session: Session,
    stmt: Select[Any],
    model: Any,
    *,
    sort: str | None,
    cursor: str | None,
    limit: int,
    sortable: Mapping[str, Any],
    default: str = "id",
) -> tuple[Sequence[Any], str | None]:
    """(rows of this page, cursor of the next page or None)."""
    sort = sort or default
    descending = sort.startswith("-")
    name = sort.lstrip("-")
    if name not in sortable:
        raise ValidationError(
            f"cannot sort by {name!r}",
            where="sort",
            fix=f"sort by one of {', '.join(sorted(sortable))}; prefix - for descending",
        )
    if not 1 <= limit <= MAX_LIMIT:
        raise ValidationError(
            f"limit {limit} is out of range", where="limit", fix=f"use 1 to {MAX_LIMIT}"
        )
    column, ident = sortable[name], model.id
    # NULLs sort last; a column that cannot hold one needs no "IS NULL" term, which would
    # keep the database from reading its index in order (a sort of the whole table)
    nullable = bool(getattr(getattr(column, "expression", column), "nullable", True))
    if cursor:
        value, last_id, cursor_sort = _decode(cursor)
        if cursor_sort != sort:
            raise ValidationError(
                "the cursor belongs to another sort order",
                where="cursor",
                fix=f"keep sort={cursor_sort} while paging, or start again without a cursor",
            )
        if value is None:  # NULLs sort last in both directions (see below)
            stmt = stmt.where(column.is_(None), ident < last_id if descending else ident > last_id)
        else:
            after = (
                or_(column < value, and_(column == value, ident < last_id))
                if descending
                else or_(column > value, and_(column == value, ident > last_id))
            )
            stmt = stmt.where(or_(after, column.is_(None)) if nullable else after)
    order: tuple[Any, ...] = (
        (column.desc(), ident.desc()) if descending else (column.asc(), ident.asc())
    )
    if column is ident:
        order = (ident.desc(),) if descending else (ident.asc(),)
    if nullable:
        order = (column.is_(None), *order)
    rows = list(session.scalars(stmt.order_by(*order).limit(limit + 1)))
    if len(rows) <= limit:
        return rows, None
    rows = rows[:limit]
    last = rows[-1]
    key = getattr(last, column.key) if column is not ident else last.id
    return rows, _encode([key, last.id, sort])
