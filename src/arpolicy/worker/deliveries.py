"""Deliver claimed webhook messages, each in three steps (as emails are, see
:mod:`arpolicy.worker.emails`):

a. *prepare*, in a short transaction: check the claim is still ours (the fencing token)
   and the endpoint active; when an earlier attempt was handed over but its outcome never
   recorded, flag the message ``in_doubt``; record this attempt (no outcome yet) and
   count it; commit.
b. *send*: POST it, outside any transaction.
c. *record*, in a transaction: the attempt's outcome and the message's next state.

(a) commits before (b), so a worker killed anywhere leaves a trace: a kill between (b) and
(c) leaves an attempt without an outcome, and the next worker to claim the message sends
it again with the same ``webhook-id`` and flags it in doubt (the receiver deduplicates).
Recording is fenced by the claim: the message's state changes only if it is still
pending with the ``next_attempt_at`` the claim wrote. If the lease ran out meanwhile (or
someone re-queued the message) the outcome is still recorded, and the newer claim
decides the state. Every transaction is scoped to the claim's tenant.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass

import httpx
import structlog
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from arpolicy.kit.clock import Clock
from arpolicy.kit.db import transaction
from arpolicy.models import DeliveryAttempt, OutboxMessage, OutboxStatus, WebhookEndpoint
from arpolicy.tenancy.rls import scope_tenant
from arpolicy.webhooks.delivery import Outcome, Request, send
from arpolicy.webhooks.schedule import after_attempt
from arpolicy.webhooks.service import DEACTIVATED
from arpolicy.worker.claims import Claim

log = structlog.get_logger("arpolicy.worker")

UNFINISHED = (
    "outcome unknown: the worker stopped after handing this attempt over; the receiver may "
    "have the event (deduplicate by webhook-id)"
)
"""Written on an attempt found without an outcome by the next claim of its message."""


@dataclass(frozen=True)
class Job:
    claim: Claim
    endpoint_id: int
    event_type: str
    request: Request
    attempt_id: int
    in_doubt: bool


def deliver(
    engine: Engine,
    clock: Clock,
    claims: list[Claim],
    client: httpx.Client,
    rand: Callable[[], float],
) -> dict[str, int]:
    """Deliver ``claims``; the counts of delivered / retrying / failed / skipped (and
    in_doubt: sent again after an attempt whose outcome was never recorded)."""
    tally: dict[str, int] = defaultdict(int)
    for claim in sorted(claims, key=lambda c: (c.tenant_id, c.message_id)):
        if clock.now() >= claim.until:
            log.warning(
                "webhook.lease_expired", tenant_id=claim.tenant_id, message_id=claim.message_id
            )
            tally["skipped"] += 1
            continue
        job = prepare(engine, clock, claim)
        if isinstance(job, str):
            tally[job] += 1
            continue
        tally["in_doubt"] += job.in_doubt
        outcome = send(client, job.request, clock.now())
        tally[record(engine, clock, job, outcome, rand())] += 1
    return {k: v for k, v in tally.items() if v}


def prepare(engine: Engine, clock: Clock, claim: Claim) -> Job | str:
    """Step (a): the job to send, with its attempt recorded and committed, or what became
    of the claim instead (``skipped``: no longer ours; ``failed``: endpoint deactivated)."""
    with transaction(engine, write=True) as session:
        scope_tenant(session, claim.tenant_id)
        message = _locked(session, claim)
        if message is None or not _still_ours(message, claim):
            return "skipped"
        endpoint = session.scalar(
            select(WebhookEndpoint).where(
                WebhookEndpoint.tenant_id == claim.tenant_id,
                WebhookEndpoint.id == message.endpoint_id,
            )
        )
        if endpoint is None or not endpoint.active:
            _stop(message, clock)
            return "failed"
        in_doubt = message.attempts > 0 and _unfinished(session, message)
        now = clock.now()
        attempt = DeliveryAttempt(
            tenant_id=claim.tenant_id,
            message_id=message.id,
            at=now,
            status_code=None,
            error=None,
            duration_ms=0,
        )
        session.add(attempt)
        message.attempts += 1
        session.flush()
        request = Request(endpoint.url, endpoint.secret, message.event_id, message.payload)
        return Job(claim, endpoint.id, message.event_type, request, attempt.id, in_doubt)


def _unfinished(session: Session, message: OutboxMessage) -> bool:
    """Whether an earlier attempt has no outcome (handed over, never recorded): if so,
    say so on the attempt and flag the message in doubt."""
    open_attempts = session.scalars(
        select(DeliveryAttempt).where(
            DeliveryAttempt.tenant_id == message.tenant_id,
            DeliveryAttempt.message_id == message.id,
            DeliveryAttempt.status_code.is_(None),
            DeliveryAttempt.error.is_(None),
        )
    ).all()
    for attempt in open_attempts:
        attempt.error = UNFINISHED
    if open_attempts:
        message.in_doubt = True
        log.warning(
            "webhook.in_doubt",
            tenant_id=message.tenant_id,
            message_id=message.id,
            event_id=message.event_id,
            attempts=message.attempts,
        )
    return bool(open_attempts)


def _still_ours(message: OutboxMessage, claim: Claim) -> bool:
    return message.status == OutboxStatus.PENDING and message.next_attempt_at == claim.until


def _stop(message: OutboxMessage, clock: Clock) -> None:
    message.status = OutboxStatus.FAILED
    message.last_error = DEACTIVATED
    message.next_attempt_at = clock.now()
    log.info(
        "webhook.stopped",
        tenant_id=message.tenant_id,
        message_id=message.id,
        endpoint_id=message.endpoint_id,
        reason=DEACTIVATED,
    )


def record(engine: Engine, clock: Clock, job: Job, outcome: Outcome, u: float) -> str:
    """Step (c): the attempt's outcome, and the message's next state while the claim is
    still ours. Returns delivered / retrying / failed / skipped."""
    claim = job.claim
    with transaction(engine, write=True) as session:
        scope_tenant(session, claim.tenant_id)
        message = _locked(session, claim)
        context = {
            "tenant_id": claim.tenant_id,
            "message_id": claim.message_id,
            "endpoint_id": job.endpoint_id,
            "event_type": job.event_type,
            "status_code": outcome.status_code,
            "duration_ms": outcome.duration_ms,
        }
        if message is None:  # the endpoint was deleted meanwhile, and its messages with it
            log.info("webhook.gone", **context)
            return "skipped"
        attempt = session.scalar(
            select(DeliveryAttempt).where(
                DeliveryAttempt.tenant_id == claim.tenant_id,
                DeliveryAttempt.id == job.attempt_id,
            )
        )
        if attempt is not None:
            attempt.status_code = outcome.status_code
            attempt.error = outcome.error
            attempt.duration_ms = outcome.duration_ms
        context["attempt"] = message.attempts
        if not _still_ours(message, claim):
            log.warning("webhook.lease_lost", ok=outcome.ok, **context)
            return "skipped"
        return _next(message, clock, outcome, u, context)


def _next(
    message: OutboxMessage, clock: Clock, outcome: Outcome, u: float, context: dict[str, object]
) -> str:
    step = after_attempt(message.attempts, outcome.ok, clock.now(), u)
    status = OutboxStatus.FAILED if outcome.permanent else step.status
    message.status = status
    message.next_attempt_at = step.next_attempt_at if status == step.status else clock.now()
    if outcome.ok:
        message.delivered_at = step.next_attempt_at
        message.last_error = None
        log.info("webhook.delivered", **context)
        return "delivered"
    message.last_error = outcome.error
    if status == OutboxStatus.FAILED:
        log.error("webhook.failed", error=outcome.error, permanent=outcome.permanent, **context)
        return "failed"
    log.warning(
        "webhook.retrying",
        error=outcome.error,
        next_attempt_at=step.next_attempt_at.isoformat(),
        **context,
    )
    return "retrying"


def _locked(session: Session, claim: Claim) -> OutboxMessage | None:
    return session.scalar(
        select(OutboxMessage)
        .where(OutboxMessage.tenant_id == claim.tenant_id, OutboxMessage.id == claim.message_id)
        .with_for_update()
    )
