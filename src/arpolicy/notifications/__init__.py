"""Notifications: messages to the tenant's own users (an owner, an approver, a manager),
which approvals, credit holds and settlement overrides send (docs/notifications.md).

:func:`notify` writes, in the caller's transaction, one notification per user with its
outbox row, an audit event and a ``notification.created`` webhook; the worker emails it
after commit, exactly once (:mod:`arpolicy.worker.notifications`). Recipients are user
ids or :class:`ManagerOf` a user; whoever knows a role (the finance owner of a customer)
resolves it to ids first. Subject and bodies are sandboxed Jinja2 templates.
"""

from arpolicy.notifications.service import EVENT, KIND, ManagerOf, NotifyResult, Recipient, notify

__all__ = ["EVENT", "KIND", "ManagerOf", "NotifyResult", "Recipient", "notify"]
