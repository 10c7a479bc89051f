"""House style item 4 (CONVENTIONS.md; issue 13, item 7): files as ``ruff format`` writes
them, under about 400 lines, split by use case when they grow.

- A ``# fmt: skip`` (or ``fmt: off`` / ``fmt: on``) keeps a statement as written. It is for
  a data table that reads better as a grid, never for packing code to look short: every
  marker in src/, tests/ and bench/ is on a statement of ``ALIGNED_TABLES``.
- No module in src/ or tests/ passes ``MAX_LINES`` lines. ``make lint`` checks that every
  file is formatted (``ruff format --check``), so a file's length here is its length as
  ruff formats it.

An entry of ``ALIGNED_TABLES`` whose marker is gone fails the test, so the list only shrinks.
"""

from __future__ import annotations

import ast
import io
import re
import tokenize
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
TREES = ("src", "tests", "bench")
"""Where a marker is looked for."""
SIZED = ("src", "tests")
"""Where a module may not pass ``MAX_LINES`` (bench/ holds scripts, not modules)."""
MAX_LINES = 400
MARKER = re.compile(r"\bfmt:\s*(skip|off|on)\b")
HISTORY = "src/arpolicy/migrations/versions/"
"""Migrations are history: written once, never split (two halves would be two revisions a
database has or has not run), so their length is not checked."""

ALIGNED_TABLES = {
    # (file, first line of the statement the marker keeps as written)
    ("src/arpolicy/kit/bank.py", "IBAN_LENGTHS: dict[str, int] = {"),  # 85 countries, 9 a row
}


def _files(trees: tuple[str, ...]) -> list[Path]:
    return sorted(p for tree in trees for p in (ROOT / tree).rglob("*.py"))


def _name(path: Path) -> str:
    return path.relative_to(ROOT).as_posix()


def _markers(text: str) -> list[int]:
    """The lines with a formatter marker in a comment (not in a string)."""
    tokens = tokenize.generate_tokens(io.StringIO(text).readline)
    return [t.start[0] for t in tokens if t.type == tokenize.COMMENT and MARKER.search(t.string)]


def _statement(tree: ast.Module, lines: list[str], line: int) -> str:
    """The first line of the innermost statement holding ``line`` (the marker's own line
    when it is between statements), stripped."""
    best: ast.stmt | None = None
    for node in ast.walk(tree):
        inside = isinstance(node, ast.stmt) and node.lineno <= line <= (node.end_lineno or 0)
        if inside and (best is None or node.lineno >= best.lineno):
            best = node
    return lines[(best.lineno if best else line) - 1].strip()


def _found() -> dict[str, list[str]]:
    """file -> the statements its markers keep as written."""
    found: dict[str, list[str]] = {}
    for path in _files(TREES):
        text = path.read_text(encoding="utf-8")
        if "fmt:" not in text:
            continue
        at = _markers(text)
        if at:
            tree, lines = ast.parse(text), text.splitlines()
            found[_name(path)] = [_statement(tree, lines, n) for n in at]
    return found


def test_fmt_skip_only_keeps_aligned_tables():
    stray = [
        f"{name}: {statement}"
        for name, statements in _found().items()
        for statement in statements
        if (name, statement) not in ALIGNED_TABLES
    ]
    assert not stray, (
        "formatter markers on code (remove the marker, run `ruff format FILE`, and split the "
        "file by use case if it then passes 400 lines; a data table that reads better as a "
        "grid goes in ALIGNED_TABLES):\n" + "\n".join(stray)
    )


def test_modules_stay_under_400_lines():
    long = [
        f"{_name(p)}: {n} lines"
        for p in _files(SIZED)
        if not _name(p).startswith(HISTORY)
        and (n := len(p.read_text(encoding="utf-8").splitlines())) > MAX_LINES
    ]
    assert not long, (
        f"modules past {MAX_LINES} lines: split each by use case "
        "(docs/develop/modules.md: a room's helpers are _<use>.py):\n" + "\n".join(long)
    )


def test_the_allowlist_only_shrinks():
    kept = {(name, s) for name, statements in _found().items() for s in statements}
    gone = sorted(ALIGNED_TABLES - kept)
    assert not gone, f"no marker there any more: remove from ALIGNED_TABLES: {gone}"
