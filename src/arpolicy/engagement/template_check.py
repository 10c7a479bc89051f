"""Checking templates before they are saved: every problem with where, what and how to
fix it (the API's 422), found by reading them and by rendering them against samples."""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import fields, replace
from datetime import date, timedelta
from difflib import get_close_matches
from typing import Any

from babel import Locale, UnknownLocaleError
from jinja2 import TemplateSyntaxError, nodes
from jinja2.exceptions import SecurityError, UndefinedError

from arpolicy.engagement.template_data import (
    BUILTINS,
    PARTS,
    InvoiceLine,
    RenderContext,
    StepLines,
    TemplateSet,
    parse_locale,
)
from arpolicy.engagement.templates import (
    _ENVS,
    VARIABLES,
    _compile,
    _kind,
    _render_part,
    _variables,
    builtin,
    one_line,
)
from arpolicy.kit.bank import BankDetails
from arpolicy.kit.money import Money


# ------------------------------------------------------------------------------- samples
def sample_context(as_of: date) -> RenderContext:
    """A realistic customer with three open invoices in two currencies, a credit note and a
    payment on account, a payment link and bank details."""

    def line(
        number: str, kind: str, age: int, terms: int, amount: str, open_: str, cur: str
    ) -> InvoiceLine:
        issued = as_of - timedelta(days=age)
        due = issued + timedelta(days=terms)
        return InvoiceLine(
            number,
            kind,
            issued,
            due,
            (as_of - due).days,
            Money.of(amount, cur),
            Money.of(open_, cur),
        )

    invoices = [
        line("INV-2041", "invoice", 50, 30, "1234.56", "1234.56", "EUR"),
        line("INV-2057", "invoice", 35, 30, "860.00", "310.00", "EUR"),
        line("INV-2063", "invoice", 20, 30, "980.40", "980.40", "USD"),
    ]
    credit = replace(
        line("CN-0007", "credit_note", 12, 0, "-150.00", "-150.00", "EUR"),
        due_on=None,
        days_overdue=0,
    )
    on_account = replace(
        line("REM-5521", "payment", 6, 0, "-500.00", "-200.00", "USD"),
        due_on=None,
        days_overdue=0,
    )
    statement = sorted([*invoices, credit, on_account], key=lambda i: i.issued_on)
    return RenderContext(
        tenant_name="Acme Supplies Ltd",
        customer_name="Northwind Traders GmbH",
        customer_external_id="C-10482",
        contact_name="Alex Morgan",
        sender_name="Jamie Lee",
        sender_email="accounts@acme.example",
        cycle="Standard dunning",
        reminder="overdue",
        as_of=as_of,
        invoices=invoices,
        statement=statement,
        payment_link="https://pay.acme.example/C-10482",
        bank=BankDetails("Acme Supplies Ltd", "GB82WEST12345698765432", "WESTGB2L", "Westbank"),
        steps=[
            StepLines("overdue", invoices, "overdue"),  # merged: another step's invoice
            StepLines(
                "friendly",
                [line("INV-2070", "invoice", 10, 30, "420.00", "420.00", "EUR")],
                "due_soon",
            ),
        ],
    )


# ------------------------------------------------------------------------------ validate
_SAMPLE_DAY = date(2026, 3, 16)
_FIELDS = {
    "an invoice line": [f.name for f in fields(InvoiceLine)],
    "a Money": ["amount", "currency"],
    "a step": ["reminder", "invoices", "status"],
    "bank": ["account_holder", "iban", "iban_print", "bic", "bank_name"],
}
_HELPERS = ("money", "date", "totals", "invoice_table")


def _problem(where: str, what: str, fix: str) -> dict[str, str]:
    return {"where": where, "what": what, "fix": fix}


def _samples() -> list[RenderContext]:
    full = sample_context(_SAMPLE_DAY)
    undated = replace(full.invoices[0], due_on=None, days_overdue=0)
    bare = replace(
        full,
        contact_name=None,
        sender_name=None,
        sender_email=None,
        invoices=[undated],
        statement=None,
        statement_balance=None,
        payment_link=None,
        bank=None,
        test=True,
    )
    no_bic = replace(full.bank, bic=None, bank_name=None) if full.bank else None
    return [full, bare, replace(bare, statement=[], statement_balance=[], bank=no_bic)]


