"""Deliver claimed webhook messages: load them (per tenant), send each outside any
transaction, then record the attempt and the message's next state in a new transaction.

Every transaction here is scoped to one tenant with :func:`scope_tenant`. Recording is
fenced by the claim: the message's state changes only if it is still pending with the
``next_attempt_at`` the claim wrote. If the lease ran out meanwhile (or someone re-queued
the message) the attempt is still recorded, and the newer claim decides the state.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass
from itertools import groupby

import httpx
import structlog
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from arpolicy.api.context import scope_tenant
from arpolicy.kit.clock import Clock
from arpolicy.kit.db import transaction
from arpolicy.models import DeliveryAttempt, OutboxMessage, OutboxStatus, WebhookEndpoint
from arpolicy.webhooks.delivery import Outcome, Request, send
from arpolicy.webhooks.schedule import after_attempt
from arpolicy.webhooks.service import DEACTIVATED
from arpolicy.worker.claims import Claim

log = structlog.get_logger("arpolicy.worker")


@dataclass(frozen=True)
class Job:
    claim: Claim
    endpoint_id: int
    event_type: str
    request: Request


def deliver(
    engine: Engine,
    clock: Clock,
    claims: list[Claim],
    client: httpx.Client,
    rand: Callable[[], float],
) -> dict[str, int]:
    """Deliver ``claims``; the counts of delivered / retrying / failed / skipped."""
    tally: dict[str, int] = defaultdict(int)
    ordered = sorted(claims, key=lambda c: (c.tenant_id, c.message_id))
    for tenant_id, group in groupby(ordered, key=lambda c: c.tenant_id):
        jobs, stopped = _prepare(engine, clock, tenant_id, list(group))
        if stopped:
            tally["failed"] += stopped
        for job in jobs:
            if clock.now() >= job.claim.until:
                log.warning("webhook.lease_expired", tenant_id=tenant_id,
                            message_id=job.claim.message_id)  # fmt: skip
                tally["skipped"] += 1
                continue
            outcome = send(client, job.request, clock.now())
            tally[_record(engine, clock, job, outcome, rand())] += 1
    return dict(tally)


def _prepare(
    engine: Engine, clock: Clock, tenant_id: int, claims: list[Claim]
) -> tuple[list[Job], int]:
    """What to send for each claim still ours; messages of an endpoint that was
    deactivated meanwhile are failed instead. (jobs, how many were failed)"""
    by_id = {c.message_id: c for c in claims}
    jobs: list[Job] = []
    stopped = 0
    with transaction(engine, write=True) as session:
        scope_tenant(session, tenant_id)
        rows = session.execute(
            select(OutboxMessage, WebhookEndpoint)
            .outerjoin(
                WebhookEndpoint,
                (WebhookEndpoint.tenant_id == OutboxMessage.tenant_id)
                & (WebhookEndpoint.id == OutboxMessage.endpoint_id),
            )
            .where(OutboxMessage.tenant_id == tenant_id, OutboxMessage.id.in_(by_id))
            .order_by(OutboxMessage.id)
        ).all()
        for message, endpoint in rows:
            claim = by_id[message.id]
            if not _still_ours(message, claim):
                continue
            if endpoint is None or not endpoint.active:
                _stop(message, clock)
                stopped += 1
                continue
            request = Request(endpoint.url, endpoint.secret, message.event_id, message.payload)
            jobs.append(Job(claim, endpoint.id, message.event_type, request))
    return jobs, stopped


def _still_ours(message: OutboxMessage, claim: Claim) -> bool:
    return message.status == OutboxStatus.PENDING and message.next_attempt_at == claim.until


def _stop(message: OutboxMessage, clock: Clock) -> None:
    message.status = OutboxStatus.FAILED
    message.last_error = DEACTIVATED
    message.next_attempt_at = clock.now()
    log.info("webhook.stopped", tenant_id=message.tenant_id, message_id=message.id,
             endpoint_id=message.endpoint_id, reason=DEACTIVATED)  # fmt: skip


def _record(engine: Engine, clock: Clock, job: Job, outcome: Outcome, u: float) -> str:
    claim = job.claim
    with transaction(engine, write=True) as session:
        scope_tenant(session, claim.tenant_id)
        message = _locked(session, claim)
        context = {"tenant_id": claim.tenant_id, "message_id": claim.message_id,
                   "endpoint_id": job.endpoint_id, "event_type": job.event_type,
                   "status_code": outcome.status_code, "duration_ms": outcome.duration_ms}  # fmt: skip
        if message is None:  # the endpoint was deleted meanwhile, and its messages with it
            log.info("webhook.gone", **context)
            return "skipped"
        session.add(
            DeliveryAttempt(
                tenant_id=claim.tenant_id,
                message_id=message.id,
                at=outcome.at,
                status_code=outcome.status_code,
                error=outcome.error,
                duration_ms=outcome.duration_ms,
            )
        )
        message.attempts += 1
        context["attempt"] = message.attempts
        if not _still_ours(message, claim):
            log.warning("webhook.lease_lost", ok=outcome.ok, **context)
            return "skipped"
        step = after_attempt(message.attempts, outcome.ok, clock.now(), u)
        message.status = step.status
        message.next_attempt_at = step.next_attempt_at
        if outcome.ok:
            message.delivered_at = step.next_attempt_at
            message.last_error = None
            log.info("webhook.delivered", **context)
            return "delivered"
        message.last_error = outcome.error
        if step.status == OutboxStatus.FAILED:
            log.error("webhook.failed", error=outcome.error, **context)
            return "failed"
        log.warning("webhook.retrying", error=outcome.error,
                    next_attempt_at=step.next_attempt_at.isoformat(), **context)  # fmt: skip
        return "retrying"


def _locked(session: Session, claim: Claim) -> OutboxMessage | None:
    return session.scalar(
        select(OutboxMessage)
        .where(OutboxMessage.tenant_id == claim.tenant_id, OutboxMessage.id == claim.message_id)
        .with_for_update()
    )
