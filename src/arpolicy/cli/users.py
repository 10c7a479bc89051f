"""``arpolicy users``: web app access from the terminal, for the operator: give a user a
password, or email them an invitation link (docs/web.md, "Signing in")."""

from __future__ import annotations

import getpass
import sys

import typer
from sqlalchemy.orm import Session

from arpolicy.audit import Actor, record
from arpolicy.auth import invitations, signin
from arpolicy.auth.account_mail import link_url, send_link
from arpolicy.auth.passwords import check_new_password, hash_password
from arpolicy.cli import common, terminal
from arpolicy.exceptions import NotFoundError, ValidationError
from arpolicy.models import Tenant, User, UserTokenKind

app = typer.Typer(help="Web app access: set a password, send an invitation.", no_args_is_help=True)


def _actor(tenant_id: int) -> Actor:
    return Actor(tenant_id=tenant_id, label=f"cli:{getpass.getuser()}")


def _user(session: Session, tenant: Tenant, email: str) -> User:
    user = signin.find_user(session, tenant.id, email)
    if user is None:
        raise NotFoundError(
            f"no user {email} in {tenant.slug}",
            where="EMAIL",
            fix="check the email (`arpolicy keys list` shows the users with keys), or "
            "create the user through POST /v1/users or Settings > Users",
        )
    if not user.active:
        raise ValidationError(
            f"{email} is deactivated", where="EMAIL", fix="reactivate the user first"
        )
    return user


@app.command("set-password")
@common.handle_errors
def set_password(
    email: str = typer.Argument(..., help="The user's email."),
    tenant: str | None = common.TenantOption,
    stdin: bool = typer.Option(
        False, "--stdin", help="Read the password from the first line of standard input."
    ),
) -> None:
    """Set a user's web app password (asked twice, not echoed) and end their sessions."""
    if stdin:
        password = sys.stdin.readline().rstrip("\n")
    else:
        password = getpass.getpass("New password: ")
        if getpass.getpass("The same again: ") != password:
            raise ValidationError(
                "the two passwords differ", where="password", fix="type the same password twice"
            )
    now = common.clock().now()
    with common.tenant_session(tenant, write=True) as (session, t):
        user = _user(session, t, email)
        check_new_password(password, email=user.email)
        user.password_hash = hash_password(password)
        user.failed_sign_ins = 0
        user.locked_until = None
        signin.end_sessions(session, user, now)
        record(session, _actor(t.id), "user.password_set", "user", user.id, reason="cli", at=now)
        slug = t.slug
    terminal.say(f"password set for {email}: sign in at /sign-in, organisation {slug}")


@app.command("invite")
@common.handle_errors
def invite(
    email: str = typer.Argument(..., help="The user's email."),
    tenant: str | None = common.TenantOption,
) -> None:
    """Email the user a one-time link (valid 7 days) to choose their password, through
    ARPOLICY_MAIL_URL; the link is printed too, for the operator to pass on."""
    settings = common.settings()
    now = common.clock().now()
    with common.tenant_session(tenant, write=True) as (session, t):
        user, token = invitations.invite(
            session, t.id, _user(session, t, email).id, _actor(t.id), now
        )
        who = {"name": user.name, "email": user.email, "tenant_name": t.name}
        slug = t.slug
    send_link(
        settings, kind=UserTokenKind.INVITATION, token=token, tenant_slug=slug, now=now, **who
    )
    terminal.say(
        f"invitation sent to {email}: {link_url(settings, UserTokenKind.INVITATION, token)}"
    )
