"""Reminder email templates: subject, plain text and HTML per language, rendered in a sandbox.

A cycle gives its templates either by the name of a built-in (``friendly``, ``firm``,
``final``; files in ``template_files/<name>.<lang>.{subject,txt,html}``) or per language::

    {"en": {"subject": "...", "text": "...", "html": "..."}, "de": {...}}

Templates are Jinja2 run in an :class:`~jinja2.sandbox.ImmutableSandboxedEnvironment` with
:class:`~jinja2.StrictUndefined` (a misspelt variable is an error, never an empty string),
autoescaping for HTML only, ``trim_blocks`` and ``lstrip_blocks``. Besides the fields of
:class:`RenderContext` (``customer_name``, ``invoices``, ``statement``...), ``locale`` and
``language``, templates get, as filters and as functions: ``money`` (a Money, or a list of
them, in the customer's locale), ``date`` (Babel ``format_date``), ``totals`` (open balance
per currency) and ``invoice_table`` (an aligned text table, or an HTML table with inline
styles). A render that runs too long or writes too much stops with a SecurityError.
:func:`validate` lists every problem with where, what and how to fix it (the API's 422).
"""

from __future__ import annotations

import re
import time
import unicodedata
from collections.abc import Callable, Iterable, Mapping, Sequence
from contextvars import ContextVar
from dataclasses import dataclass, fields, replace
from datetime import date, timedelta
from decimal import Decimal
from difflib import get_close_matches
from functools import cache, lru_cache
from importlib import resources
from typing import Any, Protocol

from babel import Locale, UnknownLocaleError
from babel.dates import format_date
from babel.numbers import format_currency
from jinja2 import StrictUndefined, Template, TemplateSyntaxError, nodes
from jinja2.exceptions import SecurityError, UndefinedError
from jinja2.runtime import Context, EvalContext
from jinja2.sandbox import ImmutableSandboxedEnvironment
from jinja2.utils import pass_eval_context
from markupsafe import Markup, escape
from pydantic import BaseModel, ConfigDict, Field

from arpolicy.exceptions import ValidationError
from arpolicy.kit.money import Money
from arpolicy.kit.money import exponent as money_exponent

BUILTINS = ("friendly", "firm", "final")
PARTS = (("subject", "subject"), ("text", "txt"), ("html", "html"))
"""Template parts: the key in a cycle's JSON and the suffix of a built-in's file."""
MAX_SUBJECT = 998
MAX_OUTPUT = 5_000_000
"""Most characters one part may render (a statement of thousands of items fits)."""
MAX_SECONDS = 2.0
"""Longest a part may take to render."""
_WIDTH = 10_000
"""Largest padding, precision or repetition a template may ask of ``%``, format or a filter."""


@dataclass(frozen=True, slots=True)
class InvoiceLine:
    number: str
    document_type: str
    issued_on: date
    due_on: date | None
    days_overdue: int
    """Days past the due date (zero or negative: not yet due)."""
    total: Money
    balance: Money


@dataclass(frozen=True, slots=True)
class RenderContext:
    tenant_name: str
    customer_name: str
    customer_external_id: str
    contact_name: str | None
    sender_name: str | None
    sender_email: str | None
    cycle: str
    reminder: str
    as_of: date
    invoices: list[InvoiceLine]
    statement: list[InvoiceLine] | None = None
    """Every open item of the customer, when the reminder asks for a statement of account."""
    test: bool = False
    """A cycle in test: the caller marks the subject and sends to the test address."""


