"""What an import tells its caller: counts, and every bad row with where, why and how to fix."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field, fields
from typing import Any

from arpolicy.ledger.importing.limits import clip


class FieldError(Exception):
    """One bad value: ``reason`` says what is wrong, ``fix`` how to put it right. ``column``
    is set when the problem belongs to another column than the one being parsed, ``value``
    when the value is not the cell's text."""

    def __init__(
        self, reason: str, fix: str, *, column: str | None = None, value: str | None = None
    ) -> None:
        super().__init__(reason)
        self.reason = reason
        self.fix = fix
        self.column = column
        self.value = value


@dataclass(frozen=True, slots=True)
class RowError:
    """A problem at ``line`` of the file (1 = the header of a CSV file; the first record of
    JSON Lines or of rows given through the API is line 1). ``column`` is None when the
    problem is the row as a whole (wrong number of cells, not a JSON object)."""

    line: int
    column: str | None
    value: str | None
    reason: str
    fix: str

    def __post_init__(self) -> None:
        # shown, not stored: long values cut, characters no output can carry escaped
        object.__setattr__(self, "column", clip(self.column))
        object.__setattr__(self, "value", clip(self.value))

    def __str__(self) -> str:
        where = f"line {self.line}" + (f", column {self.column}" if self.column else "")
        return f"{where}: {self.reason} (fix: {self.fix})"


@dataclass(slots=True)
class ImportReport:
    """The outcome of one import.

    ``rows`` data rows were read; ``inserted`` + ``updated`` were stored; ``rejected`` rows
    were bad. In the default mode a single bad row rejects the whole file: then nothing is
    stored (``applied`` is False) and ``errors`` lists every bad row. With ``partial`` the
    good rows are stored and the bad ones are listed (and written to ``rejects_path``).
    ``file_error`` is a problem with the file as a whole (encoding, header, JSON syntax of a
    CSV...): it always rejects the whole file.
    """

    kind: str
    partial: bool = False
    rows: int = 0
    inserted: int = 0
    updated: int = 0
    rejected: int = 0
    errors: list[RowError] = field(default_factory=list)
    errors_omitted: int = 0
    """Bad rows beyond the ones kept in ``errors`` (counted, not listed, to bound memory)."""
    file_error: RowError | None = None
    rejects_path: str | None = None
    applied: bool = False
    created_ids: list[int] = field(default_factory=list, repr=False)
    """Ids of the records the kept import created (known when it recorded its trail)."""
    updated_ids: list[int] = field(default_factory=list, repr=False)
    columns: set[str] = field(default_factory=set, repr=False)
    """The columns the rows gave (every header of the file)."""
    notes: dict[str, Any] = field(default_factory=dict, repr=False)
    """What the ledger hooks of the import reported back (the owner assignment's summary
    under ``assignment``)."""

    @property
    def ok(self) -> bool:
        return self.file_error is None and self.rejected == 0

    def to_dict(self) -> dict[str, Any]:
        data = {f.name: getattr(self, f.name) for f in fields(self) if f.name not in INTERNAL}
        data["errors"] = [asdict(e) for e in self.errors]
        data["file_error"] = asdict(self.file_error) if self.file_error else None
        data["ok"] = self.ok
        return data


INTERNAL = ("created_ids", "updated_ids", "columns", "notes")
"""Fields of a report for the code that ran the import, not part of what it prints."""
