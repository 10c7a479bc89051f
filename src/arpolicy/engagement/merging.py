"""Which templates can lead a merged email: those that list ``steps`` (each invoice under
its step). A merged email is rendered by the template of its most advanced step; one that
shows only ``invoices`` would hide the other steps' invoices, so its customer gets one
email per step instead (docs/engagement.md, "Several steps on one day")."""

from __future__ import annotations

from collections.abc import Mapping
from functools import lru_cache
from typing import Any

from jinja2 import Environment, TemplateSyntaxError, nodes

from arpolicy.engagement.templates import builtin

_ENV = Environment()


def lists_steps(template: str | Mapping[str, Any]) -> bool:
    """Every language's text (and HTML, when it has one) reads ``steps``."""
    try:
        langs = builtin(template) if isinstance(template, str) else template
    except KeyError:
        return False
    parts: list[str | None] = []
    for spec in langs.values():
        get = spec.get if isinstance(spec, Mapping) else (lambda k, s=spec: getattr(s, k, None))
        parts += [get("text"), get("html")]
    sources = [p for p in parts if isinstance(p, str)]
    return bool(sources) and all(_reads(p, "steps") for p in sources)


@lru_cache(maxsize=1024)
def _reads(source: str, name: str) -> bool:
    try:
        ast = _ENV.parse(source)
    except TemplateSyntaxError:
        return False
    return any(n.name == name and n.ctx == "load" for n in ast.find_all(nodes.Name))