class TemplateText(BaseModel):
    """One language's templates, as a cycle stores them."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    subject: str = Field(min_length=1, max_length=MAX_SUBJECT)
    text: str = Field(min_length=1, max_length=100_000)
    html: str | None = Field(default=None, max_length=200_000)


class TemplateLike(Protocol):
    @property
    def subject(self) -> str: ...
    @property
    def text(self) -> str: ...
    @property
    def html(self) -> str | None: ...


TemplateSet = Mapping[str, TemplateLike]


@dataclass(frozen=True, slots=True)
class Rendered:
    subject: str
    text: str
    html: str | None
    language: str


class TemplateBudgetError(SecurityError):
    """A template that ran too long or wrote too much."""


# ---------------------------------------------------------------------------- languages
def _norm(code: str) -> str:
    return code.strip().replace("-", "_").lower()


def choose_language(
    available: Iterable[str], wanted: Sequence[str | None], default: str = "en"
) -> str:
    """The first wanted language or locale available ("de_AT" and "de-AT" match "de", "de"
    matches "de_CH"), else ``default`` if available, else the first available."""
    keys = list(available)
    by_norm = {_norm(k): k for k in reversed(keys)}
    by_base = {_norm(k).split("_")[0]: k for k in reversed(keys)}
    for w in [*wanted, default]:
        if not w or not w.strip():
            continue
        n = _norm(w)
        found = by_norm.get(n) or by_norm.get(n.split("_")[0]) or by_base.get(n.split("_")[0])
        if found:
            return found
    return keys[0] if keys else default


@lru_cache(maxsize=1024)
def parse_locale(code: str) -> Locale:
    """A Babel locale from "de", "de_AT" or "de-AT"; ValueError/UnknownLocaleError if none."""
    return Locale.parse(code.strip(), sep="-" if "-" in code else "_")


# ------------------------------------------------------------------------- per render run
@dataclass(slots=True)
class _Run:
    locale: Locale
    language: str
    deadline: float


_RUN: ContextVar[_Run | None] = ContextVar("arpolicy_template_run", default=None)


def _run() -> _Run:
    run = _RUN.get()
    if run is None:
        raise RuntimeError("template helpers are only available while rendering")
    if time.monotonic() > run.deadline:
        raise TemplateBudgetError(f"the template ran longer than {MAX_SECONDS:g} seconds")
    return run


def _sized(value: Any) -> Any:
    """``value``, unless it is a text or list larger than a whole email may be."""
    if isinstance(value, str | list | tuple | dict) and len(value) > MAX_OUTPUT:
        raise TemplateBudgetError(f"the template built a value of more than {MAX_OUTPUT} items")
    return value


def _big(n: Any) -> bool:
    return isinstance(n, int) and abs(n) > _WIDTH


_PERCENT_WIDTH = re.compile(r"%[-#0 +]*(?:\(\w*\))?(?:\*|\d{5,})|%[^%]*?\.(?:\*|\d{5,})")
_FORMAT_WIDTH = re.compile(r"\{[^{}]*(?:\{|:[^{}]*\d{5,})")
_PADDERS = frozenset({"center", "ljust", "rjust", "zfill", "expandtabs"})


class _Sandbox(ImmutableSandboxedEnvironment):
    """The Jinja sandbox, plus a time and size budget on each render."""

    intercepted_binops = frozenset({"*", "**", "%"})

    def call_binop(self, context: Context, operator: str, left: Any, right: Any) -> Any:
        _run()
        if (
            operator == "**"
            and isinstance(left, int)
            and isinstance(right, int)
            and max(abs(left).bit_length(), 1) * right > 4096
        ):
            raise SecurityError("the template computes a power too large")
        if operator == "*" and isinstance(left, str | list | tuple) ^ isinstance(
            right, str | list | tuple
        ):
            seq, n = (left, right) if isinstance(left, str | list | tuple) else (right, left)
            if isinstance(n, int) and len(seq) * n > MAX_OUTPUT:
                raise SecurityError("the template repeats a text or list too many times")
        if operator == "%" and isinstance(left, str) and _PERCENT_WIDTH.search(left):
            raise SecurityError(f"a %-format width or precision above {_WIDTH} in {left!r}")
        return super().call_binop(context, operator, left, right)

    def getattr(self, obj: Any, attribute: str) -> Any:
        _run()
        return _sized(super().getattr(obj, attribute))

    def getitem(self, obj: Any, argument: Any) -> Any:
        _run()
        return _sized(super().getitem(obj, argument))

    def call(__self, __context: Context, __obj: Any, *args: Any, **kwargs: Any) -> Any:
        _run()
        if getattr(__obj, "__name__", "") in _PADDERS and any(
            _big(a) for a in (*args, *kwargs.values())
        ):
            raise SecurityError(f"a width above {_WIDTH} passed to {__obj.__name__}")
        return super().call(__context, __obj, *args, **kwargs)

    def wrap_str_format(self, value: Any) -> Callable[..., str] | None:
        wrapped = super().wrap_str_format(value)
        if wrapped is None:
            return None
        if _FORMAT_WIDTH.search(value.__self__):
            raise SecurityError(f"nested or wide format fields in {value.__self__!r}")
        return wrapped


def _guard_width(name: str, fn: Callable[..., Any]) -> Callable[..., Any]:
    def guarded(*args: Any, **kwargs: Any) -> Any:
        if name == "format":
            if isinstance(args[0], str) and _PERCENT_WIDTH.search(args[0]):
                raise SecurityError(f"a %-format width or precision above {_WIDTH}")
        elif any(_big(a) for a in (*args[1:], *kwargs.values())):
            raise SecurityError(f"a width above {_WIDTH} passed to the {name} filter")
        return fn(*args, **kwargs)

    guarded.__dict__.update(fn.__dict__)  # keeps jinja_pass_arg
    return guarded


# ------------------------------------------------------------------------------- helpers
def money(value: Money | Iterable[Money]) -> str:
    """A Money in the render's locale ("1.234,56 €"); a list of them joined with ", "."""
    run = _run()
    if not isinstance(value, Money):
        if isinstance(value, str) or not isinstance(value, Iterable):
            raise TypeError(f"money() needs a Money or a list of Money, not {value!r}")
        return ", ".join(money(v) for v in value)
    return format_money(value, run.locale)


