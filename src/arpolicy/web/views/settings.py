"""Settings (docs/web/settings.md): the tabs and what they share. Each tab is its own module
(settings_tenant, settings_users, settings_keys, settings_webhooks, settings_mail,
settings_audit) calling the API's route functions with the signed-in user as the caller, so
the permissions, checks and audit events are the API's.

A form's bad input comes back (422) with the message beside the field: the API's errors
name the field (``where="body.email"``, or pydantic's ``loc``), which :func:`field_errors`
turns into the form's field names.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from fastapi import Request
from fastapi.responses import HTMLResponse, Response
from pydantic import ValidationError as PydanticError
from starlette.datastructures import FormData

from arpolicy.exceptions import ArpolicyError
from arpolicy.web.context import Caller
from arpolicy.web.render import page


@dataclass(frozen=True)
class Tab:
    label: str
    href: str
    allowed: Callable[[Caller], bool]


TABS: tuple[Tab, ...] = (
    Tab("Organisation", "/settings/tenant", lambda me: me.can("ledger:read")),
    Tab("Users", "/settings/users", lambda me: me.can("users:read")),
    Tab("API keys", "/settings/keys", lambda me: me.can("keys:own") or me.can("keys:manage")),
    Tab("Webhooks", "/settings/webhooks", lambda me: me.can("webhooks:manage")),
    Tab("Mail", "/settings/mail", lambda me: me.can("settings:manage")),
    Tab("Audit log", "/settings/audit", lambda me: me.can("audit:read")),
)


def tabs_of(me: Caller) -> list[Tab]:
    return [tab for tab in TABS if tab.allowed(me)]


def settings_page(
    request: Request, me: Caller, template: str, *, status: int = 200, **context: Any
) -> HTMLResponse:
    """A settings tab: ``settings/<template>`` with the tabs the user may open."""
    context.setdefault("errors", {})
    context.setdefault("values", {})
    context.setdefault("error", None)
    return page(request, me, f"settings/{template}", status=status, tabs=tabs_of(me), **context)


def field_errors(
    exc: Exception, fields: dict[str, str] | None = None
) -> tuple[dict[str, str], str]:
    """The messages of ``exc`` by form field, and one line for the top of the form.

    ``fields`` maps an API field path (``bank_details.iban``) to the form's field name when
    they differ."""
    fields = fields or {}
    found: dict[str, str] = {}
    if isinstance(exc, PydanticError):
        for error in exc.errors():
            path = ".".join(str(p) for p in error["loc"] if isinstance(p, str))
            name = fields.get(path, path)
            found.setdefault(name, _pydantic_message(error))
        summary = "Some values are not right: see the messages beside the fields."
        return found, summary
    assert isinstance(exc, ArpolicyError)
    text = exc.message + (f". How to fix it: {exc.fix}" if exc.fix else "")
    where = (exc.where or "").removeprefix("body.").removeprefix("path.")
    if where:
        found[fields.get(where, where)] = text
    return found, text


def _pydantic_message(error: Any) -> str:
    message = str(error["msg"])
    return message[0].upper() + message[1:] + "."


def form_values(form: FormData, *names: str) -> dict[str, str]:
    """The text fields ``names`` of ``form``, stripped ('' when missing)."""
    values: dict[str, str] = {}
    for name in names:
        value = form.get(name)
        values[name] = value.strip() if isinstance(value, str) else ""
    return values


def json_body(response: Response) -> Any:
    """What an API route answered through ``Api.created`` (a JSON response)."""
    return json.loads(bytes(response.body))