def _parts(spec: Any, here: str, out: list[dict[str, str]]) -> dict[str, str]:
    """The parts of one language that are text, reporting the missing and the unknown."""
    if isinstance(spec, Mapping):
        for key in spec:
            if key not in ("subject", "text", "html"):
                out.append(
                    _problem(
                        f"{here}.{key}",
                        f"unknown part {key!r}",
                        "a language has a subject, a text and optionally an html",
                    )
                )
        get: Callable[[str], Any] = spec.get
    else:
        get = lambda key: getattr(spec, key, None)  # noqa: E731
    found: dict[str, str] = {}
    for part, _ in PARTS:
        value = get(part)
        if isinstance(value, str) and value.strip():
            found[part] = value
        elif part != "html" or value is not None:
            what = (
                "is empty"
                if isinstance(value, str)
                else "is missing"
                if value is None
                else (f"is a {type(value).__name__}, not text")
            )
            fix = {
                "subject": "give a one-line subject, e.g. Invoice {{ invoices[0].number }} is overdue",
                "text": "give the plain-text body (every email has one, the HTML is optional)",
                "html": "give the HTML body as text, or leave html out",
            }[part]
            out.append(_problem(f"{here}.{part}", f"the {part} {what}", fix))
    return found


_KNOWN_TYPES = {
    "InvoiceLine": "an invoice line",
    "Money": "a Money",
    "list": "a list",
    "StepLines": "a step",
    "BankDetails": "bank",
}
_NO_ATTRIBUTE = re.compile(r"'(?:[\w.]+\.)?(\w+) object' has no attribute '(\w+)'")


def _explain(exc: BaseException) -> tuple[str, str]:
    """What went wrong in a sample render, and how to fix it."""
    what = str(exc) or type(exc).__name__
    if isinstance(exc, SecurityError):
        return what, (
            "templates may only read the data they are given: no names starting with _, "
            "no changing lists or dicts, no huge loops, widths or repetitions"
        )
    if not isinstance(exc, UndefinedError):
        return what, "check the expression on that line against the sample data (see the docs)"
    if what.startswith("'None' has no attribute"):
        return what, (
            "due_on, contact_name, sender_name, sender_email, statement, statement_balance, "
            "payment_link, bank, bank.bic and bank.bank_name may be none: check first, e.g. "
            "{% if line.due_on %}{{ line.due_on.year }}{% endif %}"
        )
    m = _NO_ATTRIBUTE.search(what)
    if m and m[1] in _KNOWN_TYPES:
        kind = _KNOWN_TYPES[m[1]]
        has = _FIELDS.get(kind, [])
        hint = "".join(f" (did you mean {c!r}?)" for c in get_close_matches(m[2], has, 1))
        return f"{kind} has no {m[2]!r}", f"{kind} has {', '.join(has) or 'no fields'}{hint}"
    known = "; ".join(f"{k} has {', '.join(v)}" for k, v in _FIELDS.items())
    return what, f"use the variables {', '.join(VARIABLES)}; {known}"


def _line_of(exc: BaseException) -> int | None:
    line, tb = None, exc.__traceback__
    while tb is not None:
        if tb.tb_frame.f_code.co_filename == "<template>":
            line = tb.tb_lineno
        tb = tb.tb_next
    return line


def _syntax(e: TemplateSyntaxError, where: str) -> dict[str, str]:
    message = e.message or "syntax error"
    m = re.match(r"No (filter|test) named '([^']*)'", message)
    if m:
        names = [*_HELPERS, *_ENVS["text"].filters] if m[1] == "filter" else [*_ENVS["text"].tests]
        hint = "".join(f"did you mean {c!r}? " for c in get_close_matches(m[2], names, 1))
        return _problem(
            f"{where} line {e.lineno}",
            f"unknown {m[1]} {m[2]!r}",
            f"{hint}use one of the helpers {', '.join(_HELPERS)} or a Jinja built-in "
            "(https://jinja.palletsprojects.com/en/stable/templates/#list-of-builtin-filters)",
        )
    return _problem(
        f"{where} line {e.lineno}",
        message,
        "check the {{ }} and {% %} tags: every if, for and macro needs its end tag",
    )


