"""What the Customers screen shows, assembled from the services (the view stays thin):
the filter read from the query string, one keyset page of customers, their figures in one
statement, their owners' names and pauses in one query each; and the CSV of the whole
filtered list, page after page (never the whole table in memory)."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from arpolicy.api.customer_filters import (
    SORTABLE,
    CustomerFilter,
    customer_query,
    paused_ids,
    running_cycles,
    tenant_users,
    user_names,
)
from arpolicy.api.ledger import tenant_of
from arpolicy.api.listing import rows
from arpolicy.engagement.pauses import live_pauses
from arpolicy.exceptions import ValidationError
from arpolicy.kit.clock import local_today
from arpolicy.kit.money import Money
from arpolicy.ledger.buckets import bucket_labels
from arpolicy.ledger.figures import CustomerFigures, customer_figures
from arpolicy.models import Customer
from arpolicy.web.context import Caller

PROMISED = "an open promise to pay for the account"
PAGE = 50
CSV_CHUNK = 500
YES = {"yes", "true", "1", "on"}
NO = {"no", "false", "0", "off"}


@dataclass
class Row:
    customer: Customer
    owner: str | None
    figures: CustomerFigures | None
    paused: str | None
    """Why its reminders are paused (None: they are not)."""

    @property
    def disputed(self) -> bool:
        return bool(self.figures and self.figures.base.open_issue)

    def amount(self, name: str) -> Any:
        """A figure in the customer's currency when it has one, else in the base currency."""
        if self.figures is None:
            return None
        amounts = self.figures.local or self.figures.base
        return amounts.money(name)


@dataclass
class Listing:
    today: date
    rows: list[Row] = field(default_factory=list)
    next_cursor: str | None = None
    buckets: list[str] = field(default_factory=list)
    owners: list[tuple[int, str]] = field(default_factory=list)
    cycles: list[str] = field(default_factory=list)
    figures: bool = False


def _flag(value: str, name: str) -> bool | None:
    text = value.lower()
    if not text:
        return None
    if text in YES or text in NO:
        return text in YES
    raise ValidationError(f"{value!r} is not yes or no", where=name, fix="choose yes, no or any")


def parse_filter(me: Caller, values: dict[str, str]) -> CustomerFilter:
    """The filter of the query string (``owner``: a user id, ``me`` or ``none``)."""
    owner = values.get("owner", "").lower()
    owner_id: int | None = None
    if owner == "me":
        owner_id = me.user_id
    elif owner.isdigit() and len(owner) < 10:
        owner_id = int(owner)
    elif owner not in ("", "none"):
        raise ValidationError(
            f"{values['owner']!r} is not an owner", where="owner", fix="choose one from the list"
        )
    return CustomerFilter(
        q=values.get("q") or None,
        owner_id=owner_id,
        unowned=owner == "none",
        country=values.get("country") or None,
        currency=values.get("currency") or None,
        bucket=values.get("bucket") or None,
        cycle=values.get("cycle") or None,
        paused=_flag(values.get("paused", ""), "paused"),
        disputed=_flag(values.get("disputed", ""), "disputed"),
    )


def list_page(
    me: Caller,
    wanted: CustomerFilter | None,
    sort: str,
    cursor: str | None,
    *,
    limit: int = PAGE,
    empty: bool = False,
) -> Listing:
    """One page of the filtered list (``empty``: only the choices of the filter form)."""
    with me.read() as session:
        tenant = tenant_of(session, me)
        today = local_today(me.clock, tenant.timezone)
        out = Listing(
            today,
            buckets=bucket_labels(tenant.ageing_bounds),
            owners=tenant_users(session, tenant.id),
            cycles=running_cycles(session, tenant.id),
            figures=me.can("reports:read"),
        )
        if empty or wanted is None:
            return out
        stmt = customer_query(session, tenant, wanted, today)
        found, out.next_cursor = rows(
            session,
            stmt,
            Customer,
            sort=sort,
            cursor=cursor,
            limit=limit,
            sortable=SORTABLE,
            default="name",
        )
        ids = [c.id for c in found]
        figures: dict[int, CustomerFigures] = {}
        if out.figures and ids:
            figures = {f.customer_id: f for f in customer_figures(session, tenant, today, ids)}
        names = user_names(session, tenant.id, (c.finance_owner_id for c in found))
        by_hand = live_pauses(session, tenant.id, ids) if ids else {}
        paused = {i: by_hand.get(i, PROMISED) for i in paused_ids(session, tenant.id, today, ids)}
        out.rows = [
            Row(
                c,
                names.get(c.finance_owner_id) if c.finance_owner_id else None,
                figures.get(c.id),
                paused.get(c.id),
            )
            for c in found
        ]
        return out


def csv_header(listing: Listing) -> list[str]:
    head = ["id", "external_id", "name", "country", "currency", "finance_owner", "paused"]
    if listing.figures:
        head += ["figures_currency", "outstanding", "overdue", "open_disputes", "open_p2p"]
        head += [f"ageing {label}" for label in listing.buckets]
    return head


def _csv_row(row: Row) -> list[Any]:
    c = row.customer
    line: list[Any] = [c.id, c.external_id, c.name, c.country, c.currency, row.owner]
    line.append(row.paused or "")
    f = row.figures
    if f is not None:
        a = f.local or f.base
        line.append(a.currency)
        line += [a.money(n).amount for n in ("outstanding", "overdue", "open_issue", "open_p2p")]
        line += [Money.from_minor(v, a.currency).amount for v in a.buckets]
    return line


def csv_rows(me: Caller, wanted: CustomerFilter, sort: str, first: Listing) -> Iterator[list[Any]]:
    """Every row of the filtered list, read :data:`CSV_CHUNK` at a time."""
    listing = first
    while True:
        for row in listing.rows:
            yield _csv_row(row)
        if listing.next_cursor is None:
            return
        listing = list_page(me, wanted, sort, listing.next_cursor, limit=CSV_CHUNK)
