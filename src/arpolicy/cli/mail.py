"""``arpolicy mail``: replies and bounces from an IMAP mailbox or a file, and the emails of a
customer (docs/inbound-email.md)."""

from __future__ import annotations

import getpass
import imaplib
from datetime import date, datetime
from pathlib import Path
from typing import Any

import typer
from sqlalchemy import select

from arpolicy.audit import Actor
from arpolicy.cli import common, terminal
from arpolicy.engagement.inbound import InboundResult, receive
from arpolicy.exceptions import ArpolicyError, NotFoundError, ValidationError
from arpolicy.kit.logging import configure_logging
from arpolicy.mail.imap import URL_FIX, ImapMailbox, parse_imap_url
from arpolicy.models import Customer, Email
from arpolicy.models.engagement import EmailStatus

app = typer.Typer(
    help="Inbound email (replies, bounces) and the emails sent to customers.",
    no_args_is_help=True,
)


def _logging() -> None:
    """Log events to stderr (stdout stays for the output)."""
    settings = common.settings()
    configure_logging(settings.log_level, json_lines=settings.log_json)


def _actor(tenant_id: int, what: str) -> Actor:
    return Actor(tenant_id=tenant_id, label=f"cli:{getpass.getuser()} ({what})")


def _print_result(result: InboundResult, label: str) -> None:
    match = f"customer {result.customer_id}" if result.customer_id else "no customer"
    via = f" by {result.matched_by}" if result.matched_by else ""
    dup = " (duplicate: already received)" if result.duplicate else ""
    effects = f": {', '.join(result.effects)}" if result.effects else ""
    terminal.say(f"{label}: {result.kind}, {match}{via}{dup}{effects}")


@app.command("receive")
@common.handle_errors
def receive_cmd(
    path: Path = typer.Argument(..., help="A .eml file: one raw MIME message."),
    tenant: str | None = common.TenantOption,
    as_json: bool = common.JsonOption,
) -> None:
    """Receive one message from a file, as if it had arrived by POST /v1/inbound-email."""
    if not path.is_file():
        raise ValidationError(f"{path} does not exist", where="FILE", fix="check the path")
    raw = path.read_bytes()
    _logging()
    with common.tenant_session(tenant, write=True) as (session, t):
        result = receive(session, t, raw, at=common.clock().now(), actor=_actor(t.id, "file"))
    if as_json:
        terminal.print_json(result.to_json())
    else:
        _print_result(result, path.name)


# --- IMAP ------------------------------------------------------------------------------------


def _since(value: str | None) -> date | None:
    if value is None:
        return None
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise ValidationError(
            f"{value!r} is not a date", where="--since", fix="write dates as YYYY-MM-DD"
        ) from None


@app.command("fetch")
@common.handle_errors
def fetch_cmd(
    imap: str | None = typer.Option(
        None,
        "--imap",
        envvar="ARPOLICY_IMAP_URL",
        show_envvar=True,
        help="imaps://user:password@host[:port]/MAILBOX (default: $ARPOLICY_IMAP_URL).",
    ),
    since: str | None = typer.Option(None, "--since", help="Only messages since this date."),
    move_to: str | None = typer.Option(
        None, "--move-to", help="Move each message received to this folder."
    ),
    mark_seen: bool = typer.Option(
        True, "--mark-seen/--no-mark-seen", help="Flag each message received \\Seen (default)."
    ),
    tenant: str | None = common.TenantOption,
    as_json: bool = common.JsonOption,
) -> None:
    """Receive the unseen messages of an IMAP mailbox: each is matched and recorded in its
    own transaction, then flagged seen (or moved). A message that cannot be read is left
    unseen and reported; the command then exits with 1."""
    if not imap:
        raise ValidationError(
            "no IMAP mailbox given",
            where="--imap",
            fix=f"pass --imap or set ARPOLICY_IMAP_URL; {URL_FIX}",
        )
    url = parse_imap_url(imap, where="--imap")
    _logging()
    with common.tenant_session(tenant) as (_, t):
        tenant_slug = t.slug
    results: list[dict[str, Any]] = []
    with ImapMailbox(url, where="--imap") as box:
        for uid in box.unseen(_since(since)):
            results.append(_one(box, uid, tenant_slug, move_to, mark_seen))
    failed = [r for r in results if "error" in r]
    if as_json:
        terminal.print_json({"mailbox": url.shown(), "messages": results, "failed": len(failed)})
    else:
        terminal.say(f"{url.shown()}: {len(results)} message(s), {len(failed)} failed")
        for r in results:
            if "error" in r:
                terminal.note(f"uid {r['uid']}: error: {r['error']}")
            else:
                _print_result(
                    InboundResult(**{k: v for k, v in r.items() if k != "uid"}), f"uid {r['uid']}"
                )
    if failed:
        raise typer.Exit(1)


def _one(box: ImapMailbox, uid: str, slug: str, move_to: str | None, seen: bool) -> Any:
    label = uid
    raw = box.fetch(uid)
    if raw is None:
        return {"uid": label, "error": "the server returned no message"}
    try:
        with common.tenant_session(slug, write=True) as (session, t):
            result = receive(
                session, t, raw, at=common.clock().now(), actor=_actor(t.id, "mail fetch")
            )
    except ArpolicyError as exc:
        return {"uid": label, "error": str(exc)}
    try:
        if move_to is not None or seen:
            box.done(uid, move_to, where="--move-to")
    except (OSError, imaplib.IMAP4.error) as exc:
        return {"uid": label, **result.to_json(), "error": f"received, but: {exc}"}
    return {"uid": label, **result.to_json()}


