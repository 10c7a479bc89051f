"""``arpolicy rules check|match``: validate a rule, and see what it selects and why.

``match`` runs at every level: invoice rules select documents (shown by number), customer
and payment rules select customers (shown by external id); ``--explain`` takes a document
number or a customer id accordingly. A decision table shows what each of its rules
decides (the records it matches, grouped by outcome)."""

from __future__ import annotations

import json
from typing import Any

import typer
from sqlalchemy import select
from sqlalchemy.orm import Session

from arpolicy.cli import terminal
from arpolicy.cli.common import (
    AsOfOption,
    JsonOption,
    TenantOption,
    handle_errors,
    parse_as_of,
    tenant_session,
)
from arpolicy.exceptions import NotFoundError
from arpolicy.ledger import selection
from arpolicy.ledger.catalogue import tenant_catalogue
from arpolicy.ledger.rates import exchange
from arpolicy.ledger.selection.coverage import RuleCheck, rule_warnings
from arpolicy.models import Customer, Document, Tenant
from arpolicy.rules import (
    FieldSet,
    Level,
    RuleError,
    bind,
    check,
    explain,
    parse,
    to_json,
    to_text,
)
from arpolicy.rules.ast import DecisionTable
from arpolicy.rules.explain import short_rate

app = typer.Typer(
    help="The rule language: check a rule, preview what it matches.", no_args_is_help=True
)
LevelOption = typer.Option("invoice", "--level", "-l", help="customer, invoice or payment.")


def catalogue_fields(session: Session, tenant: Tenant, level: str) -> FieldSet:
    """The tenant's fields of ``level``, its custom fields included."""
    return tenant_catalogue(session, tenant).level(level)


def _fail_rule(exc: RuleError, as_json: bool) -> None:
    if as_json:
        terminal.print_json({"valid": False, "problems": [p.to_json() for p in exc.problems]})
    else:
        for p in exc.problems:
            terminal.err.print(f"error: {p.where}: {p.what}", markup=False)
            terminal.err.print(f"  fix: {p.fix}", markup=False)
    raise typer.Exit(2)


@app.command("check")
@handle_errors
def check_rule(
    text: str = typer.Argument(..., help="The rule, e.g. 'balance > 500 USD and not disputed'."),
    level: str = LevelOption,
    tenant: str = TenantOption,
    as_of: str = AsOfOption,
    as_json: bool = JsonOption,
) -> None:
    """Validate a rule against the tenant's fields; print its canonical text and JSON.
    Warn (exit status 0) when it is unknown for many of the tenant's records."""
    with tenant_session(tenant) as (session, t):
        fields = catalogue_fields(session, t, level)
        try:
            rule = check(parse(text), fields)
        except RuleError as exc:
            _fail_rule(exc, as_json)
            return
        on = parse_as_of(as_of, t)
        found = rule_warnings(session, t, [RuleCheck("", rule, fields)], as_of=on)
    if as_json:
        terminal.print_json(
            {
                "valid": True,
                "level": level,
                "text": to_text(rule),
                "json": to_json(rule),
                "warnings": [w.to_json() for w in found],
            }
        )
        return
    terminal.say(f"valid {level} rule: {to_text(rule)}")
    for w in found:
        terminal.warning(f"{w.message} (as of {on.isoformat()})", w.fix)


