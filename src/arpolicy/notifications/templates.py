"""Rendering a notification: subject, text and optional HTML are Jinja2 templates run in an
:class:`~jinja2.sandbox.ImmutableSandboxedEnvironment` (as the reminder templates are)
with :class:`~jinja2.StrictUndefined` (a misspelt variable is an error, never an empty
string); HTML autoescaped, text not. Every problem is a ValidationError that names the
template, says what went wrong and how to fix it.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from jinja2 import StrictUndefined, Template
from jinja2.sandbox import ImmutableSandboxedEnvironment

from arpolicy.exceptions import ValidationError

MAX_SUBJECT = 998
"""The longest subject (RFC 5322's line limit)."""
MAX_OUTPUT = 200_000
"""The longest body a template may write, in characters."""

_TEXT = ImmutableSandboxedEnvironment(
    undefined=StrictUndefined, autoescape=False, keep_trailing_newline=True
)
_HTML = ImmutableSandboxedEnvironment(undefined=StrictUndefined, autoescape=True)


@dataclass(frozen=True)
class Rendered:
    subject: str
    text: str
    html: str | None


def render(subject: str, body: str, html: str | None, context: Mapping[str, Any]) -> Rendered:
    """The three templates rendered with ``context``. The subject must come out on one
    line (surrounding white space is dropped)."""
    rendered_subject = _render("subject", subject, context).strip()
    if "\n" in rendered_subject or "\r" in rendered_subject:
        raise ValidationError(
            "the subject has a line break",
            where="subject",
            fix="write the subject on one line (no newline in the template or its data)",
        )
    if not rendered_subject:
        raise ValidationError("the subject is empty", where="subject", fix="give a subject")
    if len(rendered_subject) > MAX_SUBJECT:
        raise ValidationError(
            f"the subject has {len(rendered_subject):,} characters, over {MAX_SUBJECT}",
            where="subject",
            fix="shorten the subject; put the details in the body",
        )
    text = _render("body", body, context)
    return Rendered(rendered_subject, text, _render("html", html, context) if html else None)


def _render(part: str, source: str, context: Mapping[str, Any]) -> str:
    try:
        out = _compiled(part == "html", source).render(context)
    except Exception as exc:  # syntax, an undefined name, the sandbox, 1/0 in the template
        raise ValidationError(
            f"the {part} template cannot be rendered: {type(exc).__name__}: {exc}",
            where=part,
            fix="use only the variables given (data, user, tenant) and Jinja2 syntax",
        ) from None
    if len(out) > MAX_OUTPUT:
        raise ValidationError(
            f"the {part} template wrote {len(out):,} characters, over {MAX_OUTPUT:,}",
            where=part,
            fix="write less: a notification links to the details",
        )
    return out


@lru_cache(maxsize=256)
def _compiled(html: bool, source: str) -> Template:
    env = _HTML if html else _TEXT
    return env.from_string(source)


__all__ = ["MAX_OUTPUT", "MAX_SUBJECT", "Rendered", "render"]
