"""A test email through the configured transport (Settings > Mail, "Send a test email"):
it shows whether ``ARPOLICY_MAIL_URL`` works before a reminder or an invitation depends on
it. Nothing is stored; the outcome is the caller's to report."""

from __future__ import annotations

import uuid
from datetime import datetime

from arpolicy.exceptions import ArpolicyError
from arpolicy.mail.compose import Outgoing, compose
from arpolicy.mail.transports import MailError, open_transport, redacted


def send_test_email(
    url: str, *, from_address: str, to: str, tenant_name: str, now: datetime
) -> str | None:
    """Send a short test email to ``to``: None when the transport took it, else why not."""
    message_id = f"<{uuid.uuid4().hex}@arpolicy>"
    outgoing = Outgoing(
        from_address=from_address,
        to=[to],
        subject=f"arpolicy test email ({tenant_name})",
        text_body=(
            f"This is a test email from arpolicy for {tenant_name}, sent through "
            f"{redacted(url)}.\n\nIf you can read it, the mail settings work.\n"
        ),
        message_id=message_id,
        key=f"test:{message_id}",
        where="test email",
    )
    try:
        with open_transport(url) as transport:
            transport.send(compose(outgoing, date=now))
    except ArpolicyError as exc:
        return exc.message
    except (MailError, OSError) as exc:
        return str(exc) or type(exc).__name__
    return None
