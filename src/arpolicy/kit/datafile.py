"""Configuration given as data (JSON bodies, YAML files): parsed into a pydantic model with
every problem listed by path, or YAML refused with its line and column. Shared by the
assignment policies and the engagement cycles."""

from __future__ import annotations

import json
from typing import Any, TypeVar

import yaml
from pydantic import BaseModel, ValidationError

from arpolicy.exceptions import ValidationError as DomainValidationError

M = TypeVar("M", bound=BaseModel)


class ProblemsError(DomainValidationError):
    """Every problem of a configuration, each ``{"where", "what", "fix"}`` (the API lists
    them in the problem's ``errors``)."""

    def __init__(self, errors: list[dict[str, str]]) -> None:
        first = errors[0]
        more = f" (and {len(errors) - 1} more)" if len(errors) > 1 else ""
        super().__init__(first["what"] + more, where=first["where"], fix=first["fix"])
        self.errors = errors


def validated(model: type[M], data: Any, *, where: str, error: type[ProblemsError], docs: str) -> M:
    """``data`` as ``model``; ``error`` lists every problem (paths prefixed by ``where``),
    those of the model's ``problems()`` (where, what, fix) included."""
    prefix = f"{where}." if where else ""
    if "\\u0000" in json.dumps(data, default=str):
        raise error(
            [
                {
                    "where": where or "body",
                    "what": "the text contains a NUL character",
                    "fix": "remove the NUL (\\u0000) characters",
                }
            ]
        )
    try:
        parsed = model.model_validate(data)
    except ValidationError as exc:
        raise error(
            [
                {
                    "where": prefix + ".".join(str(p) for p in e["loc"]),
                    "what": e["msg"],
                    "fix": f"see {docs} for the format",
                }
                for e in exc.errors()
            ]
        ) from None
    check = getattr(parsed, "problems", None)
    problems = check() if callable(check) else []
    if problems:
        raise error([{"where": prefix + w, "what": what, "fix": fix} for w, what, fix in problems])
    return parsed


def yaml_data(text: str) -> Any:
    """YAML text as data; not YAML: a ValidationError with the line and column."""
    try:
        return yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"line {mark.line + 1}, column {mark.column + 1}" if mark else "the file"
        raise DomainValidationError(
            f"not valid YAML: {getattr(exc, 'problem', exc)}",
            where=where,
            fix="fix the YAML syntax",
        ) from None