def format_money(value: Money, locale: Locale) -> str:
    """What Babel's ``format_currency`` gives, fast: the locale's layout for the currency
    (prefix, separators, suffix) is learnt once from Babel's own output, then each amount
    is laid out by hand. Layouts Babel builds differently (grouping other than by three,
    digits other than 0-9) go through Babel itself."""
    layout = _money_layout(str(locale), value.currency)
    if layout is None:
        return format_currency(
            value.amount, value.currency, locale=locale, decimal_quantization=False
        )
    pre, suf, npre, nsuf, group, point, digits = layout
    text = f"{abs(value.amount).quantize(_QUANTUM[digits]):f}"
    whole, _, frac = text.partition(".")
    head = len(whole) % 3 or 3
    body = group.join([whole[:head], *(whole[i : i + 3] for i in range(head, len(whole), 3))])
    if digits:
        body += point + frac
    return f"{npre}{body}{nsuf}" if value.amount < 0 else f"{pre}{body}{suf}"


_QUANTUM = {d: Decimal(1).scaleb(-d) for d in range(0, 5)}
_SAMPLE = re.compile(
    r"(?P<pre>.*?)1(?P<g>[^0-9]+)234(?P=g)567(?:(?P<p>[^0-9]+)(?P<f>[0-9]+))?(?P<suf>.*)", re.S
)


@lru_cache(maxsize=4096)
def _money_layout(locale: str, currency: str) -> tuple[str, str, str, str, str, str, int] | None:
    loc = parse_locale(locale)
    digits = money_exponent(currency)
    if digits not in _QUANTUM or tuple(loc.currency_formats["standard"].grouping) != (3, 3):
        return None
    value = Decimal("1234567" + ("." + "891234"[:digits] if digits else ""))
    pos = format_currency(value, currency, locale=loc, decimal_quantization=False)
    neg = format_currency(-value, currency, locale=loc, decimal_quantization=False)
    a, b = _SAMPLE.fullmatch(pos), _SAMPLE.fullmatch(neg)
    if a is None or b is None or a["g"] != b["g"] or a["p"] != b["p"]:
        return None
    if (a["f"] or "") != "891234"[:digits] or (b["f"] or "") != "891234"[:digits]:
        return None
    return a["pre"], a["suf"], b["pre"], b["suf"], a["g"], a["p"] or "", digits


