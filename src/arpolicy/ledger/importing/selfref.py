"""References to rows of the same kind (a customer's parent, a user's manager) that may point
at a row later in the same file.

A row whose parent is stored already, or was accepted earlier in the file, is written at
once; the others wait until the end of the file and are then written once their parent is
accepted. Parent ids of rows new in this file are set by one UPDATE at the end. A cycle
(A's parent is B, B's parent is A, in the file or through stored rows) is an error.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import bindparam, update

from arpolicy.ledger.importing.context import LOADERS, Context
from arpolicy.ledger.importing.report import FieldError
from arpolicy.ledger.importing.specs import Kind, Row, Values

MAPS = {"customers": ("customers", "customers.parent"), "users": ("users", "users.manager")}
MAX_DEPTH = 10_000


@dataclass(slots=True)
class Waiting:
    line: int
    record: Any
    key: Any
    parent: Any
    row: Row
    update: tuple[str, ...]


class SelfRefs:
    def __init__(self, ctx: Context, kind: Kind) -> None:
        assert kind.self_ref is not None
        self.ctx = ctx
        self.kind = kind
        self.column, self.target = kind.self_ref
        self.stored_name, self.parents_name = MAPS[kind.name]
        self.accepted: set[Any] = set()
        self.waiting: list[Waiting] = []
        self.links: list[tuple[Any, Any]] = []

    def place(self, key: Any, values: Values, row: Row) -> bool:
        """Set the row's parent id; False when the parent is not known yet (the row waits)."""
        if self.column not in values or values[self.column] is None:
            row[self.target] = None
            self._accept(key, None)
            return True
        parent = values[self.column]
        if parent == key:
            raise FieldError(
                "is the row itself",
                f"leave {self.column} empty or name another row",
                column=self.column,
            )
        stored = self.ctx.refs(self.stored_name)
        if parent not in stored and parent not in self.accepted:
            return False
        self._link(key, parent, row, stored)
        return True

    def _link(self, key: Any, parent: Any, row: Row, stored: dict[Any, Any]) -> None:
        if self._cycle(key, parent):
            raise FieldError(
                f"{parent} is below this row in the hierarchy (a cycle)",
                f"give {self.column} a row that is not one of its descendants",
                column=self.column,
            )
        row[self.target] = stored.get(parent)
        if parent not in stored:
            self.links.append((key, parent))
        self._accept(key, parent)

    def _accept(self, key: Any, parent: Any) -> None:
        self.accepted.add(key)
        parents = self.ctx.refs(self.parents_name)
        if parent is None:
            parents.pop(key, None)
        else:
            parents[key] = parent

    def _cycle(self, key: Any, parent: Any) -> bool:
        parents = self.ctx.refs(self.parents_name)
        node, depth = parent, 0
        while node is not None and depth < MAX_DEPTH:
            if node == key:
                return True
            node, depth = parents.get(node), depth + 1
        return False

    def wait(self, item: Waiting) -> None:
        self.waiting.append(item)

    def resolve(self) -> tuple[list[Waiting], list[tuple[Waiting, FieldError]]]:
        """Rows that can now be written, and the ones that cannot (with why)."""
        ready: list[Waiting] = []
        failed: list[tuple[Waiting, FieldError]] = []
        stored = self.ctx.refs(self.stored_name)
        progress = True
        while progress and self.waiting:
            progress, rest = False, []
            for item in self.waiting:
                if item.parent in stored or item.parent in self.accepted:
                    try:
                        self._link(item.key, item.parent, item.row, stored)
                        ready.append(item)
                    except FieldError as exc:
                        failed.append((item, exc))
                    progress = True
                else:
                    rest.append(item)
            self.waiting = rest
        waiting_keys = {item.key for item in self.waiting}
        for item in self.waiting:
            failed.append((item, self._missing(item, waiting_keys)))
        self.waiting = []
        return ready, failed

    def _missing(self, item: Waiting, waiting_keys: set[Any]) -> FieldError:
        what = self.kind.name.rstrip("s")
        if item.parent in waiting_keys:
            return FieldError(
                f"{item.parent} cannot be imported: its own {self.column} is missing or the rows "
                "form a cycle",
                f"fix the row of {item.parent} first",
                column=self.column,
            )
        return FieldError(
            f"no {what} {item.parent} in this tenant or in this file",
            f"import the {what} {item.parent} first, or add it to this file",
            column=self.column,
        )

    def write_links(self) -> None:
        """Point rows at parents that were new in this file (one UPDATE, many rows)."""
        if not self.links:
            return
        ids = LOADERS[self.stored_name](self.ctx.session, self.ctx.tenant_id)
        table = self.kind.model.__table__
        stmt = (
            update(table)
            .where(table.c.tenant_id == self.ctx.tenant_id, table.c.id == bindparam("row_id"))
            .values({self.target: bindparam("new_parent")})
        )
        params = [{"row_id": ids[k], "new_parent": ids[p]} for k, p in self.links if k in ids]
        self.ctx.session.connection().execute(stmt, params)
