"""``arpolicy assign``: owner assignment policies, runs, explanations, hand-set owners."""

from __future__ import annotations

import getpass
import json
from pathlib import Path
from typing import Any

import typer
from sqlalchemy import select

from arpolicy.audit import Actor
from arpolicy.cli import common, terminal
from arpolicy.exceptions import NotFoundError, ValidationError
from arpolicy.kit.clock import local_today
from arpolicy.models import Customer, User
from arpolicy.ownership import repository as repo
from arpolicy.ownership.admin import owners_of, policy_warnings, save_policy, set_owner
from arpolicy.ownership.config import ROLES, PolicyError, load_yaml
from arpolicy.ownership.service import run_roles

app = typer.Typer(
    help="Owner assignment: finance and sales owners chosen by rules.", no_args_is_help=True
)
RoleOption = typer.Option(None, "--role", "-r", help="finance or sales (default: both).")


def _actor(tenant_id: int) -> Actor:
    return Actor(tenant_id=tenant_id, label=f"cli:{getpass.getuser()}")


def _roles(role: str | None) -> tuple[str, ...]:
    if role is None:
        return ROLES
    if role not in ROLES:
        raise ValidationError(
            f"{role!r} is not an owner role", where="--role", fix="finance or sales"
        )
    return (role,)


@app.command("load")
@common.handle_errors
def load(
    path: Path = typer.Argument(
        ..., help="YAML file: one policy, or `policies:` with one per role."
    ),
    tenant: str | None = common.TenantOption,
    comment: str | None = typer.Option(None, help="Why this version (kept in the audit log)."),
) -> None:
    """Validate and save the policies of a YAML file as each role's new version."""
    if not path.is_file():
        raise ValidationError(f"{path} does not exist", where="PATH", fix="check the path")
    policies = load_yaml(path.read_text(encoding="utf-8"))
    now = common.clock().now()
    with common.tenant_session(tenant, write=True) as (session, t):
        for policy in policies:
            try:
                row = _save(session, t, policy, now, comment)
            except PolicyError as exc:
                for e in exc.errors[1:]:
                    terminal.note(f"error: {e['where']}: {e['what']}\n  fix: {e['fix']}")
                raise
            terminal.say(
                f"{policy.role} policy saved as version {row.version} ({len(policy.rules)} rule(s))"
            )
            day = local_today(common.clock(), t.timezone)
            for w in policy_warnings(session, t, row.config, as_of=day):
                terminal.warning(f"{policy.role} policy: {w.message}", w.fix)


def _save(session: Any, t: Any, policy: Any, now: Any, comment: str | None) -> Any:
    data = policy.model_dump(mode="json", exclude_none=True)
    return save_policy(session, t, _actor(t.id), data, at=now, comment=comment)


@app.command("show")
@common.handle_errors
def show(
    role: str | None = RoleOption,
    tenant: str | None = common.TenantOption,
    as_json: bool = common.JsonOption,
) -> None:
    """The live policy of each role."""
    out: dict[str, Any] = {}
    with common.tenant_session(tenant) as (session, t):
        for r in _roles(role):
            live = repo.live_policy(session, t.id, r)
            out[r] = (
                None
                if live is None
                else {
                    "version": live.version,
                    "active": live.active,
                    "created_by": live.created_by,
                    "config": live.config,
                }
            )
    if as_json:
        terminal.print_json(out)
        return
    for r, v in out.items():
        if v is None:
            terminal.say(f"{r}: no policy (load one with `arpolicy assign load FILE`)")
        else:
            terminal.say(f"{r}: version {v['version']} by {v['created_by']}")
            terminal.say(json.dumps(v["config"], indent=2))


