"""Streaming CSV and JSON Lines with line numbers.

Both yield records ``(line, header, cells, raw)``: ``header`` is a tuple of normalized column
names (the same object for every row of a CSV file), ``cells`` the row's cells in that
order, ``raw`` what to write back to a reject file (None for CSV: the cells are the raw row).
A line that cannot be a row at all (not JSON, not an object, nested too deep, a value of a
wrong type) or that holds a character no database can store (NUL, a lone surrogate: see
:mod:`limits`) is yielded with ``header`` None and a :class:`BadLine` in place of the cells,
so it is refused like any bad row, before anything is written. A problem with the file as a
whole (not UTF-8, broken CSV quoting, no header) raises :class:`FileProblem`.
"""

from __future__ import annotations

import csv
import io
import json
import re
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from typing import IO, Any

from arpolicy.ledger.importing.limits import (
    MAX_CUSTOM_FIELDS,
    MAX_JSON_DEPTH,
    clip,
    unstorable,
    visible,
)
from arpolicy.ledger.importing.report import FieldError, RowError

Record = tuple[int, "tuple[str, ...] | None", Any, Any]
Source = tuple["tuple[str, ...] | None", Iterator[Record]]
"""The header of a file that has one (CSV), and the records."""
Progress = Callable[[int], None]
UTF8_FIX = (
    "save the file as UTF-8 (Excel: Save As > CSV UTF-8; LibreOffice: character set "
    "Unicode (UTF-8))"
)
PROGRESS_STEP = 1 << 20
PROGRESS_ROWS = 10_000


class FileProblem(Exception):
    """The file as a whole cannot be imported; ``errors`` says where and why."""

    def __init__(self, line: int, reason: str, fix: str) -> None:
        super().__init__(reason)
        self.errors = [RowError(line, None, None, reason, fix)]

    @classmethod
    def of(cls, errors: list[RowError]) -> FileProblem:
        problem = cls(errors[0].line, errors[0].reason, errors[0].fix)
        problem.errors = list(errors)
        return problem


@dataclass(frozen=True, slots=True)
class BadLine:
    """Why a record cannot be imported; ``column`` and ``value`` (as a report shows it) when
    one value is the cause, ``header`` and ``cells`` of a CSV row (for the reject file)."""

    reason: str
    fix: str
    column: str | None = None
    value: str | None = None
    header: tuple[str, ...] | None = None
    cells: list[str] | None = None


def decoded_lines(stream: IO[bytes], progress: Progress | None) -> Iterator[str]:
    """The stream's lines as text; a UTF-8 BOM is dropped, any other undecodable byte is a
    :class:`FileProblem` naming the line."""
    done = 0
    for number, raw in enumerate(stream, 1):
        try:
            line = raw.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise FileProblem(
                number,
                f"line {number} is not UTF-8 text (byte 0x{raw[exc.start]:02X} at position "
                f"{exc.start + 1})",
                UTF8_FIX,
            ) from None
        if number == 1 and line.startswith("\ufeff"):
            line = line[1:]
        if progress is not None:
            done += len(raw)
            if done >= PROGRESS_STEP:
                progress(done)
                done = 0
        yield line
    if progress is not None and done:
        progress(done)


def normalize(name: str) -> str:
    return name.strip().lower()


def open_csv(stream: IO[bytes], progress: Progress | None = None) -> Source:
    """Read the header now (a :class:`FileProblem` if there is none), the rows lazily.

    Decoding is done by :class:`io.TextIOWrapper` in large blocks (fast); only when it finds
    a byte that is not UTF-8 is the file read again line by line to name the line."""
    text = io.TextIOWrapper(stream, encoding="utf-8-sig", newline="")
    reader = csv.reader(text, strict=True)
    first = _next(reader, stream)
    while first is not None and not any(c.strip() for c in first):
        first = _next(reader, stream)
    if first is None:
        raise FileProblem(1, "the file is empty", "put a header row with the column names first")
    header = tuple(normalize(c) for c in first)
    for name in header:
        problem = unstorable(name)
        if problem is not None:
            raise FileProblem(1, f"the header {problem[0]}", problem[1])
    _check_separator(header)
    return header, _csv_rows(reader, header, stream, progress)


