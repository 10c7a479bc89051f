"""Owners: editing a role's assignment policy (docs/web/owners.md), one rule at a time with
the rule builder, or the whole policy as YAML. Saving is ``save_role_policy``, what
``PUT /v1/assignment/policies/{role}`` calls: validated against the tenant, a new version,
audited with the user; it needs ``policies:manage``. A form with problems comes back (422)
with each message beside its field and nothing stored.
"""

from __future__ import annotations

import copy
import re
from typing import Any, Literal

import yaml
from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from sqlalchemy.orm import Session

from arpolicy.exceptions import NotFoundError, ValidationError
from arpolicy.kit.clock import local_today
from arpolicy.kit.datafile import ProblemsError, yaml_data
from arpolicy.ownership import repository as repo
from arpolicy.ownership.admin import save_role_policy
from arpolicy.ownership.config import Strategy
from arpolicy.web import rulebuilder
from arpolicy.web.context import Caller, signed_in
from arpolicy.web.render import page
from arpolicy.web.rulebuilder_form import Form
from arpolicy.web.views.rules import posted, tenant_of

router = APIRouter(include_in_schema=False)
Role = Literal["finance", "sales"]
PREFIX = "when"
WHERE = re.compile(r"rules(?:\[(\d+)\]|\.(\d+))\.(name|when|assign)(?:\.(\w+))?")
FIELD_OF = {"users": "users", "field": "field", "by": "by", "map": "users", "capacity": "users"}


def _one(form: Form, key: str) -> str:
    values = form.get(key) or ()
    return values[0].strip() if values else ""


def _live(session: Session, me: Caller, role: str) -> dict[str, Any]:
    live = repo.live_policy(session, me.tenant_id, role)
    return copy.deepcopy(live.config) if live else {"role": role, "rules": []}


def _rule_at(config: dict[str, Any], index: str) -> dict[str, Any] | None:
    rules = config.get("rules") or []
    if index == "new":
        return None
    if not index.isdigit() or int(index) >= len(rules):
        raise NotFoundError(f"no rule {index} in this policy", fix="pick a rule on /owners")
    rule: dict[str, Any] = rules[int(index)]
    return rule


def _values_of(rule: dict[str, Any] | None) -> dict[str, str]:
    if rule is None:
        return {"strategy": "round_robin", "active": "1"}
    assign = rule.get("assign") or {}
    return {
        "name": rule.get("name", ""),
        "strategy": assign.get("strategy", ""),
        "users": "\n".join(assign.get("users") or []),
        "field": assign.get("field") or "",
        "by": assign.get("by") or "customers",
        "active": "1",
    }


def _rule_page(request: Request, me: Caller, role: str, index: str, **ctx: Any) -> HTMLResponse:
    return page(
        request,
        me,
        "owners/rule.html",
        status=ctx.pop("status", 200),
        role=role,
        index=index,
        strategies=[s.value for s in Strategy],
        **ctx,
    )


@router.get("/owners/{role}/rules/{index}", response_class=HTMLResponse)
def rule_form(
    request: Request, role: Role, index: str, me: Caller = Depends(signed_in("policies:manage"))
) -> HTMLResponse:
    with me.read() as session:
        tenant = tenant_of(session, me)
        rule = _rule_at(_live(session, me, role), index)
        rb = rulebuilder.start(
            session,
            tenant,
            level="customer",
            rule=rule.get("when") if rule else None,
            prefix=PREFIX,
            as_of=local_today(me.clock, tenant.timezone),
        )
    return _rule_page(request, me, role, index, rb=rb, values=_values_of(rule), errors={})


@router.post("/owners/{role}/rules/{index}", response_class=HTMLResponse)
def save_rule(
    request: Request,
    role: Role,
    index: str,
    form: Form = Depends(posted),
    me: Caller = Depends(signed_in("policies:manage")),
) -> Response:
    values = {k: _one(form, k) for k in ("name", "strategy", "users", "field", "by", "comment")}
    values["active"] = "1" if _one(form, "active") else ""
    errors: dict[str, str] = {}
    with me.write() as session:
        tenant = tenant_of(session, me)
        today = local_today(me.clock, tenant.timezone)
        rb = rulebuilder.from_form(session, tenant, form, prefix=PREFIX, as_of=today)
        config = _live(session, me, role)
        existing = _rule_at(config, index)
        if not rb.valid:
            errors["when"] = "the rule has problems: see beside its conditions"
        else:
            rule = {"name": values["name"], "when": rb.canonical, "assign": _assign(values)}
            rules = config.setdefault("rules", [])
            if existing is None:
                rules.append(rule)
                position = len(rules) - 1
            else:
                position = int(index)
                rules[position] = rule
            try:
                row = save_role_policy(
                    session,
                    tenant,
                    me.actor,
                    role,
                    config,
                    at=me.now(),
                    comment=values["comment"] or None,
                    active=bool(values["active"]),
                )
                return RedirectResponse(f"/owners?role={role}&saved={row.version}", 303)
            except ProblemsError as exc:
                errors = _placed(exc.errors, position)
            except ValidationError as exc:
                errors = {"form": f"{exc.where}: {exc.message} ({exc.fix})"}
    return _rule_page(request, me, role, index, rb=rb, values=values, errors=errors, status=422)