@app.command("run")
@common.handle_errors
def run_cmd(
    role: str | None = RoleOption,
    tenant: str | None = common.TenantOption,
    dry_run: bool = typer.Option(False, "--dry-run", help="List the changes without writing them."),
    rebalance: bool = typer.Option(
        False, "--rebalance", help="Even out round-robin and least-loaded pools."
    ),
    as_of: str | None = common.AsOfOption,
    limit: int = typer.Option(50, help="Changes to list per role (0: all)."),
    as_json: bool = common.JsonOption,
) -> None:
    """Re-evaluate every customer against the live policies and write the changes."""
    now = common.clock().now()
    roles = _roles(role)
    with common.tenant_session(tenant, write=not dry_run or len(roles) > 1) as (session, t):
        on = common.parse_as_of(as_of, t)
        reports = run_roles(
            session,
            t,
            _actor(t.id),
            roles,
            as_of=on,
            at=now,
            dry_run=dry_run,
            rebalance_pools=rebalance,
        )
    if as_json:
        terminal.print_json([rep.to_json(limit or None) for rep in reports])
        return
    for rep in reports:
        if rep.note:
            terminal.say(f"{rep.role}: {rep.note}")
            continue
        verb = "would change" if rep.dry_run else "changed"
        terminal.say(
            f"{rep.role} (policy v{rep.policy_version}): {rep.customers} customers, {verb} "
            f"{len(rep.changes)}, kept {rep.kept}, locked {rep.locked}, gaps {len(rep.gaps)}"
        )
        shown = rep.changes if not limit else rep.changes[:limit]
        if shown:
            terminal.table(
                None,
                [(h, "left") for h in ("customer", "before", "after", "rule", "why")],
                [
                    [c.external_id, c.before or "", c.after or "", c.rule or "", c.reason]
                    for c in shown
                ],
            )
        for gap in rep.gaps[: limit or None]:
            terminal.note(f"gap: customer {gap['customer_id']}: {'; '.join(gap['gaps'])}")


def _customer(session: Any, tenant_id: int, external_id: str) -> Customer:
    c = session.scalar(
        select(Customer).where(Customer.tenant_id == tenant_id, Customer.external_id == external_id)
    )
    if c is None:
        raise NotFoundError(
            f"no customer {external_id!r}", where="CUSTOMER", fix="give the customer's external id"
        )
    return c


@app.command("explain")
@common.handle_errors
def explain_cmd(
    customer: str = typer.Argument(..., help="The customer's external id."),
    tenant: str | None = common.TenantOption,
    as_of: str | None = common.AsOfOption,
    as_json: bool = common.JsonOption,
) -> None:
    """Who owns the customer in each role, which rule chose them and why."""
    with common.tenant_session(tenant) as (session, t):
        c = _customer(session, t.id, customer)
        info = owners_of(session, t, c.id, as_of=common.parse_as_of(as_of, t))
    if as_json:
        terminal.print_json(info)
        return
    for role, o in info.items():
        lock = " (locked)" if o["locked"] else ""
        terminal.say(
            f"{role}: {o['email'] or 'nobody'}{lock}, rule {o['rule'] or '-'}: {o['reason'] or '-'}"
        )
        if o["policy_would_assign"] != o["email"]:
            terminal.say(
                f"  the live policy would assign {o['policy_would_assign']}: {o['explanation']}"
            )
        for gap in o["gaps"]:
            terminal.say(f"  gap: {gap}")


@app.command("set")
@common.handle_errors
def set_cmd(
    customer: str = typer.Argument(..., help="The customer's external id."),
    role: str = typer.Option(..., "--role", "-r", help="finance or sales."),
    user: str | None = typer.Option(
        None, "--user", "-u", help="The owner's e-mail (omit to clear)."
    ),
    lock: bool = typer.Option(True, "--lock/--no-lock", help="Keep policies from changing it."),
    tenant: str | None = common.TenantOption,
) -> None:
    """Set (and by default lock) a customer's owner by hand."""
    _roles(role)
    now = common.clock().now()
    with common.tenant_session(tenant, write=True) as (session, t):
        c = _customer(session, t.id, customer)
        user_id = None
        if user:
            user_id = session.scalar(
                select(User.id).where(User.tenant_id == t.id, User.email == user.lower())
            )
            if user_id is None:
                raise NotFoundError(f"no user {user}", where="--user", fix="check the e-mail")
        change = set_owner(session, t, _actor(t.id), c.id, role, user_id, locked=lock, at=now)
    terminal.say(
        f"{customer}: {role} owner {change.before or 'nobody'} -> {change.after or 'nobody'}"
        + (" (locked)" if lock else "")
    )
