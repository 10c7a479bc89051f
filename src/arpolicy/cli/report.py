"""``arpolicy report ageing``: the tenant-wide ageing report."""

from __future__ import annotations

import csv
import sys
from typing import Any

import typer

from arpolicy.cli import terminal
from arpolicy.cli.common import (
    AsOfOption,
    JsonOption,
    TenantOption,
    handle_errors,
    parse_as_of,
    tenant_session,
)
from arpolicy.exceptions import ValidationError
from arpolicy.ledger.ageing import AgeingReport, ageing_report
from arpolicy.ledger.importing.parsers import escape_text

app = typer.Typer(help="Reports over the whole ledger.", no_args_is_help=True)


@app.command("ageing")
@handle_errors
def ageing(
    tenant: str = TenantOption,
    as_of: str = AsOfOption,
    as_json: bool = JsonOption,
    as_csv: bool = typer.Option(False, "--csv", help="CSV on stdout (spreadsheet-safe)."),
    limit: int = typer.Option(
        0, help="Table only: show the largest N customers (totals stay whole)."
    ),
) -> None:
    """Open debit balances by days past due per customer, in the base currency, with totals."""
    if as_json and as_csv:
        raise ValidationError("--json and --csv exclude each other", fix="pick one output format")
    with tenant_session(tenant) as (session, t):
        report = ageing_report(session, t, parse_as_of(as_of, t))
    if as_json:
        terminal.print_json(report.to_json())
    elif as_csv:
        write_csv(report)
    else:
        print_table(report, t.slug, limit)


def _cells(report: AgeingReport, data: dict[str, Any]) -> list[Any]:
    return [
        data["external_id"] or "",
        data["name"],
        *data["ageing"].values(),
        data["total"],
        data["unutilised_credit"],
        data["unaccounted_payment"],
        data["outstanding"],
    ]


def _header(report: AgeingReport) -> list[str]:
    return ["customer", "name", *report.labels, "total", "credit", "unapplied", "outstanding"]


def write_csv(report: AgeingReport) -> None:
    w = csv.writer(sys.stdout, lineterminator="\n")
    w.writerow(_header(report))
    for row in [*report.rows, report.totals]:
        cells = _cells(report, report.row_json(row))
        w.writerow([escape_text(cells[0]), escape_text(cells[1]), *cells[2:]])


def print_table(report: AgeingReport, slug: str, limit: int) -> None:
    rows = report.rows[:limit] if limit else report.rows
    header = _header(report)
    terminal.table(
        f"Ageing of {slug} as of {report.as_of.isoformat()} ({report.currency})"
        + (f", top {limit} of {len(report.rows)}" if limit and len(report.rows) > limit else ""),
        [(h, "left" if i < 2 else "right") for i, h in enumerate(header)],
        [_cells(report, report.row_json(r)) for r in rows],
        footer=_cells(report, report.row_json(report.totals)),
    )