def format_day(value: date | None, format: str = "medium") -> str:
    """A date in the render's locale; ``format`` is short, medium, long, full or a pattern."""
    run = _run()
    if value is None:
        return "–"
    if not isinstance(value, date):
        raise TypeError(f"date() needs a date, not {value!r}")
    return _format_date(value, format, str(run.locale))


@lru_cache(maxsize=16_384)
def _format_date(value: date, format: str, locale: str) -> str:
    return format_date(value, format, locale=parse_locale(locale))


def totals(lines: Iterable[InvoiceLine]) -> list[Money]:
    """The open balance per currency, sorted by currency; exact sums."""
    sums: dict[str, Money] = {}
    for line in lines:
        b = line.balance
        sums[b.currency] = sums[b.currency] + b if b.currency in sums else b
    return [sums[c] for c in sorted(sums)]


_HEADINGS = {
    "en": ["Invoice", "Due date", "Days overdue", "Open balance", "Document", "Date", "Amount"],
    "de": [
        "Rechnung",
        "Fällig am",
        "Tage überfällig",
        "Offener Betrag",
        "Beleg",
        "Datum",
        "Betrag",
    ],
    "fr": ["Facture", "Échéance", "Jours de retard", "Solde dû", "Pièce", "Date", "Montant"],
}
"""Column headings: the four of the short table, then the detailed table's own."""
_KINDS = {
    "en": {"credit_note": "credit note", "debit_note": "debit note"},
    "de": {"credit_note": "Gutschrift", "debit_note": "Belastungsanzeige"},
    "fr": {"credit_note": "avoir", "debit_note": "note de débit"},
}
_TH = "padding:6px 8px;border-bottom:2px solid #444444;font-weight:bold;"
_TD = "padding:6px 8px;border-bottom:1px solid #dddddd;"


@cache
def _not_narrow() -> re.Pattern[str]:
    """The characters not one column wide (combining, or wide and full-width East Asian),
    as one character class built from ``unicodedata`` once per process."""
    ranges: list[tuple[int, int]] = []
    for i in range(0x300, 0x110000):
        c = chr(i)
        if unicodedata.combining(c) or unicodedata.east_asian_width(c) in "WF":
            if ranges and ranges[-1][1] == i - 1:
                ranges[-1] = (ranges[-1][0], i)
            else:
                ranges.append((i, i))
    return re.compile(
        "[" + "".join(f"{re.escape(chr(a))}-{re.escape(chr(b))}" for a, b in ranges) + "]"
    )


def _width(text: str) -> int:
    if text.isascii() or not _not_narrow().search(text):
        return len(text)
    return sum(
        0 if unicodedata.combining(c) else 2 if unicodedata.east_asian_width(c) in "WF" else 1
        for c in text
    )


def _table_rows(lines: Iterable[InvoiceLine], detailed: bool) -> list[list[str]]:
    kinds = _KINDS.get(_run().language.split("_")[0], _KINDS["en"])
    rows = []
    for ln in lines:
        number = (
            f"{ln.number} ({kinds[ln.document_type]})" if ln.document_type in kinds else ln.number
        )
        overdue = ln.days_overdue > 0 and ln.balance.amount > 0
        days = str(ln.days_overdue) if overdue else "–"
        due, balance = format_day(ln.due_on), money(ln.balance)
        if detailed:
            rows.append([number, format_day(ln.issued_on), due, days, money(ln.total), balance])
        else:
            rows.append([number, due, days, balance])
    return rows


def _html_table(heads: Sequence[str], rows: list[list[str]], right: list[bool]) -> Markup:
    def cell(tag: str, style: str, text: str) -> str:
        return f'<{tag} style="{style}">{escape(text)}</{tag}>'

    align = [
        f"text-align:{'right' if r else 'left'};{'white-space:nowrap;' if i else ''}"
        for i, r in enumerate(right)
    ]
    th = "".join(cell("th", _TH + a, h) for h, a in zip(heads, align, strict=True))
    body = "".join(
        "<tr>" + "".join(cell("td", _TD + a, c) for c, a in zip(row, align, strict=True)) + "</tr>"
        for row in rows
    )
    return Markup(
        '<table cellpadding="0" cellspacing="0" border="0" style="border-collapse:collapse;'
        f'width:100%;margin:16px 0;font-size:14px;"><thead><tr>{th}</tr></thead>'
        f"<tbody>{body}</tbody></table>"
    )


