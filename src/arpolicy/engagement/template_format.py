"""The helpers templates call: money and dates in the render's locale, totals per
currency, invoice tables (aligned text, or HTML with inline styles)."""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable, Sequence
from datetime import date
from decimal import Decimal
from functools import cache, lru_cache

from babel import Locale
from babel.dates import format_date
from babel.numbers import format_currency
from jinja2.runtime import EvalContext
from jinja2.utils import pass_eval_context
from markupsafe import Markup, escape

from arpolicy.engagement.template_data import InvoiceLine, _run, parse_locale, per_currency
from arpolicy.kit.money import Money
from arpolicy.kit.money import exponent as money_exponent
from arpolicy.ledger.statement import DEBIT_KINDS


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
    return per_currency(lines)


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
    "en": {
        "credit_note": "credit note",
        "debit_note": "debit note",
        "payment": "payment on account",
        "refund": "refund",
    },
    "de": {
        "credit_note": "Gutschrift",
        "debit_note": "Belastungsanzeige",
        "payment": "nicht zugeordnete Zahlung",
        "refund": "Erstattung",
    },
    "fr": {
        "credit_note": "avoir",
        "debit_note": "note de débit",
        "payment": "paiement non imputé",
        "refund": "remboursement",
    },
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
    if text.isascii() or max(text) < "\u0300" or not _not_narrow().search(text):
        return len(text)  # below U+0300 (Latin): no combining or wide characters
    return sum(
        0 if unicodedata.combining(c) else 2 if unicodedata.east_asian_width(c) in "WF" else 1
        for c in text
    )


def _table_rows(lines: Iterable[InvoiceLine], detailed: bool) -> list[list[str]]:
    run = _run()
    return [list(_cells(ln, detailed, str(run.locale), run.language)) for ln in lines]


@lru_cache(maxsize=8192)
def _cells(ln: InvoiceLine, detailed: bool, locale: str, language: str) -> tuple[str, ...]:
    """One line's cells (the text and the HTML part of an email lay out the same lines)."""
    kinds = _KINDS.get(language.split("_")[0], _KINDS["en"])
    number = f"{ln.number} ({kinds[ln.document_type]})" if ln.document_type in kinds else ln.number
    overdue = ln.document_type in DEBIT_KINDS and ln.days_overdue > 0 and ln.balance.amount > 0
    days = str(ln.days_overdue) if overdue else "–"
    due, balance = format_day(ln.due_on), money(ln.balance)
    if detailed:
        return number, format_day(ln.issued_on), due, days, money(ln.total), balance
    return number, due, days, balance


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
    table = [list(heads), *rows]
    sizes = [[_width(c) for c in row] for row in table]  # each cell measured once
    widths = [max(col) for col in zip(*sizes, strict=True)]

    def line(cells: Sequence[str], have: Sequence[int]) -> str:
        padded = [
            " " * (w - n) + c if r else c + " " * (w - n)
            for c, n, w, r in zip(cells, have, widths, right, strict=True)
        ]
        return "  ".join(padded).rstrip()

    rule = ["-" * w for w in widths]
    out = [line(table[0], sizes[0]), line(rule, widths)]
    out += [line(row, size) for row, size in zip(table[1:], sizes[1:], strict=True)]
    return "\n".join(out)


@pass_eval_context
def invoice_table(
    eval_ctx: EvalContext,
    lines: Iterable[InvoiceLine],
    detailed: bool = False,
    headings: Sequence[str] | None = None,
) -> str | Markup:
    """The lines as a table: number, due date, days overdue, open balance; ``detailed`` (a
    statement of account) adds the issue date and the amount. Credit notes and payments
    are labelled (``CN-7 (credit note)``), never overdue. Plain text aligned in columns
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