def _static(part: str, source: str, where: str) -> list[dict[str, str]]:
    """Syntax errors, then unknown variables (in every branch) and unknown filters."""
    env = _ENVS[_kind(part)]
    try:
        ast = env.parse(source)
    except TemplateSyntaxError as e:
        return [_syntax(e, where)]
    known = {*VARIABLES, *env.globals}
    # names read but never set anywhere (scoping slips are left to the sample renders)
    names = list(ast.find_all(nodes.Name))
    unknown = {n.name for n in names if n.ctx == "load"} - known
    unknown -= {n.name for n in names if n.ctx in ("store", "param")}
    out, seen = [], set()
    for node in names:
        if node.ctx == "load" and node.name in unknown and node.name not in seen:
            seen.add(node.name)
            hint = "".join(
                f" (did you mean {m!r}?)" for m in get_close_matches(node.name, known, 1)
            )
            out.append(
                _problem(
                    f"{where} line {node.lineno}",
                    f"unknown variable {node.name!r}",
                    f"use one of {', '.join(VARIABLES)}{hint}",
                )
            )
    try:
        _compile(_kind(part), source)
    except TemplateSyntaxError as e:
        out.append(_syntax(e, where))
    return out


def _check(
    part: str, source: str, where: str, locale: Locale, language: str
) -> list[dict[str, str]]:
    problems = _static(part, source, where)
    for context in [] if problems else _samples():
        try:
            variables = _variables(context, locale, language)
            result = _render_part(part, source, variables, locale)
        except Exception as e:
            line = _line_of(e)
            problem = _problem(f"{where} line {line}" if line else where, *_explain(e))
            if problem not in problems:
                problems.append(problem)
            if isinstance(e, SecurityError):
                break  # the same again on the next sample, and maybe as slowly
            continue
        if part == "subject" and not one_line(result):
            problems.append(
                _problem(
                    where, "the subject is empty once rendered", "give the subject some fixed text"
                )
            )
            break
    return problems


def validate(
    templates: TemplateSet | Mapping[str, Any] | str, where: str = "templates"
) -> list[dict[str, str]]:
    """Every problem of a template set (or built-in name), each ``{where, what, fix}``:
    syntax errors with their line, unknown filters and variables, unknown languages, missing
    parts, and the errors a render of the sample customers raises. Empty when all is well."""
    if isinstance(templates, str):
        if templates not in BUILTINS:
            return [
                _problem(
                    where,
                    f"there is no built-in template named {templates!r}",
                    f"use one of {', '.join(BUILTINS)}, or give the templates per "
                    'language: {"en": {"subject": ..., "text": ..., "html": ...}}',
                )
            ]
        templates = builtin(templates)
    if not isinstance(templates, Mapping) or not templates:
        return [
            _problem(
                where,
                "no template is given",
                "give a built-in name "
                f"({', '.join(BUILTINS)}) or the templates per language, e.g. "
                '{"en": {"subject": ..., "text": ..., "html": ...}}',
            )
        ]
    out: list[dict[str, str]] = []
    for lang, spec in templates.items():
        here = f"{where}.{lang}"
        try:
            locale = parse_locale(str(lang))
        except (ValueError, UnknownLocaleError):
            out.append(
                _problem(
                    here,
                    f"{lang!r} is not a language or locale code",
                    "use an ISO 639 language code such as en, de or fr, optionally "
                    "with a territory (de_AT, fr-CH)",
                )
            )
            locale = Locale("en")
        for part, source in _parts(spec, here, out).items():
            out.extend(_check(part, source, f"{here}.{part}", locale, str(lang)))
    return out
