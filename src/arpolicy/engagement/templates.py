"""Reminder email templates: subject, plain text and HTML per language, rendered in a sandbox.

A cycle gives its templates either by the name of a built-in (``friendly``, ``firm``,
``final``; files in ``template_files/<name>.<lang>.{subject,txt,html}``) or per language::

    {"en": {"subject": "...", "text": "...", "html": "..."}, "de": {...}}

Templates are Jinja2 run in an :class:`~jinja2.sandbox.ImmutableSandboxedEnvironment` with
:class:`~jinja2.StrictUndefined` (a misspelt variable is an error, never an empty string),
autoescaping for HTML only, ``trim_blocks`` and ``lstrip_blocks``. Besides the fields of
:class:`RenderContext` (``customer_name``, ``invoices``, ``statement``...), ``locale`` and
``language``, templates get, as filters and as functions: ``money`` (a Money, or a list of
them, in the customer's locale), ``date`` (Babel ``format_date``), ``totals`` (open balance
per currency) and ``invoice_table`` (an aligned text table, or an HTML table with inline
styles). A render that runs too long or writes too much stops with a SecurityError.
:func:`validate` lists every problem with where, what and how to fix it (the API's 422).
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable, Mapping
from dataclasses import fields
from functools import cache, lru_cache
from importlib import resources
from typing import Any

from babel import Locale, UnknownLocaleError
from jinja2 import StrictUndefined, Template
from jinja2.exceptions import SecurityError
from jinja2.runtime import Context
from jinja2.sandbox import ImmutableSandboxedEnvironment

from arpolicy.engagement.template_data import (
    _RUN,
    _WIDTH,
    BUILTINS,
    MAX_OUTPUT,
    MAX_SECONDS,
    MAX_SUBJECT,
    PARTS,
    InvoiceLine,
    RenderContext,
    Rendered,
    TemplateBudgetError,
    TemplateLike,
    TemplateSet,
    TemplateText,
    _big,
    _Run,
    _run,
    _sized,
    choose_language,
    parse_locale,
)
from arpolicy.engagement.template_format import (
    _money_layout,
    format_day,
    format_money,
    invoice_table,
    money,
    totals,
)
from arpolicy.exceptions import ValidationError

_PERCENT_WIDTH = re.compile(r"%[-#0 +]*(?:\(\w*\))?(?:\*|\d{5,})|%[^%]*?\.(?:\*|\d{5,})")
_FORMAT_WIDTH = re.compile(r"\{[^{}]*(?:\{|:[^{}]*\d{5,})")
_PADDERS = frozenset({"center", "ljust", "rjust", "zfill", "expandtabs"})


class _Sandbox(ImmutableSandboxedEnvironment):
    """The Jinja sandbox, plus a time and size budget on each render."""

    intercepted_binops = frozenset({"*", "**", "%"})

    def call_binop(self, context: Context, operator: str, left: Any, right: Any) -> Any:
        _run()
        if (
            operator == "**"
            and isinstance(left, int)
            and isinstance(right, int)
            and max(abs(left).bit_length(), 1) * right > 4096
        ):
            raise SecurityError("the template computes a power too large")
        if operator == "*" and isinstance(left, str | list | tuple) ^ isinstance(
            right, str | list | tuple
        ):
            seq, n = (left, right) if isinstance(left, str | list | tuple) else (right, left)
            if isinstance(n, int) and len(seq) * n > MAX_OUTPUT:
                raise SecurityError("the template repeats a text or list too many times")
        if operator == "%" and isinstance(left, str) and _PERCENT_WIDTH.search(left):
            raise SecurityError(f"a %-format width or precision above {_WIDTH} in {left!r}")
        return super().call_binop(context, operator, left, right)

    def getattr(self, obj: Any, attribute: str) -> Any:
        _run()
        return _sized(super().getattr(obj, attribute))

    def getitem(self, obj: Any, argument: Any) -> Any:
        _run()
        return _sized(super().getitem(obj, argument))

    def call(__self, __context: Context, __obj: Any, *args: Any, **kwargs: Any) -> Any:
        _run()
        if getattr(__obj, "__name__", "") in _PADDERS and any(
            _big(a) for a in (*args, *kwargs.values())
        ):
            raise SecurityError(f"a width above {_WIDTH} passed to {__obj.__name__}")
        return super().call(__context, __obj, *args, **kwargs)

    def wrap_str_format(self, value: Any) -> Callable[..., str] | None:
        wrapped = super().wrap_str_format(value)
        if wrapped is None:
            return None
        if _FORMAT_WIDTH.search(value.__self__):
            raise SecurityError(f"nested or wide format fields in {value.__self__!r}")
        return wrapped


def _guard_width(name: str, fn: Callable[..., Any]) -> Callable[..., Any]:
    def guarded(*args: Any, **kwargs: Any) -> Any:
        if name == "format":
            if isinstance(args[0], str) and _PERCENT_WIDTH.search(args[0]):
                raise SecurityError(f"a %-format width or precision above {_WIDTH}")
        elif any(_big(a) for a in (*args[1:], *kwargs.values())):
            raise SecurityError(f"a width above {_WIDTH} passed to the {name} filter")
        return fn(*args, **kwargs)

    guarded.__dict__.update(fn.__dict__)  # keeps jinja_pass_arg
    return guarded


# ------------------------------------------------------------------------------ the engine
def _environment(autoescape: bool) -> _Sandbox:
    env = _Sandbox(
        autoescape=autoescape, undefined=StrictUndefined, trim_blocks=True, lstrip_blocks=True
    )
    for name in ("center", "indent", "format", "slice"):
        env.filters[name] = _guard_width(name, env.filters[name])
    helpers = {
        "money": money,
        "date": format_day,
        "totals": totals,
        "invoice_table": invoice_table,
    }
    env.filters.update(helpers)
    env.globals.update(helpers)
    return env


_ENVS = {"html": _environment(autoescape=True), "text": _environment(autoescape=False)}
VARIABLES = (*(f.name for f in fields(RenderContext)), "locale", "language")
"""The variables every template sees (besides the helpers and Jinja's globals)."""


@lru_cache(maxsize=512)
def _compile(kind: str, source: str) -> Template:
    return _ENVS[kind].from_string(source)


def _kind(part: str) -> str:
    return "html" if part == "html" else "text"


def _generate(template: Template, variables: dict[str, Any]) -> str:
    chunks: list[str] = []
    size = 0
    for chunk in template.generate(variables):
        size += len(chunk)
        if size > MAX_OUTPUT:
            raise TemplateBudgetError(f"the template wrote more than {MAX_OUTPUT} characters")
        _run()
        chunks.append(chunk)
    return "".join(chunks)


_HEADER_SPACE = re.compile(r"[\t\n\v\f\r\x1c-\x1f\x85\u2028\u2029 ]+")
_CONTROL = re.compile(r"[\x00-\x08\x0e-\x1b\x7f]")


def one_line(subject: str) -> str:
    """A header-safe subject: whitespace runs (CR, LF included) become one space, other
    control characters go, at most :data:`MAX_SUBJECT` characters."""
    s = _HEADER_SPACE.sub(" ", _CONTROL.sub("", subject)).strip()
    return s if len(s) <= MAX_SUBJECT else s[: MAX_SUBJECT - 1].rstrip() + "…"


def builtin(name: str) -> dict[str, TemplateText]:
    """A built-in template set by name, per language; KeyError if there is none."""
    return dict(_builtin(name))


@cache
def _builtin(name: str) -> dict[str, TemplateText]:
    folder = resources.files(__package__ or "arpolicy.engagement") / "template_files"
    found: dict[str, dict[str, str]] = {}
    for entry in folder.iterdir():
        stem, _, suffix = entry.name.rpartition(".")
        base, _, lang = stem.partition(".")
        key = {s: k for k, s in PARTS}.get(suffix)
        if base == name and lang and key:
            found.setdefault(lang, {})[key] = entry.read_text(encoding="utf-8")
    if name not in BUILTINS or not found:
        raise KeyError(name)
    return {lang: TemplateText(**parts) for lang, parts in sorted(found.items())}


def _resolve(templates: TemplateSet | Mapping[str, Any] | str) -> TemplateSet:
    """The built-in of that name, or the set itself (JSON objects read as TemplateText)."""
    if isinstance(templates, Mapping):
        return {
            lang: TemplateText.model_validate(t) if isinstance(t, Mapping) else t
            for lang, t in templates.items()
        }
    if isinstance(templates, str):
        try:
            return builtin(templates)
        except KeyError:
            raise ValidationError(
                f"there is no built-in template named {templates!r}",
                fix=f"use one of {', '.join(BUILTINS)}, or give the templates per language",
            ) from None
    return templates


def _render_part(part: str, source: str, variables: dict[str, Any], locale: Locale) -> str:
    run = _Run(locale, variables["language"], time.thread_time() + MAX_SECONDS)
    token = _RUN.set(run)
    try:
        return _generate(_compile(_kind(part), source), variables)
    finally:
        _RUN.reset(token)


def _variables(context: RenderContext, locale: Locale, language: str) -> dict[str, Any]:
    data = {f.name: getattr(context, f.name) for f in fields(RenderContext)}
    return {**data, "locale": str(locale), "language": language}


def render(
    templates: TemplateSet | Mapping[str, Any] | str, context: RenderContext, locale: str
) -> Rendered:
    """Subject, text and HTML in the language of ``templates`` closest to ``locale``, money
    and dates formatted for ``locale``. Jinja errors (UndefinedError, SecurityError...)
    propagate: :func:`validate` reports them with where and how to fix them."""
    resolved = _resolve(templates)
    if not resolved:
        raise ValidationError("the template set has no language", fix="add at least one")
    try:
        babel_locale = parse_locale(locale)
    except (ValueError, UnknownLocaleError):
        raise ValidationError(
            f"{locale!r} is not a locale", fix="use a code such as en, de, fr or de_AT"
        ) from None
    language = choose_language(resolved.keys(), [locale])
    chosen = resolved[language]
    variables = _variables(context, babel_locale, language)
    subject = _render_part("subject", chosen.subject, variables, babel_locale)
    text = _render_part("text", chosen.text, variables, babel_locale)
    html = None
    if chosen.html is not None:
        html = _render_part("html", chosen.html, variables, babel_locale).strip() + "\n"
    return Rendered(one_line(subject), text.strip("\n").rstrip() + "\n", html, language)


# The checks import this module: imported last, re-exported with the rest of the surface.
from arpolicy.engagement.template_check import sample_context, validate  # noqa: E402

__all__ = [
    "BUILTINS",
    "MAX_SUBJECT",
    "InvoiceLine",
    "RenderContext",
    "Rendered",
    "TemplateBudgetError",
    "TemplateLike",
    "TemplateSet",
    "TemplateText",
    "_money_layout",
    "builtin",
    "choose_language",
    "format_money",
    "one_line",
    "parse_locale",
    "render",
    "sample_context",
    "totals",
    "validate",
]