def _text_table(heads: Sequence[str], rows: list[list[str]], right: list[bool]) -> str:
    widths = [max(_width(c) for c in col) for col in zip(heads, *rows, strict=True)]

    def line(cells: Sequence[str]) -> str:
        padded = [
            " " * (w - _width(c)) + c if r else c + " " * (w - _width(c))
            for c, w, r in zip(cells, widths, right, strict=True)
        ]
        return "  ".join(padded).rstrip()

    return "\n".join([line(heads), line(["-" * w for w in widths]), *map(line, rows)])


@pass_eval_context
def invoice_table(
    eval_ctx: EvalContext,
    lines: Iterable[InvoiceLine],
    detailed: bool = False,
    headings: Sequence[str] | None = None,
) -> str | Markup:
    """The lines as a table: number, due date, days overdue, open balance; ``detailed`` (a
    statement of account) adds the issue date and the amount. Plain text aligned in columns
    in the text part, an inline-styled HTML table (cells escaped) in the HTML part.
    ``headings`` replaces the column titles of the template's language."""
    titles = _HEADINGS.get(_run().language.split("_")[0], _HEADINGS["en"])
    columns = (4, 5, 1, 2, 6, 3) if detailed else (0, 1, 2, 3)
    heads = [titles[i] for i in columns]
    if headings is not None:
        if isinstance(headings, str) or len(headings) != len(heads):
            raise ValueError(f"invoice_table needs {len(heads)} headings, in this order: {heads}")
        heads = [str(h) for h in headings]
    right = [i in (2, 3, 6) for i in columns]
    rows = _table_rows(lines, detailed)
    if eval_ctx.autoescape:
        return _html_table(heads, rows, right)
    return _text_table(heads, rows, right)


# ------------------------------------------------------------------------------ the engine
def _environment(autoescape: bool) -> _Sandbox:
    env = _Sandbox(
        autoescape=autoescape, undefined=StrictUndefined, trim_blocks=True, lstrip_blocks=True
    )
    for name in ("center", "indent", "format", "slice"):
        env.filters[name] = _guard_width(name, env.filters[name])
    helpers = {
        "money": money,
        "date": format_day,
        "totals": totals,
        "invoice_table": invoice_table,
    }
    env.filters.update(helpers)
    env.globals.update(helpers)
    return env


_ENVS = {"html": _environment(autoescape=True), "text": _environment(autoescape=False)}
VARIABLES = (*(f.name for f in fields(RenderContext)), "locale", "language")
"""The variables every template sees (besides the helpers and Jinja's globals)."""


@lru_cache(maxsize=512)
def _compile(kind: str, source: str) -> Template:
    return _ENVS[kind].from_string(source)


def _kind(part: str) -> str:
    return "html" if part == "html" else "text"


def _generate(template: Template, variables: dict[str, Any]) -> str:
    chunks: list[str] = []
    size = 0
    for chunk in template.generate(variables):
        size += len(chunk)
        if size > MAX_OUTPUT:
            raise TemplateBudgetError(f"the template wrote more than {MAX_OUTPUT} characters")
        _run()
        chunks.append(chunk)
    return "".join(chunks)


_HEADER_SPACE = re.compile(r"[\t\n\v\f\r\x1c-\x1f\x85\u2028\u2029 ]+")
_CONTROL = re.compile(r"[\x00-\x08\x0e-\x1b\x7f]")


def one_line(subject: str) -> str:
    """A header-safe subject: whitespace runs (CR, LF included) become one space, other
    control characters go, at most :data:`MAX_SUBJECT` characters."""
    s = _HEADER_SPACE.sub(" ", _CONTROL.sub("", subject)).strip()
    return s if len(s) <= MAX_SUBJECT else s[: MAX_SUBJECT - 1].rstrip() + "…"


