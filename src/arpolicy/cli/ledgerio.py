"""``arpolicy import`` and ``arpolicy export``: ledger facts in and out as files."""

from __future__ import annotations

import getpass
import os
import sys
from pathlib import Path
from typing import Any

import typer

from arpolicy.audit import Actor
from arpolicy.cli import common, terminal
from arpolicy.cli.common import JsonOption, TenantOption, handle_errors, tenant_session
from arpolicy.exceptions import ValidationError
from arpolicy.ledger.exporter import export_csv
from arpolicy.ledger.importing import KINDS, ImportReport
from arpolicy.ledger.writing import LedgerWrites

SHOWN_ERRORS = 50
KIND_HELP = f"What the file holds: {', '.join(KINDS)}."


def register(app: typer.Typer) -> None:
    app.command("import")(import_command)
    app.command("export")(export_command)


@handle_errors
def import_command(
    kind: str = typer.Argument(..., help=KIND_HELP),
    file: Path = typer.Argument(..., help="CSV (.csv) or JSON Lines (.jsonl) file."),
    tenant: str = TenantOption,
    fmt: str = typer.Option(None, "--format", help="csv or jsonl (default: from the extension)."),
    partial: bool = typer.Option(False, "--partial", help="Import the good rows, reject the bad."),
    rejects: Path = typer.Option(
        None, "--rejects", help="Where bad rows go (default with --partial: FILE.rejects.csv)."
    ),
    as_json: bool = JsonOption,
) -> None:
    """Import a file, upserting by key. A bad row rejects the whole file unless --partial;
    see docs/import.md for the columns of every kind."""
    if fmt is not None and fmt not in ("csv", "jsonl"):
        raise ValidationError(f"unknown format {fmt!r}", fix="use --format csv or --format jsonl")
    if not file.is_file():
        raise ValidationError(f"{file} does not exist or is not a file", fix="check the path")
    with (
        tenant_session(tenant, write=True) as (session, t),
        terminal.progress(f"importing {kind}", file.stat().st_size, enabled=not as_json) as advance,
    ):
        # Through the ledger write service, like an upload: the same audit trail and webhook,
        # and the kind's ledger hook once (customers: the owner assignment's summary).
        writes = LedgerWrites(session, t, _actor(t), clock=common.clock())
        report = writes.import_file(
            kind,
            file,
            partial=partial,
            rejects_path=rejects,
            progress=advance,
            fmt=fmt,
            parallel=True,
        )
        assigned = report.notes.get("assignment", []) if report.applied else []
    if as_json:
        terminal.print_json(report.to_dict() | ({"assignment": assigned} if assigned else {}))
    else:
        _show(report, file)
        for r in assigned:
            terminal.say(
                f"{r['role']} owners: {r['changed']} assigned by policy v{r['policy_version']}"
                + (f", {r['gaps_total']} with gaps" if r["gaps_total"] else "")
            )
    if not report.applied:
        raise typer.Exit(2)


def _actor(tenant: Any) -> Actor:
    """Who imports, for the audit log: the operating-system user at the terminal."""
    return Actor(tenant.id, f"cli:{getpass.getuser()} (import)", clock=common.clock())


def _show(report: ImportReport, file: Path) -> None:
    if report.errors:
        _errors_table(report)
    if not report.applied:
        bad = "the file" if report.file_error else f"{report.rejected} bad row(s)"
        terminal.fail(
            ValidationError(
                f"{file} was rejected because of {bad}; nothing was changed",
                fix="correct the rows listed above and import again, or use --partial to import "
                "the good rows",
            )
        )
        return
    terminal.say(
        f"imported {report.kind} from {file}: {report.rows} rows, {report.inserted} inserted, "
        f"{report.updated} updated, {report.rejected} rejected"
    )
    if report.rejected:
        where = f"; they are in {report.rejects_path}" if report.rejects_path else ""
        terminal.err.print(
            f"warning: {report.rejected} row(s) were not imported{where}",
            markup=False,
            highlight=False,
        )


def _errors_table(report: ImportReport) -> None:
    shown = report.errors[:SHOWN_ERRORS]
    terminal.table(
        "Problems",
        [
            ("line", "right"),
            ("column", "left"),
            ("value", "left"),
            ("reason", "left"),
            ("fix", "left"),
        ],
        [[e.line, e.column or "", e.value or "", e.reason, e.fix] for e in shown],
    )
    more = len(report.errors) - len(shown) + report.errors_omitted
    if more > 0:
        terminal.say(f"... and {more} more")


@handle_errors
def export_command(
    kind: str = typer.Argument(..., help=KIND_HELP),
    out: Path = typer.Option(None, "--out", "-o", help="File to write (default: stdout)."),
    tenant: str = TenantOption,
) -> None:
    """Export as CSV with the columns `arpolicy import` reads (safe to open in a
    spreadsheet: text cells that could run as formulas start with ')."""
    with tenant_session(tenant) as (session, t):
        if out is None:
            export_csv(session, t, kind, sys.stdout)
            return
        partial = out.with_name(out.name + ".part")
        try:
            with partial.open("w", encoding="utf-8", newline="") as handle:
                count = export_csv(session, t, kind, handle)
            os.replace(partial, out)
        finally:
            partial.unlink(missing_ok=True)
    terminal.say(f"exported {count} {kind} to {out}")
