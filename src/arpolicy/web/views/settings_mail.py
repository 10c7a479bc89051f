"""Settings > Mail (settings:manage): where outgoing email goes (``ARPOLICY_MAIL_URL``,
its password hidden) and from whom, and a test email to oneself that reports whether the
transport took it (audited as ``mail.test_sent`` with the outcome)."""

from __future__ import annotations

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse, Response

from arpolicy.mail.check import send_test_email
from arpolicy.mail.transports import redacted
from arpolicy.web.context import Caller, signed_in
from arpolicy.web.views.settings import settings_page

router = APIRouter(include_in_schema=False)
PERMISSION = "settings:manage"


def _show(request: Request, me: Caller, *, status: int = 200, **context: object) -> HTMLResponse:
    settings = me.settings
    return settings_page(
        request,
        me,
        "mail.html",
        status=status,
        mail_url=redacted(settings.mail_url),
        notify_from=settings.notify_from,
        public_url=settings.public_url,
        **context,
    )


@router.get("/settings/mail", response_class=HTMLResponse)
def mail(request: Request, me: Caller = Depends(signed_in(PERMISSION))) -> Response:
    return _show(request, me)


@router.post("/settings/mail/test", response_class=HTMLResponse)
def send_test(request: Request, me: Caller = Depends(signed_in(PERMISSION))) -> Response:
    problem = send_test_email(
        me.settings.mail_url,
        from_address=me.settings.notify_from,
        to=me.user_email,
        tenant_name=me.tenant.name,
        now=me.now(),
    )
    with me.write() as session:
        outcome = {"to": me.user_email, "sent": problem is None, "error": problem}
        me.audit(session, "mail.test_sent", "mail", None, after=outcome)
    if problem is not None:
        error = f"The test email to {me.user_email} was not sent: {problem}"
        return _show(request, me, status=502, error=error)
    return _show(
        request, me, flash=f"A test email was handed to the mail transport for {me.user_email}."
    )