def builtin(name: str) -> dict[str, TemplateText]:
    """A built-in template set by name, per language; KeyError if there is none."""
    return dict(_builtin(name))


@cache
def _builtin(name: str) -> dict[str, TemplateText]:
    folder = resources.files(__package__ or "arpolicy.engagement") / "template_files"
    found: dict[str, dict[str, str]] = {}
    for entry in folder.iterdir():
        stem, _, suffix = entry.name.rpartition(".")
        base, _, lang = stem.partition(".")
        key = {s: k for k, s in PARTS}.get(suffix)
        if base == name and lang and key:
            found.setdefault(lang, {})[key] = entry.read_text(encoding="utf-8")
    if name not in BUILTINS or not found:
        raise KeyError(name)
    return {lang: TemplateText(**parts) for lang, parts in sorted(found.items())}


def _resolve(templates: TemplateSet | Mapping[str, Any] | str) -> TemplateSet:
    """The built-in of that name, or the set itself (JSON objects read as TemplateText)."""
    if isinstance(templates, Mapping):
        return {
            lang: TemplateText.model_validate(t) if isinstance(t, Mapping) else t
            for lang, t in templates.items()
        }
    if isinstance(templates, str):
        try:
            return builtin(templates)
        except KeyError:
            raise ValidationError(
                f"there is no built-in template named {templates!r}",
                fix=f"use one of {', '.join(BUILTINS)}, or give the templates per language",
            ) from None
    return templates


def _render_part(part: str, source: str, variables: dict[str, Any], locale: Locale) -> str:
    run = _Run(locale, variables["language"], time.monotonic() + MAX_SECONDS)
    token = _RUN.set(run)
    try:
        return _generate(_compile(_kind(part), source), variables)
    finally:
        _RUN.reset(token)


def _variables(context: RenderContext, locale: Locale, language: str) -> dict[str, Any]:
    data = {f.name: getattr(context, f.name) for f in fields(RenderContext)}
    return {**data, "locale": str(locale), "language": language}


def render(
    templates: TemplateSet | Mapping[str, Any] | str, context: RenderContext, locale: str
) -> Rendered:
    """Subject, text and HTML in the language of ``templates`` closest to ``locale``, money
    and dates formatted for ``locale``. Jinja errors (UndefinedError, SecurityError...)
    propagate: :func:`validate` reports them with where and how to fix them."""
    resolved = _resolve(templates)
    if not resolved:
        raise ValidationError("the template set has no language", fix="add at least one")
    try:
        babel_locale = parse_locale(locale)
    except (ValueError, UnknownLocaleError):
        raise ValidationError(
            f"{locale!r} is not a locale", fix="use a code such as en, de, fr or de_AT"
        ) from None
    language = choose_language(resolved.keys(), [locale])
    chosen = resolved[language]
    variables = _variables(context, babel_locale, language)
    subject = _render_part("subject", chosen.subject, variables, babel_locale)
    text = _render_part("text", chosen.text, variables, babel_locale)
    html = None
    if chosen.html is not None:
        html = _render_part("html", chosen.html, variables, babel_locale).strip() + "\n"
    return Rendered(one_line(subject), text.strip("\n").rstrip() + "\n", html, language)


# ------------------------------------------------------------------------------- samples
def sample_context(as_of: date) -> RenderContext:
    """A realistic customer with three open invoices in two currencies and a credit note."""

    def line(
        number: str, kind: str, age: int, terms: int, amount: str, open_: str, cur: str
    ) -> InvoiceLine:
        issued = as_of - timedelta(days=age)
        due = issued + timedelta(days=terms)
        return InvoiceLine(
            number, kind, issued, due, (as_of - due).days,
            Money.of(amount, cur), Money.of(open_, cur),
        )  # fmt: skip

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
        statement=[*invoices, credit],
    )


# ------------------------------------------------------------------------------ validate
_SAMPLE_DAY = date(2026, 3, 16)
_FIELDS = {
    "an invoice line": [f.name for f in fields(InvoiceLine)],
    "a Money": ["amount", "currency"],
}
_HELPERS = ("money", "date", "totals", "invoice_table")


