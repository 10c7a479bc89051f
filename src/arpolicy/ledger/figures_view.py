"""The per-customer figures as one SQL query (the "figures view").

Every per-customer figure of figures.py, and every payment-profile fact of the rule
catalogue (last attempt, payment sources, main subscription), is a column expression over
``customers``; the aggregates an expression needs (open items, payments, disputes, promises,
attempts, credit sales, the last attempt, sources, the subscription) are outer-joined, each
once, the first time an expression asks for it. So a caller that reads two figures joins
one or two grouped subqueries, not seven.

One definition, several readers: :func:`arpolicy.ledger.figures.customer_figures` builds
the customer reports from it, and the rule language's bulk selection
(:mod:`arpolicy.ledger.selection`) compiles customer-, payment- and invoice-level rules to
SQL over the same columns and reads the typed records of ``to_python`` / ``explain`` from
them. The aggregates are the queries of figures_sql.py grouped by customer; the formulas
here only combine them (outstanding = open debits - credit - unaccounted, the local
currency, the mismatch, DSO and the average number of attempts).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import date
from typing import Any

from sqlalchemy import BigInteger, and_, case, cast, func, select
from sqlalchemy.orm import aliased

from arpolicy.ledger.figures_sql import (
    SIDES,
    attempts_query,
    documents_query,
    sales_query,
    side_query,
)
from arpolicy.models import (
    Customer,
    PaymentAttempt,
    PaymentSource,
    SourceRole,
    Subscription,
    SubscriptionStatus,
    Tenant,
    User,
)

DSO_PERIOD_DAYS = 90
"""Days of credit sales the DSO compares open debits with."""
DOCUMENT_FIGURES = ("open_debits", "unutilised_credit", "overdue", "net_overdue")


class Joins:
    """A FROM clause that grows by joins, each added once, when first asked for."""

    def __init__(self, clause: Any) -> None:
        self.clause = clause
        self._done: dict[str, Any] = {}

    def add(self, key: str, make: Callable[[], tuple[Any, Any]], outer: bool = True) -> Any:
        if key not in self._done:
            target, on = make()
            join = self.clause.outerjoin if outer else self.clause.join
            self.clause = join(target, on)
            self._done[key] = target
        return self._done[key]


def half_even(num: Any, den: Any, places: int) -> Any:
    """``num / den`` rounded half to even to ``places`` decimals, as an integer count of
    10**-places (NULL unless ``den > 0``). Integer arithmetic only, so SQLite and
    PostgreSQL agree with Python's ``Decimal.quantize`` to the last digit."""
    n = cast(num, BigInteger) * 10**places
    d = cast(den, BigInteger)
    a = case((n < 0, -n), else_=n)
    q = a // d
    r = a - q * d
    k = q + case((2 * r > d, 1), (and_(2 * r == d, q % 2 == 1), 1), else_=0)
    return case((d > 0, case((n < 0, -k), else_=k)))


