"""The packed text forms the demo catalogues (:mod:`arpolicy.ledger.demo_data`,
:mod:`arpolicy.ledger.demo_countries`) are written in: ``|``-separated lists, ``name:value``
pairs and ``name:weight`` weights."""

from __future__ import annotations


def items(text: str) -> tuple[str, ...]:
    """``"a|b c|d"`` -> ("a", "b c", "d"), ignoring line breaks around items."""
    return tuple(part.strip() for part in text.split("|"))


def pairs(text: str) -> tuple[tuple[str, str], ...]:
    """``"a:x|b:y"`` -> (("a", "x"), ("b", "y"))."""
    return tuple((name, value) for name, value in (i.rsplit(":", 1) for i in items(text)))


def weighted(text: str) -> tuple[tuple[str, int], ...]:
    """``"a:3|b:1"`` -> (("a", 3), ("b", 1))."""
    return tuple((name, int(weight)) for name, weight in (i.rsplit(":", 1) for i in items(text)))