def _next(reader: Any, stream: IO[bytes]) -> list[str] | None:
    try:
        return next(reader, None)
    except UnicodeDecodeError:
        raise _not_utf8(stream) from None
    except csv.Error as exc:
        line = reader.line_num
        fix = _quote_fix()
        if "field larger than field limit" in str(exc):
            fix = (
                f"no value may be longer than {csv.field_size_limit()} characters: look for a "
                "quote that is never closed, or shorten the value"
            )
        raise FileProblem(line, f"line {line} is not valid CSV ({exc})", fix) from None


def _not_utf8(stream: IO[bytes]) -> FileProblem:
    stream.seek(0)
    for number, raw in enumerate(stream, 1):
        try:
            raw.decode("utf-8")
        except UnicodeDecodeError as exc:
            return FileProblem(
                number,
                f"line {number} is not UTF-8 text (byte 0x{raw[exc.start]:02X} at position "
                f"{exc.start + 1})",
                UTF8_FIX,
            )
    return FileProblem(1, "the file is not UTF-8 text", UTF8_FIX)


def _csv_rows(
    reader: Any, header: tuple[str, ...], stream: IO[bytes], progress: Progress | None
) -> Iterator[Record]:
    last = reader.line_num
    count, done = 0, stream.tell() if progress else 0
    while True:
        cells = _next(reader, stream)
        if cells is None:
            break
        line, last = last + 1, reader.line_num
        if cells and (len(cells) > 1 or cells[0].strip()):
            if "\x00" in "".join(cells):  # the only unstorable character UTF-8 text can hold
                yield line, None, unstorable_cells(header, cells), None
            else:
                yield line, header, cells, None
        count += 1
        if progress is not None and count % PROGRESS_ROWS == 0:
            position = stream.tell()
            progress(position - done)
            done = position
    if progress is not None:
        progress(stream.tell() - done)


def _quote_fix() -> str:
    return 'quote values that contain commas, quotes or line breaks ("ACME, Inc.") and double quotes inside them'


def _check_separator(header: tuple[str, ...]) -> None:
    if len(header) == 1:
        for sep, name in ((";", "semicolons"), ("\t", "tabs"), ("|", "pipes")):
            if sep in header[0]:
                raise FileProblem(
                    1,
                    f"the header is one column; the file seems to use {name} between values",
                    "save the file with commas between values (CSV)",
                )


JSONL_FIX = 'write one JSON object per line, e.g. {"external_id": "C1", "name": "ACME"}'


def jsonl_records(stream: IO[bytes], progress: Progress | None = None) -> Iterator[Record]:
    for number, line in enumerate(decoded_lines(stream, progress), 1):
        if not line.strip():
            continue
        text = line.rstrip("\r\n")
        obj = load_line(text)
        if isinstance(obj, BadLine):
            yield number, None, obj, text
        else:
            yield mapping_record(number, obj, text, check="\\u" in text or "\x00" in text)


def load_line(line: str) -> Any:
    """The JSON value of one line, or a :class:`BadLine` saying why there is none. Numbers
    are exact (decimals as :class:`Decimal`) and of any length (the columns' own checks
    bound them); a NUL written raw is read, so that it is refused like ``\\u0000``."""
    if line.count("{") + line.count("[") > MAX_JSON_DEPTH:
        deep = _too_deep(line)
        if deep is not None:
            return deep
    try:
        return json.loads(line, parse_float=_decimal, parse_int=_integer, strict="\x00" not in line)
    except json.JSONDecodeError as exc:
        return BadLine(f"is not valid JSON ({exc.msg} at character {exc.colno})", JSONL_FIX)


def _decimal(text: str) -> Decimal | str:
    try:
        return Decimal(text)
    except InvalidOperation:  # an exponent beyond Decimal's (1e99999999999999999999)
        return text


def _integer(text: str) -> int | Decimal:
    # int() refuses more than 4300 digits (a guard against slow conversions); Decimal does not
    return int(text) if len(text) < 4000 else Decimal(text)


_TOKENS = re.compile(r'"(?:[^"\\]|\\.)*"|[\[\]{}]')


