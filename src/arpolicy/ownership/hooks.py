"""How owner assignment reacts to ledger writes (loaded by ``arpolicy.modules``).

Whenever customers are written, on any path (the REST API, ``arpolicy import``, an upload,
a job), the live assignment policies run in the same transaction (docs/assignment.md):

* a single write runs them for that customer; an owner the write gave is the writer's
  choice: it is recorded as set by hand and that role's policy is not run for it;
* an import batch runs them over every customer once (owners are sticky: only new
  customers and those whose matching rule changed move); the summary of each role goes to
  the import's report (``assignment``).
"""

from __future__ import annotations

from arpolicy.ledger import hooks
from arpolicy.ownership.manage import after_import, assign_customers, mark_set_by_hand
from arpolicy.ownership.service import ROLES

HAND_REASON = "set by hand (given when the customer was written)"


@hooks.subscribe(hooks.CUSTOMERS_WRITTEN)
def assign_owners(event: hooks.Written) -> None:
    session, tenant, actor = event.session, event.tenant, event.actor
    if event.batch:
        event.notes["assignment"] = after_import(
            session,
            tenant,
            actor,
            inserted=len(event.created),
            updated=len(event.ids) - len(event.created),
            as_of=event.as_of,
            at=event.at,
        )
        return
    hand = [r for r in ROLES if f"{r}_owner" in event.fields]
    for customer_id in event.ids:
        for role in hand:
            mark_set_by_hand(
                session, tenant, actor, customer_id, role, at=event.at, reason=HAND_REASON
            )
    roles = [r for r in ROLES if r not in hand]
    if roles:
        assign_customers(
            session, tenant, actor, event.ids, roles=roles, as_of=event.as_of, at=event.at
        )
