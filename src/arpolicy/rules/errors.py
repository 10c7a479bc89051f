"""Rule errors: one :class:`RuleError` carrying every :class:`Problem` found, each saying
where (JSON path, and line/column when the rule came from text), what, and how to fix it."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from arpolicy.exceptions import ValidationError
from arpolicy.rules.ast import Pos


@dataclass(frozen=True, slots=True)
class Problem:
    path: str
    """JSON path of the offending node, e.g. ``$.all[2].value``."""
    what: str
    fix: str
    line: int | None = None
    column: int | None = None

    @property
    def where(self) -> str:
        if self.line is not None:
            return f"line {self.line}, column {self.column} ({self.path})"
        return self.path

    def __str__(self) -> str:
        return f"{self.where}: {self.what}; fix: {self.fix}"

    def to_json(self) -> dict[str, Any]:
        data: dict[str, Any] = {"path": self.path, "what": self.what, "fix": self.fix}
        if self.line is not None:
            data["line"] = self.line
            data["column"] = self.column
        return data


def problem(path: str, pos: Pos | None, what: str, fix: str) -> Problem:
    if pos is None:
        return Problem(path, what, fix)
    return Problem(path, what, fix, pos.line, pos.column)


class RuleError(ValidationError):
    """A rule that cannot be read, is too big, or does not fit the catalogue."""

    type = "invalid-rule"

    def __init__(self, problems: list[Problem]) -> None:
        if not problems:
            raise ValueError("RuleError needs at least one problem")
        self.problems = list(problems)
        first = self.problems[0]
        more = len(self.problems) - 1
        message = first.what + (f" (and {more} more problem{'s' * (more > 1)})" if more else "")
        super().__init__(message, fix=first.fix, where=first.where)

    def __str__(self) -> str:
        return "\n".join(str(p) for p in self.problems)

    def to_problem(self) -> dict[str, Any]:
        body = super().to_problem()
        body["problems"] = [p.to_json() for p in self.problems]
        return body


def fail(path: str, pos: Pos | None, what: str, fix: str) -> RuleError:
    return RuleError([problem(path, pos, what, fix)])