@app.command("match")
@handle_errors
def match_rule(
    text: str = typer.Argument(..., help="The rule."),
    level: str = LevelOption,
    tenant: str = TenantOption,
    as_of: str = AsOfOption,
    explain_id: str = typer.Option(
        None,
        "--explain",
        help="Explain the verdict for this document number (invoice level) or customer id.",
    ),
    limit: int = typer.Option(50, help="Show at most this many matches (0: all)."),
    as_json: bool = JsonOption,
) -> None:
    """Select what a rule matches at its level, in the database, as of a date."""
    with tenant_session(tenant) as (session, t):
        on = parse_as_of(as_of, t)
        fields = catalogue_fields(session, t, level)
        try:
            rule = check(parse(text), fields)
            bound = bind(rule, on, tz=t.timezone, exchange=exchange(session, t))
        except RuleError as exc:
            _fail_rule(exc, as_json)
            return
        decisions = None
        if isinstance(bound.rule, DecisionTable):
            decisions = selection.decide(session, t, bound, fields)
            ids = decisions.matched
        else:
            ids = selection.select(session, t, bound, fields)
        shown = ids[:limit] if limit else ids
        labels = _labels(session, fields.level, shown)
        groups = _groups(session, fields.level, decisions, limit) if decisions else None
        explained = _explain(session, t, fields, bound, explain_id) if explain_id else None
    invoices = fields.level is Level.INVOICE
    key = "documents" if invoices else "customers"
    result: dict[str, Any] = {
        "as_of": on.isoformat(),
        "level": fields.level.value,
        "rule": bound.to_json(),
        "matches": len(ids),
        key: labels,
    }
    if groups is not None:
        result["outcomes"] = [
            {k: v for k, v in g.items() if k != "labels"} | {key: g["labels"]} for g in groups
        ]
    if explained is not None:
        result["explanation"] = explained
    if as_json:
        terminal.print_json(result)
        return
    what = "invoice(s)" if invoices else "customer(s)"
    if groups is not None:
        what += " match a rule of the table"
    else:
        what += " match"
    terminal.say(f"{len(ids)} {what} as of {on.isoformat()}: {to_text(bound.rule)}")
    for r in bound.resolutions:
        when = (
            r.start.isoformat()
            if r.start == r.end
            else f"{r.start.isoformat()}..{r.end.isoformat()}"
        )
        terminal.say(f"  {r.phrase} = {when}")
    for rate in bound.fx.items:
        via = f" via {rate.via}" if rate.via else ""
        dated = f" (rate of {rate.valid_on.isoformat()}{via})" if rate.valid_on else ""
        terminal.say(f"  1 {rate.source} = {short_rate(rate.rate)} {rate.target}{dated}")
    if groups is not None:
        _say_groups(groups, "invoice" if invoices else "customer")
    elif shown:
        terminal.say("  " + ", ".join(labels) + (" ..." if len(shown) < len(ids) else ""))
    if explained is not None:
        terminal.say(explained["text"])


def _groups(
    session: Session, level: Level, decisions: selection.Decisions, limit: int
) -> list[dict[str, Any]]:
    """Each outcome of a table with the records it goes to (the first ``limit``)."""
    found = []
    for g in decisions.groups():
        shown = list(g.ids[:limit] if limit else g.ids)
        item = {"rule": g.rule, "then": g.outcome, "labels": _labels(session, level, shown)}
        if g.rule is not None:
            item["matches"] = len(g.ids)
        found.append(item)
    return found


def _say_groups(groups: list[dict[str, Any]], noun: str) -> None:
    for g in groups:
        then = json.dumps(g["then"], ensure_ascii=False)
        if g["rule"] is None:
            terminal.say(f"  otherwise {then}: every other {noun}")
            continue
        more = " ..." if len(g["labels"]) < g["matches"] else ""
        listed = ": " + ", ".join(g["labels"]) + more if g["labels"] else ""
        terminal.say(f"  rule {g['rule']} then {then}: {g['matches']}{listed}")


def _labels(session: Session, level: Level, ids: list[int]) -> list[str]:
    """Document numbers or customer external ids, in the order of ``ids``."""
    model: Any = Document if level is Level.INVOICE else Customer
    label = model.number if level is Level.INVOICE else model.external_id
    found: dict[int, str] = dict(
        session.execute(select(model.id, label).where(model.id.in_(ids))).all()
    )
    return [found[i] for i in ids]


def _explain(session: Session, t: Tenant, fields: FieldSet, bound: Any, key: str) -> dict[str, Any]:
    if fields.level is Level.INVOICE:
        found = session.scalar(
            select(Document.id).where(Document.tenant_id == t.id, Document.number == key)
        )
        what, field = "document numbered", "number"
    else:
        found = session.scalar(
            select(Customer.id).where(Customer.tenant_id == t.id, Customer.external_id == key)
        )
        what, field = "customer with id", "customer"
    if found is None:
        raise NotFoundError(f"no {what} {key!r}", where="--explain", fix=f"check the {field}")
    ((_, record),) = selection.records(session, t, fields, bound.as_of, [found])
    exp = explain(bound, record, fields)
    return {field: key, "verdict": exp.verdict, "text": exp.text()}
