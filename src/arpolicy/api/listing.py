"""List endpoints of the ledger resources: filters and one page through :func:`paginate`.

The cursor is checked before it reaches the database: a cursor that was edited (a value of
the wrong type for the sort column, an id out of range) is a 422 naming ``cursor``, never a
database error.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable, Iterable, Mapping, Sequence
from datetime import date, datetime
from typing import Annotated, Any, Literal

from fastapi import Depends, Query
from pydantic import BaseModel
from sqlalchemy import Date, DateTime, Integer, Select, func
from sqlalchemy.orm import Session

from arpolicy.api.pagination import _decode, paginate
from arpolicy.api.schemas import Page
from arpolicy.api.types import INT32, INT64
from arpolicy.exceptions import ValidationError


def sort_by(columns: Iterable[str], *, default: str = "id") -> Any:
    """The ``sort`` query parameter of a listing that sorts by ``columns`` (the keys of the
    ``sortable`` mapping it pages with): an enum of each column and its descending form
    ``-column``, so the schema lists exactly what :func:`paginate` accepts and any other
    value is a 422 naming ``sort`` with the allowed values. Use as a default:
    ``sort: str | None = sort_by(SORTABLE, default="-id")``."""
    names = list(columns)
    allowed: Any = Literal[tuple(v for name in names for v in (name, f"-{name}"))]
    shown = ", ".join(names)
    query = Query(
        description=f"Sort by {shown} (default {default}); prefix - for descending.",
    )

    def chosen(sort: str | None = None) -> str | None:
        return sort

    param = inspect.Parameter(
        "sort",
        inspect.Parameter.KEYWORD_ONLY,
        default=None,
        annotation=Annotated[allowed | None, query],
    )
    chosen.__signature__ = inspect.Signature([param])  # type: ignore[attr-defined]
    return Depends(chosen)


def _expected(column: Any) -> tuple[type, ...]:
    kind = getattr(column.type, "impl_instance", column.type)  # a TypeDecorator's own type
    if isinstance(kind, DateTime):
        return (datetime,)
    if isinstance(kind, Date):
        return (date,)
    if isinstance(kind, Integer):
        return (int,)
    return (str,)


def _check_cursor(cursor: str, column: Any) -> None:
    value, last_id, sort = _decode(cursor)
    fits = value is None or (
        isinstance(value, _expected(column))
        and not isinstance(value, bool)
        and (not isinstance(value, int) or -INT64 <= value <= INT64)
        and (not isinstance(value, str) or len(value) <= 1000)
        and (not isinstance(value, datetime) or value.tzinfo is not None)
    )
    if (
        not fits
        or type(last_id) is not int
        or not 1 <= last_id <= INT32
        or not isinstance(sort, str)
    ):
        raise ValidationError(
            "the cursor is not one this service issued",
            where="cursor",
            fix="pass next_cursor from the previous page unchanged, or omit it for the first page",
        )


def rows(
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
    """(rows of ``model`` on this page, the next page's cursor or None)."""
    name = (sort or default).lstrip("-")
    if cursor and name in sortable:
        _check_cursor(cursor, sortable[name])
    return paginate(
        session,
        stmt,
        model,
        sort=sort,
        cursor=cursor,
        limit=limit,
        sortable=sortable,
        default=default,
    )


def page(
    session: Session,
    stmt: Select[Any],
    model: Any,
    schema: type[BaseModel],
    read: Callable[[Any], BaseModel],
    **kw: Any,
) -> Page[Any]:
    """One page of ``stmt`` (rows of ``model``) shown through ``read`` as ``schema``
    (the response model is ``Page[schema]``); ``kw`` as for :func:`rows`."""
    found, nxt = rows(session, stmt, model, **kw)
    return page_of(schema, [read(r) for r in found], nxt)


def page_of(schema: type[BaseModel], items: list[Any], nxt: str | None) -> Page[Any]:
    page_type: Any = Page.__class_getitem__(schema)
    result: Page[Any] = page_type(items=items, next_cursor=nxt)
    return result


def between(stmt: Select[Any], column: Any, low: Any, high: Any) -> Select[Any]:
    """``low <= column <= high``, each bound optional."""
    if low is not None:
        stmt = stmt.where(column >= low)
    if high is not None:
        stmt = stmt.where(column <= high)
    return stmt


def equal(stmt: Select[Any], filters: Mapping[Any, Any]) -> Select[Any]:
    """``column == value`` for every filter given (None: not filtered)."""
    for column, value in filters.items():
        if value is not None:
            stmt = stmt.where(column == value)
    return stmt


def contains(*columns: Any, text: str) -> Any:
    """Any of ``columns`` contains ``text``, ignoring case (wildcards taken literally)."""
    needle = text.lower()
    clauses = [func.lower(c).contains(needle, autoescape=True) for c in columns]
    out = clauses[0]
    for clause in clauses[1:]:
        out = out | clause
    return out
