"""The one console wrapper every command prints through.

Data never goes through Rich markup (a customer called "[bold]ACME" prints as written);
``--json`` output is plain, stable JSON on stdout; errors go to stderr.
"""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import Any

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn
from rich.table import Table
from rich.text import Text

from arpolicy.exceptions import ArpolicyError

err = Console(stderr=True, highlight=False, soft_wrap=True)


def _out() -> Console:
    """stdout, sized when printing (not at import): the terminal's width, or $COLUMNS, or
    160 columns when the output goes to a file or a pipe, so tables are not truncated."""
    console = Console(highlight=False)
    if not console.is_terminal and "COLUMNS" not in os.environ:
        console = Console(highlight=False, width=160)
    return console


def print_json(data: Any) -> None:
    sys.stdout.write(json.dumps(data, indent=2, sort_keys=False, ensure_ascii=False, default=str))
    sys.stdout.write("\n")


def table(
    title: str | None,
    columns: Sequence[tuple[str, str]],
    rows: Sequence[Sequence[Any]],
    footer: Sequence[Any] | None = None,
) -> None:
    """``columns`` are (header, justify); cells are printed as plain text, never markup."""
    t = Table(title=title, show_footer=footer is not None, title_justify="left")
    for i, (header, justify) in enumerate(columns):
        t.add_column(
            header,
            justify=justify,  # type: ignore[arg-type]
            footer=Text("" if footer is None or footer[i] is None else str(footer[i])),
        )
    for row in rows:
        t.add_row(*(Text("" if cell is None else str(cell)) for cell in row))
    _out().print(t)


def say(message: str) -> None:
    _out().print(Text(message))


def note(message: str) -> None:
    """A remark for the person at the terminal, on stderr (stdout stays machine-readable)."""
    err.print(Text(message))


def warning(message: str, fix: str) -> None:
    """Advice on stderr (the command still succeeds): what, then how to fix it."""
    err.print(Text(f"warning: {message}", style="yellow"))
    err.print(Text(f"  fix: {fix}"))


def fail(exc: ArpolicyError) -> None:
    err.print(
        Text(f"error: {exc.where + ': ' if exc.where else ''}{exc.message}", style="bold red")
    )
    if exc.fix:
        err.print(Text(f"  fix: {exc.fix}"))


@contextmanager
def progress(description: str, total: int | None, enabled: bool = True) -> Iterator[Any]:
    """A progress bar on stderr; ``advance(n)`` moves it. Silent when stderr is not a TTY."""
    if not enabled or not err.is_terminal:
        yield lambda n=1: None
        return
    bar = Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeRemainingColumn(),
        console=err,
        transient=True,
    )
    with bar:
        task = bar.add_task(description, total=total)
        yield lambda n=1: bar.advance(task, n)
