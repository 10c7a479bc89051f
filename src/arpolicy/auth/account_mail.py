"""The emails of sign-in: an invitation to set a first password, a password-reset link.

They carry a one-time secret, so unlike notifications they are never stored: they are
composed and handed to the mail transport (``ARPOLICY_MAIL_URL``) right after the
transaction that created the link commits. A link whose email could not be sent is
useless and harmless (it expires); the user asks again."""

from __future__ import annotations

import uuid
from datetime import datetime

from arpolicy.config import Settings
from arpolicy.mail.compose import Outgoing, compose
from arpolicy.mail.transports import open_transport
from arpolicy.models import UserTokenKind

TEXTS = {
    UserTokenKind.INVITATION: (
        "You are invited to arpolicy ({tenant})",
        "Hello {name},\n\n{tenant} uses arpolicy for its accounts receivable, and you "
        "have an account: organisation '{slug}', email {email}.\n\nChoose your password "
        "here (the link works once, for 7 days):\n\n{link}\n\nIf you did not expect this, "
        "ignore this email.\n",
    ),
    UserTokenKind.PASSWORD_RESET: (
        "Reset your arpolicy password ({tenant})",
        "Hello {name},\n\nSomeone (we hope you) asked to reset your arpolicy password for "
        "organisation '{slug}'.\n\nChoose a new password here (the link works once, for "
        "an hour):\n\n{link}\n\nIf it was not you, ignore this email: your password stays "
        "as it is.\n",
    ),
}
PATHS = {UserTokenKind.INVITATION: "/invitation/", UserTokenKind.PASSWORD_RESET: "/reset/"}


def link_url(settings: Settings, kind: UserTokenKind, token: str) -> str:
    return settings.public_url.rstrip("/") + PATHS[kind] + token


def send_link(
    settings: Settings,
    *,
    kind: UserTokenKind,
    token: str,
    name: str,
    email: str,
    tenant_name: str,
    tenant_slug: str,
    now: datetime,
) -> None:
    """Email the link. Raises ``mail.transports.MailError`` when the transport refuses."""
    subject, body = TEXTS[kind]
    values = {
        "name": name,
        "email": email,
        "tenant": tenant_name,
        "slug": tenant_slug,
        "link": link_url(settings, kind, token),
    }
    message_id = f"<{uuid.uuid4().hex}@arpolicy>"
    outgoing = Outgoing(
        from_address=settings.notify_from,
        to=[email],
        subject=subject.format(**values),
        text_body=body.format(**values),
        message_id=message_id,
        key=f"account:{kind.value}:{message_id}",
        where="account email",
    )
    with open_transport(settings.mail_url) as transport:
        transport.send(compose(outgoing, date=now))
