"""The tenant's users, as the owner fields of a rule name them.

``finance_owner`` and ``sales_owner`` hold the owner's e-mail. A rule may name the owner
by e-mail or by name, bare or quoted (``finance_owner = anna@shop.example``,
``finance_owner = "Anna Berg"``, ``finance_owner = Anna Berg``), in any case: the checker
resolves each to exactly one user of the :class:`Directory` the catalogue was built with
(:func:`arpolicy.ledger.fields.catalogue_for`), and the compilers compare with that user's
stored e-mail. An unknown or ambiguous name is a problem naming the nearest users.

Without a directory (a catalogue built with no users) an owner literal is compared as
written, with the stored e-mail.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from difflib import get_close_matches


@dataclass(frozen=True, slots=True)
class Person:
    email: str
    name: str


def _key(text: str) -> str:
    """Case- and spacing-insensitive form of a name or an e-mail."""
    return " ".join(text.split()).lower()


@dataclass(frozen=True, slots=True)
class Directory:
    """The users an owner literal may name (all of the tenant's, inactive ones included:
    a customer may still be owned by one)."""

    people: tuple[Person, ...]

    @classmethod
    def of(cls, people: Iterable[tuple[str, str] | Person]) -> Directory:
        """From ``(email, name)`` pairs (or :class:`Person`), sorted by e-mail."""
        found = {p if isinstance(p, Person) else Person(*p) for p in people}
        return cls(tuple(sorted(found, key=lambda p: p.email.lower())))

    def matches(self, value: str) -> list[Person]:
        """The users ``value`` names: by e-mail first, else by name."""
        key = _key(value)
        by_email = [p for p in self.people if _key(p.email) == key]
        return by_email or [p for p in self.people if _key(p.name) == key]

    def resolve(self, value: str) -> str | None:
        """The stored e-mail of the one user ``value`` names (None: none or several)."""
        found = self.matches(value)
        return found[0].email if len(found) == 1 else None

    def problem(self, field: str, value: str) -> tuple[str, str] | None:
        """``(what, fix)`` when ``value`` names no user or several, else None."""
        found = self.matches(value)
        if len(found) == 1:
            return None
        if found:
            emails = ", ".join(p.email for p in found)
            return (
                f"{len(found)} users are named {value!r} ({emails})",
                f"name the {field.removeprefix('customer.').replace('_', ' ')} by e-mail, "
                f"e.g. {field} = {found[0].email}",
            )
        return f"no user {value!r} in this tenant", self._nearest_fix(value)

    def _nearest_fix(self, value: str) -> str:
        if not self.people:
            return "create the user first (this tenant has no users)"
        labels = {_key(p.name): p for p in self.people} | {_key(p.email): p for p in self.people}
        near = get_close_matches(_key(value), list(labels), n=1, cutoff=0.0)
        person = labels[near[0]] if near else self.people[0]
        return f"did you mean {person.name} ({person.email})? name a user by e-mail or by name"