# --- listing ---------------------------------------------------------------------------------


def _email_row(e: Email) -> dict[str, Any]:
    return {
        "id": e.id,
        "customer_id": e.customer_id,
        "mode": e.mode.value,
        "status": e.status.value,
        "in_doubt": e.in_doubt,
        "cycle": e.cycle,
        "reminder": e.reminder,
        "decided_at": e.decided_at,
        "sent_at": e.sent_at,
        "to": e.to,
        "subject": e.subject,
        "replied_at": e.replied_at,
        "bounced_at": e.bounced_at,
    }


def _status(value: str | None) -> EmailStatus | None:
    if value is None:
        return None
    try:
        return EmailStatus(value)
    except ValueError:
        raise ValidationError(
            f"{value!r} is not an email status",
            where="--status",
            fix=", ".join(s.value for s in EmailStatus),
        ) from None


def _iso(value: datetime | None) -> str:
    return value.strftime("%Y-%m-%d %H:%M") if value else "-"


@app.command("list")
@common.handle_errors
def list_cmd(
    customer: str | None = typer.Option(None, "--customer", "-c", help="A customer's external id."),
    status: str | None = typer.Option(None, "--status", help="queued, sent, bounced..."),
    limit: int = typer.Option(100, help="Newest first, at most this many (0: all)."),
    tenant: str | None = common.TenantOption,
    as_json: bool = common.JsonOption,
) -> None:
    """Emails, newest first, with their status; for one customer also its last email and
    last reply dates."""
    wanted = _status(status)
    with common.tenant_session(tenant) as (session, t):
        stmt = select(Email).where(Email.tenant_id == t.id)
        shown: dict[str, Any] = {}
        if customer is not None:
            c = session.scalar(
                select(Customer).where(Customer.tenant_id == t.id, Customer.external_id == customer)
            )
            if c is None:
                raise NotFoundError(
                    f"no customer {customer!r}",
                    where="--customer",
                    fix="give the customer's external id",
                )
            stmt = stmt.where(Email.customer_id == c.id)
            shown["customer"] = {
                "id": c.id,
                "external_id": c.external_id,
                "name": c.name,
                "last_email_at": c.last_email_at,
                "last_reply_at": c.last_reply_at,
            }
        if wanted is not None:
            stmt = stmt.where(Email.status == wanted)
        stmt = stmt.order_by(Email.decided_at.desc(), Email.id.desc())
        emails = [_email_row(e) for e in session.scalars(stmt.limit(limit or None))]
    shown["emails"] = emails
    if as_json:
        terminal.print_json(shown)
        return
    if "customer" in shown:
        c = shown["customer"]
        terminal.say(
            f"{c['external_id']} {c['name']}: last email {_iso(c['last_email_at'])}, "
            f"last reply {_iso(c['last_reply_at'])}"
        )
    columns = ("id", "decided", "mode", "status", "in doubt", "to", "subject", "replied", "bounced")
    terminal.table(
        None,
        [(h, "left") for h in columns],
        [
            [
                e["id"],
                _iso(e["decided_at"]),
                e["mode"],
                e["status"],
                "yes" if e["in_doubt"] else "",
                ", ".join(e["to"]),
                e["subject"],
                _iso(e["replied_at"]),
                _iso(e["bounced_at"]),
            ]
            for e in emails
        ],
    )


@app.command("show")
@common.handle_errors
def show_cmd(
    email_id: int = typer.Argument(..., help="The email's id (see `arpolicy mail list`)."),
    tenant: str | None = common.TenantOption,
    as_json: bool = common.JsonOption,
) -> None:
    """One email: headers, status, the in-doubt flag, why it was decided, the bodies."""
    with common.tenant_session(tenant) as (session, t):
        e = session.scalar(select(Email).where(Email.tenant_id == t.id, Email.id == email_id))
        if e is None:
            raise NotFoundError(
                f"no email {email_id}", where="ID", fix="list them with `arpolicy mail list`"
            )
        shown = {
            **_email_row(e),
            "key": e.key,
            "message_id": e.message_id,
            "from_address": e.from_address,
            "reply_to": e.reply_to,
            "cc": e.cc,
            "documents": e.documents,
            "attempts": e.attempts,
            "last_error": e.last_error,
            "reason": e.reason,
            "text_body": e.text_body,
            "html_body": e.html_body,
        }
    if as_json:
        terminal.print_json(shown)
        return
    for name in (
        "id",
        "message_id",
        "key",
        "mode",
        "status",
        "in_doubt",
        "cycle",
        "reminder",
        "decided_at",
        "sent_at",
        "from_address",
        "reply_to",
        "to",
        "cc",
        "subject",
        "documents",
        "attempts",
        "last_error",
        "replied_at",
        "bounced_at",
        "reason",
    ):
        value = shown[name]
        value = ", ".join(map(str, value)) if isinstance(value, list) else value
        terminal.say(f"{name}: {'-' if value is None else value}")
    terminal.say("")
    terminal.say(shown["text_body"])
    if shown["html_body"]:
        terminal.say("\n--- html ---")
        terminal.say(shown["html_body"])