@router.post("/owners/{role}/rules/{index}/delete", response_class=HTMLResponse)
def delete_rule(
    request: Request,
    role: Role,
    index: str,
    form: Form = Depends(posted),
    me: Caller = Depends(signed_in("policies:manage")),
) -> Response:
    """Save the policy without rule ``index`` as a new version."""
    with me.write() as session:
        tenant = tenant_of(session, me)
        config = _live(session, me, role)
        rule = _rule_at(config, index)
        if rule is None:
            raise NotFoundError("no rule new in this policy", fix="pick a rule on /owners")
        del config["rules"][int(index)]
        try:
            row = save_role_policy(
                session,
                tenant,
                me.actor,
                role,
                config,
                at=me.now(),
                comment=f"removed rule {rule.get('name')}",
                active=_active(session, me, role),
            )
            return RedirectResponse(f"/owners?role={role}&saved={row.version}", 303)
        except ProblemsError as exc:
            message = "; ".join(f"{p['what']} ({p['fix']})" for p in exc.errors)
        rb = rulebuilder.start(
            session,
            tenant,
            level="customer",
            rule=rule.get("when"),
            prefix=PREFIX,
            as_of=local_today(me.clock, tenant.timezone),
        )
    errors = {"form": f"The rule cannot be removed: {message}"}
    return _rule_page(
        request, me, role, index, rb=rb, values=_values_of(rule), errors=errors, status=422
    )


def _active(session: Session, me: Caller, role: str) -> bool:
    live = repo.live_policy(session, me.tenant_id, role)
    return live is None or live.active


def _assign(values: dict[str, str]) -> dict[str, Any]:
    users = [u.strip() for u in re.split(r"[\n,]", values["users"]) if u.strip()]
    assign: dict[str, Any] = {"strategy": values["strategy"], "users": users}
    if values["field"]:
        assign["field"] = values["field"]
    if values["strategy"] == Strategy.LEAST_LOADED and values["by"]:
        assign["by"] = values["by"]
    return assign


def _placed(problems: list[dict[str, str]], position: int) -> dict[str, str]:
    """Each problem of the policy beside the form field it is about (others on top)."""
    errors: dict[str, str] = {}
    for p in problems:
        message = f"{p['what']} ({p['fix']})"
        found = WHERE.search(p["where"])
        if found and int(found.group(1) or found.group(2)) == position:
            part, sub = found.group(3), found.group(4)
            name = {"name": "name", "when": "when"}.get(part) or FIELD_OF.get(sub or "", "strategy")
        else:
            name, message = "form", f"{p['where']}: {message}"
        errors[name] = (errors[name] + "; " if name in errors else "") + message
    return errors


@router.get("/owners/{role}/yaml", response_class=HTMLResponse)
def yaml_form(
    request: Request, role: Role, me: Caller = Depends(signed_in("policies:manage"))
) -> HTMLResponse:
    with me.read() as session:
        config = _live(session, me, role)
        live = repo.live_policy(session, me.tenant_id, role)
    text = yaml.safe_dump(config, sort_keys=False, allow_unicode=True)
    values = {"active": "1" if live is None or live.active else ""}
    return page(request, me, "owners/yaml.html", role=role, text=text, problems=[], values=values)


@router.post("/owners/{role}/yaml", response_class=HTMLResponse)
def save_yaml(
    request: Request,
    role: Role,
    form: Form = Depends(posted),
    me: Caller = Depends(signed_in("policies:manage")),
) -> Response:
    text = (form.get("policy") or [""])[0]
    comment = _one(form, "comment")
    problems: list[dict[str, str]] = []
    try:
        data = yaml_data(text)
        with me.write() as session:
            row = save_role_policy(
                session,
                tenant_of(session, me),
                me.actor,
                role,
                data,
                at=me.now(),
                comment=comment or None,
                active=bool(_one(form, "active")),
            )
        return RedirectResponse(f"/owners?role={role}&saved={row.version}", 303)
    except ProblemsError as exc:
        problems = exc.errors
    except ValidationError as exc:
        problems = [{"where": exc.where or "policy", "what": exc.message, "fix": exc.fix or ""}]
    values = {"comment": comment, "active": _one(form, "active")}
    return page(
        request,
        me,
        "owners/yaml.html",
        status=422,
        role=role,
        text=text,
        problems=problems,
        values=values,
    )