def _too_deep(line: str) -> BadLine | None:
    """A :class:`BadLine` naming the column whose value nests objects and lists deeper than
    ``MAX_JSON_DEPTH`` (read before parsing: Python's parser would run out of stack)."""
    depth, keys, starts = 0, ["", ""], [0, 0, 0, 0]
    for token in _TOKENS.finditer(line):
        t = token.group()
        if t in "[{":
            depth += 1
            if depth <= 3:
                starts[depth] = token.start()
            if depth > MAX_JSON_DEPTH:
                sub = keys[0] in NESTED and keys[1]
                top = NESTED[keys[0]] + keys[1] if sub else keys[0]
                return BadLine(
                    f"nests objects or lists more than {MAX_JSON_DEPTH} levels deep",
                    "give a string, number, boolean or null (custom fields and billing address: "
                    'an object of such values; money as {"amount": "12.30", "currency": "EUR"})',
                    column=visible(normalize(top)) or None,
                    value=clip(line[starts[3 if sub else 2] :]),
                )
        elif t in "]}":
            depth -= 1
        elif depth == 1:  # a key, or a value followed by the next key
            keys[0], keys[1] = t[1:-1], ""
        elif depth == 2:
            keys[1] = t[1:-1]
    return None


def mapping_records(rows: Iterable[Mapping[str, Any]]) -> Iterator[Record]:
    """Rows given as mappings (the REST API, tests), numbered from 1."""
    for number, obj in enumerate(rows, 1):
        yield mapping_record(number, obj, obj)


def mapping_record(line: int, obj: Any, raw: Any, check: bool = True) -> Record:
    """The record of one JSON object; ``check`` False when its text has no escape and no
    NUL, so that no value can hold an unstorable character (the common case, not scanned)."""
    if not isinstance(obj, Mapping):
        return (
            line,
            None,
            BadLine(
                f"is a JSON {type(obj).__name__.replace('dict', 'object')}, not an object",
                JSONL_FIX,
            ),
            raw,
        )
    names: list[str] = []
    cells: list[str] = []
    try:
        for key, value in obj.items():
            _flatten(normalize(str(key)), value, names, cells)
    except FieldError as exc:
        return line, None, BadLine(exc.reason, exc.fix, exc.column, exc.value), raw
    header = tuple(names)
    if check:
        bad = unstorable_cells(header, cells)
        if bad is not None:
            return line, None, bad, raw
    return line, header, cells, raw


def unstorable_cells(header: tuple[str, ...], cells: list[str]) -> BadLine | None:
    """The first column name or cell holding a character no database can store."""
    for name in header:
        problem = unstorable(name)
        if problem is not None:
            return BadLine(f"the column name {problem[0]}", problem[1], visible(name))
    for index, cell in enumerate(cells):
        problem = unstorable(cell)
        if problem is not None:
            column = header[index] if index < len(header) else f"#{index + 1}"
            return BadLine(*problem, column, clip(cell), header, cells)
    return None


NESTED = {"custom_fields": "cf.", "billing_address": "billing_"}


def _flatten(key: str, value: Any, names: list[str], cells: list[str]) -> None:
    prefix = NESTED.get(key)
    if prefix is not None and isinstance(value, Mapping):
        if key == "custom_fields" and len(value) > MAX_CUSTOM_FIELDS:
            raise FieldError(
                f"has {len(value)} values; a record holds at most {MAX_CUSTOM_FIELDS}",
                "give only the tenant's custom fields (GET /v1/custom-fields)",
                column=key,
            )
        for sub, item in value.items():
            names.append(prefix + normalize(str(sub)))
            cells.append(cell_text(item, prefix + str(sub)))
        return
    if key == "options" and isinstance(value, list):
        value = "|".join(cell_text(v, key) for v in value)
    names.append(key)
    cells.append(cell_text(value, key))


def cell_text(value: Any, column: str) -> str:
    """A JSON value as the text a CSV cell would hold; floats are refused (not exact)."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        return value
    if isinstance(value, int | Decimal):
        try:
            return str(value)
        except ValueError:  # an int of more than 4300 digits (Python's limit for str())
            return str(Decimal(value))
    if isinstance(value, Mapping) and set(value) == {"amount", "currency"}:
        return f"{cell_text(value['amount'], column)} {cell_text(value['currency'], column)}"
    if isinstance(value, float):
        raise FieldError(
            "is a binary floating-point number",
            'give amounts as strings, e.g. "12.30"',
            column=column,
            value=repr(value),
        )
    raise FieldError(
        f"is a JSON {_json_type(value)}",
        "give a string, number, boolean or null",
        column=column,
        value=_shown(value),
    )


def _json_type(value: Any) -> str:
    if isinstance(value, Mapping):
        return "object"
    if isinstance(value, list | tuple):
        return "list"
    return type(value).__name__


def _shown(value: Any) -> str | None:
    try:
        return clip(json.dumps(value, ensure_ascii=False, default=str))
    except (ValueError, TypeError, RecursionError):  # not JSON, or nested beyond the stack
        return None