class CustomerFigureSQL:
    """The figures of the customer in ``Customer`` as SQL expressions, joining what each
    needs onto ``joins`` (which must already reach ``customers``, or reach it through
    ``prepare``)."""

    def __init__(
        self,
        tenant: Tenant,
        as_of: date,
        joins: Joins,
        *,
        customer_ids: Sequence[int] | None = None,
        dso_period_days: int = DSO_PERIOD_DAYS,
        prepare: Callable[[], None] = lambda: None,
    ) -> None:
        self.tenant, self.as_of, self.joins = tenant, as_of, joins
        self.customer_ids = customer_ids
        self.dso_period_days = dso_period_days
        self.prepare = prepare
        self.buckets = len(tenant.ageing_bounds) + 2
        self._memo: dict[tuple[str, bool], Any] = {}

    def _once(self, key: tuple[str, bool], make: Callable[[], Any]) -> Any:
        """Each expression built once (the same object wherever it is used)."""
        if key not in self._memo:
            self._memo[key] = make()
        return self._memo[key]

    # the customer row -------------------------------------------------------------------
    def attribute(self, name: str) -> Any:
        self.prepare()
        return getattr(Customer, name)

    def owner(self, role: str) -> Any:
        """The email of the customer's ``finance`` or ``sales`` owner."""
        self.prepare()
        user = self.joins.add(f"{role}_owner", lambda: self._owner(role))
        return user.email

    def _owner(self, role: str) -> tuple[Any, Any]:
        user = aliased(User, name=f"{role}_owner")
        on = and_(
            user.tenant_id == Customer.tenant_id,
            user.id == getattr(Customer, f"{role}_owner_id"),
        )
        return user, on

    # the aggregates ---------------------------------------------------------------------
    def part(self, name: str) -> Any:
        """The grouped subquery ``name``, joined on the customer id."""
        self.prepare()
        return self.joins.add(name, lambda: self._part(name))

    def _part(self, name: str) -> tuple[Any, Any]:
        t, on, ids = self.tenant, self.as_of, self.customer_ids
        extra: list[Any] = []
        if name == "documents":
            stmt = documents_query(t, on, True, ids)
        elif name in SIDES:
            stmt = side_query(name, t, on, True, ids)
        elif name == "attempts":
            stmt = attempts_query(t, True, ids)
        elif name == "sales":
            stmt = sales_query(t, on, self.dso_period_days, True, ids)
        else:
            stmt = self._latest(name)
        sq = stmt.subquery(f"f_{name}")
        if "rn" in sq.c:
            extra.append(sq.c.rn == 1)
        return sq, and_(sq.c.customer_id == Customer.id, *extra)

    def _latest(self, name: str) -> Any:
        """One row per customer, ranked by ``rn``: its last attempt, its primary or backup
        source (the newest), its main subscription (a live one before a cancelled one, then
        the newest)."""
        m: Any
        if name == "last_attempt":
            m = PaymentAttempt
            order: list[Any] = [m.attempted_at.desc(), m.id.desc()]
            cols: list[Any] = [
                m.attempted_at,
                m.status,
                m.currency,
                m.amount_minor,
                m.method,
                m.failure_reason,
                m.gateway,
                m.dunning_status,
                m.next_retry_at,
            ]
            where: list[Any] = []
        elif name in ("primary_source", "backup_source"):
            m = PaymentSource
            order, cols = [m.id.desc()], [m.kind, m.status, m.last4, m.previous_last4]
            where = [m.role == SourceRole(name.removesuffix("_source"))]
        elif name == "subscription":
            m = Subscription
            cancelled = case((m.status == SubscriptionStatus.CANCELLED, 1), else_=0)
            order, cols, where = [cancelled, m.id.desc()], [m.status], []
        else:
            raise KeyError(name)
        rn = func.row_number().over(partition_by=m.customer_id, order_by=order)
        stmt = select(m.customer_id, *cols, rn.label("rn")).where(m.tenant_id == self.tenant.id)
        if self.customer_ids is not None:
            stmt = stmt.where(m.customer_id.in_(self.customer_ids))
        return stmt.where(*where)

    # the figures ------------------------------------------------------------------------
    def _bucket_sums(self, local: bool) -> list[Any]:
        docs, p = self.part("documents"), "l" if local else "b"
        return [func.coalesce(docs.c[f"{p}{i}"], 0) for i in range(1, self.buckets + 1)]

    def raw(self, figure: str, local: bool = False) -> Any:
        return self._once((figure, local), lambda: self._raw(figure, local))

    def _raw(self, figure: str, local: bool) -> Any:
        """A figure (one of figures_sql.AMOUNTS, or ``bucket<i>``) in minor units of the
        base currency, or with ``local`` of the documents' own currencies (meaningful only
        where :meth:`local_currency` is not NULL; :meth:`amount` checks that)."""
        if figure.startswith("bucket"):
            return self._bucket_sums(local)[int(figure.removeprefix("bucket"))]
        if figure in SIDES:
            return func.coalesce(self.part(figure).c["local" if local else "base"], 0)
        credit = func.coalesce(self.part("documents").c["l0" if local else "b0"], 0)
        if figure == "unutilised_credit":
            return credit
        buckets = self._bucket_sums(local)
        if figure in ("overdue", "net_overdue"):
            overdue = sum(buckets[2:], buckets[1])
            return overdue if figure == "overdue" else overdue - credit
        open_debits = sum(buckets[1:], buckets[0])
        if figure == "open_debits":
            return open_debits
        if figure == "outstanding":
            return open_debits - credit - self.raw("unaccounted_payment", local)
        raise KeyError(figure)

    def amount(self, figure: str, local: bool = False) -> Any:
        """:meth:`raw`, and with ``local`` NULL where the customer has no local currency."""
        value = self.raw(figure, local)
        return case((self.local_currency().is_not(None), value)) if local else value

    def local_currency(self) -> Any:
        return self._once(("local_currency", True), self._local_currency)

    def _local_currency(self) -> Any:
        """The one currency of everything the customer has open (documents, unallocated
        payments, open disputes and promises); its billing currency when it has nothing
        open; NULL when it mixes currencies."""
        cols = []
        for name in ("documents", *SIDES):
            sq = self.part(name)
            cols += [sq.c.lo, sq.c.hi]
        first = func.coalesce(*cols)
        same = and_(*(func.coalesce(c, first) == first for c in cols))
        return case((first.is_(None), self.attribute("currency")), (same, first))

    def outstanding_mismatch(self) -> Any:
        """Reported balance - local outstanding, when both are in the customer's currency."""
        reported, ccy = self.attribute("reported_balance_minor"), self.attribute("currency")
        known = and_(reported.is_not(None), ccy.is_not(None), self.local_currency() == ccy)
        return case((known, reported - self.raw("outstanding", local=True)))

    def next_p2p_date(self) -> Any:
        return self.part("open_p2p").c.next_p2p

    def attempts(self, column: str = "n") -> Any:
        """``n`` (all attempts), ``on_docs`` or ``docs`` (see figures_sql.attempts_query)."""
        return func.coalesce(self.part("attempts").c[column], 0)

    def average_attempts_hundredths(self) -> Any:
        """Attempts for documents / attempted documents, in hundredths (NULL: none)."""
        return half_even(self.attempts("on_docs"), self.attempts("docs"), 2)

    def dso_tenths(self) -> Any:
        """DSO in tenths of a day: open debits / credit sales x period (NULL: no sales)."""
        sales = self.part("sales").c.total
        return half_even(self.raw("open_debits") * self.dso_period_days, sales, 1)

    def latest(self, name: str, column: str) -> Any:
        """A column of the customer's ``last_attempt``, ``primary_source``,
        ``backup_source`` or ``subscription`` (NULL when it has none)."""
        return self.part(name).c[column]
