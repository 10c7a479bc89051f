"""Inbound email: replies and bounces posted by an inbound-parse service (docs/inbound-email.md).

``POST /v1/inbound-email`` needs ``mail:receive``: give the service a key of a user whose
key is scoped to ``mail:receive`` alone.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, Request
from pydantic import Field
from sqlalchemy.orm import Session
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import UploadFile
from starlette.exceptions import HTTPException
from starlette.formparsers import MultiPartException

from arpolicy.api.context import Api, require
from arpolicy.api.ledger import tenant_of
from arpolicy.api.schemas import Output
from arpolicy.engagement.inbound import receive
from arpolicy.engagement.inbound_parse import MAX_BYTES
from arpolicy.exceptions import ValidationError

router = APIRouter(tags=["inbound email"])

RAW_TYPES = ("message/rfc822", "text/plain", "application/octet-stream")
FORM_TYPES = ("multipart/form-data", "application/x-www-form-urlencoded")
FORM_FIELDS = ("email", "body-mime")
"""SendGrid Inbound Parse with "POST the raw, full MIME message"; Mailgun's ``body-mime``
(a route forwarding to a URL ending in ``mime``)."""
RAW_SCHEMA = {"type": "string", "format": "binary", "description": "The raw MIME message."}
INBOUND_BODY = {
    "required": True,
    "content": {
        **{kind: {"schema": RAW_SCHEMA} for kind in RAW_TYPES},
        "multipart/form-data": {
            "schema": {
                "type": "object",
                "properties": {
                    "email": {"type": "string", "description": "SendGrid raw mode: the MIME."},
                    "body-mime": {"type": "string", "description": "Mailgun: the MIME."},
                },
                "anyOf": [{"required": ["email"]}, {"required": ["body-mime"]}],
            }
        },
    },
}


class InboundRead(Output):
    inbound_email_id: int = Field(description="The stored message (GET /v1/inbound-emails).")
    message_id: str = Field(description="Its Message-ID (derived from its bytes if it had none).")
    kind: str = Field(description="reply, bounce, auto_reply or unmatched.")
    customer_id: int | None
    email_id: int | None = Field(description="The email it answers or returns.")
    matched_by: str | None = Field(
        description="in_reply_to, references, original_message_id, from_address or "
        "failed_recipient."
    )
    duplicate: bool = Field(description="Received before: nothing changed this time.")
    effects: list[str] = Field(
        description="What changed: email.replied, customer.replied, email.bounced, "
        "contact.bounced:<contact id>."
    )
    detail: str | None


async def _raw(request: Request) -> bytes:
    kind = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if kind in FORM_TYPES:
        return await _from_form(request)
    if kind and kind not in RAW_TYPES:
        raise ValidationError(
            f"content type {kind!r} is not accepted",
            where="header.content-type",
            fix="send the raw message as message/rfc822 (or text/plain, "
            "application/octet-stream), or multipart/form-data with the field 'email' or "
            "'body-mime'",
        )
    body = await request.body()
    if len(body) > MAX_BYTES:
        raise ValidationError(
            f"the message is over {MAX_BYTES:,} bytes",
            where="body",
            fix="strip large attachments at the inbound-parse service",
        )
    return body


async def _from_form(request: Request) -> bytes:
    try:
        form = await request.form(max_files=20, max_fields=200, max_part_size=MAX_BYTES + 1)
    except (HTTPException, MultiPartException, AssertionError):
        form = None
    for name in FORM_FIELDS:
        value = form.get(name) if form is not None else None
        if isinstance(value, UploadFile):
            data = await value.read(MAX_BYTES + 1)
            await value.close()
            return data
        if isinstance(value, str):
            return value.encode("utf-8", "surrogateescape")
    raise ValidationError(
        "the form has no raw message",
        where="body.email",
        fix="send the raw MIME in the field 'email' (SendGrid: tick 'POST the raw, full MIME "
        "message') or 'body-mime' (Mailgun: forward to a URL ending in 'mime')",
    )


@router.post(
    "/inbound-email", response_model=InboundRead, openapi_extra={"requestBody": INBOUND_BODY}
)
async def inbound_email(request: Request, api: Api = Depends(require("mail:receive"))) -> Any:
    """Receive one inbound message: a customer's reply, a bounce or an automatic answer.

    The body is the raw MIME message as ``message/rfc822`` (``text/plain`` and
    ``application/octet-stream`` are accepted too), or ``multipart/form-data`` with the raw
    message in the field ``email`` (SendGrid Inbound Parse, raw mode) or ``body-mime``
    (Mailgun). At most 10 MB.

    It is matched to an email arpolicy sent by In-Reply-To, then References (newest
    first), then for a bounce the returned message's Message-ID; else to the customer whose
    contact has the sender's address (for a bounce: the failed recipient's). A reply sets
    the email's ``replied_at`` and the customer's ``last_reply_at`` (reminders pause after
    it); a bounce marks the email ``bounced`` and the failed contacts ``bounced``; an
    automatic answer (out of office) is recorded only. A message posted again (same
    Message-ID) is a ``duplicate`` and changes nothing, so the service may retry freely.
    The answer is 200 with what happened, also when nothing matched (``unmatched``)."""
    raw = await _raw(request)
    return await run_in_threadpool(_receive, api, raw)


def _receive(api: Api, raw: bytes) -> Any:
    def work(session: Session) -> Any:
        result = receive(session, tenant_of(session, api), raw, at=api.now(), actor=api.actor)
        return InboundRead.model_validate(result.to_json())

    return api.created(work, status=200)
