"""Approvals: where the one approval engine of the platform will live (issue 15). Nothing
here runs yet; this is the interface the policies will call, so credit holds, settlement
overrides and sales exceptions are written against it and none builds its own.

A policy that needs a person's yes asks, in its own transaction::

    request = approvals.request(
        session, tenant,
        ApprovalSubject(kind="order", id=order.id, label=f"Order {order.number}"),
        rule="credit.over_limit",          # which approval rule of the tenant applies
        data={"exposure": "12500.00 EUR", "limit": "10000.00 EUR"},
        at=now, actor=actor,
    )

and gets an :class:`ApprovalRequest` back (``pending``), or the one already open for the
same subject and rule (asking twice is harmless). The engine, not the policy, decides who
approves: the tenant's approval rules select requests (by rule, over the subject's
fields) and give their steps (a role, a user, the requester's manager chain, the
customer's owner), each with a deadline in business hours of the tenant's calendar,
reminders and escalation when it passes, and delegation when an approver is away.
Approvers are told through :mod:`arpolicy.notifications` (an email with signed one-time
links to approve or reject, and the ``approval.requested`` webhook); every step is
audited.

The policy learns the outcome without importing the engine's internals: it asks
:meth:`Approvals.status` when it next decides (a held order is released once its request
is ``approved``). Whether the engine also calls back into the policy when a request is
decided (a hook, as the ledger's) is for issue 15 to settle.
"""

from __future__ import annotations

import enum
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol

from sqlalchemy.orm import Session

from arpolicy.audit import Actor
from arpolicy.models import Tenant


class ApprovalStatus(enum.StrEnum):
    PENDING = "pending"
    APPROVED = "approved"
    REJECTED = "rejected"
    EXPIRED = "expired"
    """No step decided before the last deadline and nobody to escalate to."""
    CANCELLED = "cancelled"
    """Withdrawn by the requester, or no longer needed (the order was paid)."""


@dataclass(frozen=True)
class ApprovalSubject:
    """What is to be approved: a row of the tenant, named for the approvers."""

    kind: str
    """``order``, ``waiver``, ``settlement_plan``..."""
    id: int
    label: str
    """How approvers see it (``Order SO-1042 for Müller GmbH``)."""


@dataclass(frozen=True)
class ApprovalRequest:
    """One request and where it stands."""

    id: int
    tenant_id: int
    subject: ApprovalSubject
    rule: str
    status: ApprovalStatus
    requested_at: datetime
    decided_at: datetime | None = None
    step: int | None = None
    """The step now waiting (1-based), None once decided."""


class Approvals(Protocol):
    """The calls a policy makes (issue 15 implements them)."""

    def request(
        self,
        session: Session,
        tenant: Tenant,
        subject: ApprovalSubject,
        rule: str,
        *,
        data: Mapping[str, Any],
        at: datetime,
        actor: Actor,
    ) -> ApprovalRequest:
        """Open a request for ``subject`` under ``rule`` (or return the one open)."""
        ...

    def status(
        self, session: Session, tenant: Tenant, subject: ApprovalSubject, rule: str
    ) -> ApprovalRequest | None:
        """The latest request for ``subject`` under ``rule``, or None."""
        ...

    def cancel(
        self,
        session: Session,
        tenant: Tenant,
        request_id: int,
        *,
        reason: str,
        at: datetime,
        actor: Actor,
    ) -> ApprovalRequest:
        """Withdraw a pending request (the subject no longer needs it)."""
        ...


__all__ = ["ApprovalRequest", "ApprovalStatus", "ApprovalSubject", "Approvals"]