def _problem(where: str, what: str, fix: str) -> dict[str, str]:
    return {"where": where, "what": what, "fix": fix}


def _samples() -> list[RenderContext]:
    full = sample_context(_SAMPLE_DAY)
    undated = replace(full.invoices[0], due_on=None, days_overdue=0)
    bare = replace(
        full, contact_name=None, sender_name=None, sender_email=None, invoices=[undated],
        statement=None, test=True,
    )  # fmt: skip
    return [full, bare, replace(bare, statement=[])]


def _parts(spec: Any, here: str, out: list[dict[str, str]]) -> dict[str, str]:
    """The parts of one language that are text, reporting the missing and the unknown."""
    if isinstance(spec, Mapping):
        for key in spec:
            if key not in ("subject", "text", "html"):
                out.append(_problem(f"{here}.{key}", f"unknown part {key!r}",
                                    "a language has a subject, a text and optionally an html"))  # fmt: skip
        get: Callable[[str], Any] = spec.get
    else:
        get = lambda key: getattr(spec, key, None)  # noqa: E731
    found: dict[str, str] = {}
    for part, _ in PARTS:
        value = get(part)
        if isinstance(value, str) and value.strip():
            found[part] = value
        elif part != "html" or value is not None:
            what = "is empty" if isinstance(value, str) else "is missing" if value is None else (
                f"is a {type(value).__name__}, not text")  # fmt: skip
            fix = {"subject": "give a one-line subject, e.g. Invoice {{ invoices[0].number }} is overdue",
                   "text": "give the plain-text body (every email has one, the HTML is optional)",
                   "html": "give the HTML body as text, or leave html out"}[part]  # fmt: skip
            out.append(_problem(f"{here}.{part}", f"the {part} {what}", fix))
    return found


_KNOWN_TYPES = {"InvoiceLine": "an invoice line", "Money": "a Money", "list": "a list"}
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
            "due_on, contact_name, sender_name, sender_email and statement may be none: "
            "check first, e.g. {% if line.due_on %}{{ line.due_on.year }}{% endif %}"
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
        return _problem(f"{where} line {e.lineno}", f"unknown {m[1]} {m[2]!r}",
                        f"{hint}use one of the helpers {', '.join(_HELPERS)} or a Jinja built-in "
                        "(https://jinja.palletsprojects.com/en/stable/templates/#list-of-builtin-filters)")  # fmt: skip
    return _problem(f"{where} line {e.lineno}", message,
                    "check the {{ }} and {% %} tags: every if, for and macro needs its end tag")  # fmt: skip


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
            out.append(_problem(f"{where} line {node.lineno}", f"unknown variable {node.name!r}",
                                f"use one of {', '.join(VARIABLES)}{hint}"))  # fmt: skip
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
            problems.append(_problem(where, "the subject is empty once rendered",
                                     "give the subject some fixed text"))  # fmt: skip
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
            return [_problem(where, f"there is no built-in template named {templates!r}",
                             f"use one of {', '.join(BUILTINS)}, or give the templates per "
                             'language: {"en": {"subject": ..., "text": ..., "html": ...}}')]  # fmt: skip
        templates = builtin(templates)
    if not isinstance(templates, Mapping) or not templates:
        return [_problem(where, "no template is given", "give a built-in name "
                         f"({', '.join(BUILTINS)}) or the templates per language, e.g. "
                         '{"en": {"subject": ..., "text": ..., "html": ...}}')]  # fmt: skip
    out: list[dict[str, str]] = []
    for lang, spec in templates.items():
        here = f"{where}.{lang}"
        try:
            locale = parse_locale(str(lang))
        except (ValueError, UnknownLocaleError):
            out.append(_problem(here, f"{lang!r} is not a language or locale code",
                                "use an ISO 639 language code such as en, de or fr, optionally "
                                "with a territory (de_AT, fr-CH)"))  # fmt: skip
            locale = Locale("en")
        for part, source in _parts(spec, here, out).items():
            out.extend(_check(part, source, f"{here}.{part}", locale, str(lang)))
    return out
