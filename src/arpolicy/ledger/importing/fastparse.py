"""The row parser of one header, generated as straight-line code.

:func:`arpolicy.ledger.importing.importer.parse_cells` loops over the columns, collecting
every problem of a row. A million-row import spends most of its Python time there, so each
plan also gets a generated function (the technique :func:`collections.namedtuple` uses)
that parses the cells in a row without the loop and inlines the common cases: a plain text
that fits, a date already seen, a yes/no word. On any problem it raises, and the caller
parses the row again with ``parse_cells`` to report every problem with its column. Column
names are repr()-quoted, and parsers are passed in, never written into the code.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from arpolicy.ledger.importing import parsers as p
from arpolicy.ledger.importing.report import FieldError

FastParser = Callable[[list[str]], dict[str, Any]]
EMPTY = FieldError("is empty", "fill it in")


def compile_fields(fields: list[tuple[int, str, Callable[[str], Any], bool, str]]) -> FastParser:
    env: dict[str, Any] = {"EMPTY": EMPTY, "D": p.DATES.get, "B": p.BOOLEANS.get}
    lines = ["def parse(cells):", "    v = {}"]
    for n, (index, name, parse, required, _) in enumerate(fields):
        env[f"p{n}"] = parse
        lines += [
            f"    c = cells[{index}].strip()",
            "    if c:",
            f"        v[{name!r}] = {_inline(parse, f'p{n}')}",
            "    else:",
            "        raise EMPTY" if required else f"        v[{name!r}] = None",
        ]
    lines.append("    return v")
    exec("\n".join(lines), env)
    return env["parse"]


def _inline(parse: Callable[[str], Any], call: str) -> str:
    length = getattr(parse, "max_length", None)
    if length is not None:
        return f'c if c[0] != "\'" and len(c) <= {int(length)} else {call}(c)'
    if parse is p.iso_date:
        return f"(D(c) or {call}(c))"
    if parse is p.boolean:
        return f"(b if (b := B(c.lower())) is not None else {call}(c))"
    return f"{call}(c)"
