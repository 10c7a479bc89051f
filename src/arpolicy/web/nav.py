"""The app's menu: each screen with the permission that shows it. A user sees only the
screens their role may open (the views check the same permission)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class Item:
    label: str
    href: str
    permission: str


SCREENS: tuple[Item, ...] = (
    Item("Dashboard", "/dashboard", "reports:read"),
    Item("My worklist", "/worklist", "ledger:read"),
    Item("Customers", "/customers", "ledger:read"),
    Item("Rules", "/rules", "rules:read"),
    Item("Owners", "/owners", "ledger:read"),
    Item("Reminders", "/reminders", "ledger:read"),
    Item("Imports", "/imports", "ledger:write"),
    Item("Settings", "/settings", "users:read"),
)


def menu(caller: Any) -> list[Item]:
    allowed: frozenset[str] = getattr(caller, "permissions", frozenset())
    return [item for item in SCREENS if item.permission in allowed]
