"""Reject files: the bad rows as they were given, plus where and why each was refused, ready
to be fixed and imported again.

A CSV input gives a CSV reject file with the original columns followed by ``error_line``,
``error_column``, ``error_reason`` and ``error_fix`` (several problems of one row are joined
with "; "). Text cells are formula-escaped like an export. A JSON Lines input gives JSON
Lines: the original object with the same four ``error_*`` keys added.
"""

from __future__ import annotations

import csv
import json
from pathlib import Path
from typing import IO, Any

from arpolicy.ledger.importing.parsers import escape_text
from arpolicy.ledger.importing.reader import load_line
from arpolicy.ledger.importing.report import RowError

ERROR_COLUMNS = ("error_line", "error_column", "error_reason", "error_fix")


def _joined(errors: list[RowError]) -> list[str]:
    return [
        str(errors[0].line),
        "; ".join(e.column or "" for e in errors),
        "; ".join(e.reason for e in errors),
        "; ".join(e.fix for e in errors),
    ]


class Rejects:
    """Writes bad rows to ``path``, creating the file only when the first one comes."""

    def __init__(self, path: Path, fmt: str, text_columns: set[str]) -> None:
        self.path = path
        self.fmt = fmt
        self.text_columns = text_columns
        self.count = 0
        self._file: IO[str] | None = None
        self._csv: Any = None
        self._header: tuple[str, ...] | None = None

    def write(
        self, header: tuple[str, ...] | None, cells: Any, raw: Any, errors: list[RowError]
    ) -> None:
        if self._file is None:
            # a lone surrogate of a JSON Lines row is written back as its \\udXXX escape
            self._file = self.path.open(
                "w", encoding="utf-8", errors="backslashreplace", newline=""
            )
        self.count += 1
        if self.fmt == "jsonl":
            self._write_json(raw, errors)
        else:
            self._write_csv(header or (), cells if isinstance(cells, list) else [], errors)

    def _write_csv(self, header: tuple[str, ...], cells: list[str], errors: list[RowError]) -> None:
        if self._csv is None:
            self._csv = csv.writer(self._file)  # type: ignore[arg-type]
            self._header = header
            self._csv.writerow([*header, *ERROR_COLUMNS])
        width = len(self._header or ())
        safe = [
            escape_text(c)
            if i < width and self._header and self._header[i] in self.text_columns
            else c
            for i, c in enumerate(cells[:width])
        ]
        safe += [""] * (width - len(safe))
        self._csv.writerow([*safe, *(escape_text(x) for x in _joined(errors))])

    def _write_json(self, raw: Any, errors: list[RowError]) -> None:
        obj: dict[str, Any]
        parsed = load_line(raw) if isinstance(raw, str) else raw  # BadLine: not an object
        obj = dict(parsed) if isinstance(parsed, dict) else {"original_line": raw}
        obj.update(zip(ERROR_COLUMNS, [errors[0].line, *_joined(errors)[1:]], strict=True))
        assert self._file is not None
        self._file.write(json.dumps(obj, ensure_ascii=False, default=str) + "\n")

    def close(self) -> None:
        if self._file is not None:
            self._file.close()
