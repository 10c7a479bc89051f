"""Part of the repository room: the cycles compiled for a day. Each rule runs once, as SQL
(the ledger's selection), and becomes the set of ids it matches; the policy only asks
membership. A backtest's :class:`PastSelector` judges invoice rules on a past day's
balances.

Which templates can lead a merged email is settled here too: those that list ``steps``
(each invoice under its step). A merged email is rendered by the template of its most
advanced step; one that shows only ``invoices`` would hide the other steps' invoices, so
its customer gets one email per step instead (docs/engagement.md, "Several steps on one
day")."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from datetime import date
from functools import lru_cache
from typing import TYPE_CHECKING, Any

from jinja2 import Environment, TemplateSyntaxError, nodes
from sqlalchemy.orm import Session

from arpolicy.engagement.policy import CompiledCycle, matcher
from arpolicy.engagement.templates import builtin
from arpolicy.kit.money import Money
from arpolicy.ledger.catalogue import tenant_catalogue
from arpolicy.ledger.rates import exchange
from arpolicy.ledger.selection import (
    invoice_records,
    select_customers,
    select_invoices,
    select_payment_profiles,
)
from arpolicy.models import Tenant
from arpolicy.rules import Catalogue, bind, check, intake, to_python
from arpolicy.rules.catalogue import Level

if TYPE_CHECKING:
    from arpolicy.engagement.repository import StoredCycle


def catalogue(session: Session, tenant: Tenant) -> Catalogue:
    """The tenant's rule fields, its custom fields and users included."""
    return tenant_catalogue(session, tenant)


def rule_of(value: str | dict[str, Any]) -> Any:
    return intake.read(value)


class Selector:
    """Rules run as SQL, each once per day: the ids they match."""

    def __init__(self, session: Session, tenant: Tenant, day: date) -> None:
        self.session, self.tenant, self.day = session, tenant, day
        self.cat = catalogue(session, tenant)
        self.exchange = exchange(session, tenant)  # money literals compare at its rates
        self.memo: dict[tuple[str, str], set[int]] = {}

    def ids(self, level: Level, rule: str | dict[str, Any] | None) -> set[int] | None:
        if rule is None:
            return None
        key = (level.value, rule if isinstance(rule, str) else repr(sorted(rule.items())))
        if key not in self.memo:
            fields = self.cat.level(level)
            checked = check(rule_of(rule), fields)
            bound = bind(checked, self.day, tz=self.tenant.timezone, exchange=self.exchange)
            self.memo[key] = set(self.matching(level, bound, fields))
        return self.memo[key]

    def matching(self, level: Level, bound: Any, fields: Any) -> Iterable[int]:
        """The ids the bound rule selects at ``level`` (in SQL over the tenant)."""
        if level is Level.INVOICE:
            return self.invoices(bound, fields)
        if level is Level.CUSTOMER:
            return select_customers(self.session, self.tenant, bound, fields)
        return select_payment_profiles(self.session, self.tenant, bound, fields)

    def invoices(self, bound: Any, fields: Any) -> Iterable[int]:
        """Only invoices with a balance are ever reminded: the rule runs over those."""
        return select_invoices(self.session, self.tenant, bound, fields, open_only=True)


class PastSelector(Selector):
    """For backtests: invoice rules judged on each day's balances. The rule runs in Python
    over the invoices open that day (``open_on``: id -> balance in minor units), with
    ``balance`` and ``paid`` as they were; every other field reads today's ledger."""

    def __init__(
        self, session: Session, tenant: Tenant, day: date, open_on: dict[int, tuple[int, str]]
    ) -> None:
        super().__init__(session, tenant, day)
        self.open_on = open_on

    def invoices(self, bound: Any, fields: Any) -> Iterable[int]:
        matches = to_python(bound, fields)
        out = []
        for i, record in invoice_records(
            self.session, self.tenant, fields, self.day, sorted(self.open_on)
        ):
            minor, currency = self.open_on[i]
            if "balance" in record:
                record["balance"] = Money.from_minor(minor, currency)
            if "paid" in record:
                record["paid"] = minor == 0
            if matches(record):
                out.append(i)
        return out


def compile_cycles(
    session: Session,
    tenant: Tenant,
    stored: Sequence[StoredCycle],
    day: date,
    selector: Selector | None = None,
) -> list[CompiledCycle]:
    """The cycles with their rules run for ``day`` (by ``selector``, default today's
    ledger), in the order given."""
    sel = selector or Selector(session, tenant, day)
    out = []
    for s in stored:
        c = s.cycle
        customers, payment = sel.ids(Level.CUSTOMER, c.customer), sel.ids(Level.PAYMENT, c.payment)
        both = (
            customers
            if payment is None
            else (payment if customers is None else customers & payment)
        )
        compiled = CompiledCycle(
            s.row.id,
            c,
            matcher(both),
            matcher(sel.ids(Level.INVOICE, c.invoice)),
            [matcher(sel.ids(Level.INVOICE, r.when)) for r in c.reminders],
            [c.merge and lists_steps(r.template) for r in c.reminders],
        )
        out.append(compiled)
    return out


_ENV = Environment()


def lists_steps(template: str | Mapping[str, Any]) -> bool:
    """Every language's text (and HTML, when it has one) reads ``steps``."""
    try:
        langs = builtin(template) if isinstance(template, str) else template
    except KeyError:
        return False
    parts: list[str | None] = []
    for spec in langs.values():
        get = spec.get if isinstance(spec, Mapping) else (lambda k, s=spec: getattr(s, k, None))
        parts += [get("text"), get("html")]
    sources = [p for p in parts if isinstance(p, str)]
    return bool(sources) and all(_reads(p, "steps") for p in sources)


@lru_cache(maxsize=1024)
def _reads(source: str, name: str) -> bool:
    try:
        ast = _ENV.parse(source)
    except TemplateSyntaxError:
        return False
    return any(n.name == name and n.ctx == "load" for n in ast.find_all(nodes.Name))
