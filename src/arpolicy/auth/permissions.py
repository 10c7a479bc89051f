"""Permissions per role, as data. docs/security.md is generated from this table and kept in
sync by a test; every route names the one permission it needs.

A permission is ``<area>:<verb>``: ``read`` reads, ``write`` creates and updates, ``manage``
changes configuration that governs others (keys, users, webhooks, settings).
"""

from __future__ import annotations

from arpolicy.models import UserRole

PERMISSIONS: dict[str, str] = {
    "ledger:read": "Read customers, contacts, documents, payments and the rest of the ledger.",
    "ledger:write": "Create and update ledger records, and import files.",
    "credit:write": "Set credit limits and credit-check exemptions.",
    "owners:write": "Assign a customer's finance and sales owners.",
    "reports:read": "Read ageing reports and customer figures.",
    "rules:read": "Validate rules and preview which records they match.",
    "policies:manage": "Create and change policies (assignment, cycles, credit, fees, approvals).",
    "users:read": "List the tenant's users.",
    "users:manage": "Create, change and deactivate users.",
    "keys:manage": "Create, list and revoke API keys (of any user of the tenant).",
    "keys:own": "Create, list and revoke one's own API keys.",
    "webhooks:manage": "Register webhook endpoints and read their deliveries.",
    "audit:read": "Read the audit log.",
    "settings:manage": "Change the tenant's settings (base currency, time zone, ageing buckets).",
    "emails:send": "Run engagement cycles for real, record emails sent by hand, close tasks.",
    "mail:receive": "Post inbound email (replies and bounces) to arpolicy.",
}

_ALL = frozenset(PERMISSIONS)
_READ = frozenset({"ledger:read", "reports:read", "rules:read", "users:read", "keys:own"})

ROLE_PERMISSIONS: dict[UserRole, frozenset[str]] = {
    UserRole.ADMIN: _ALL,
    UserRole.FINANCE_MANAGER: _ALL - {"users:manage", "keys:manage", "settings:manage"},
    UserRole.SUPERVISOR: _READ | {"ledger:write", "owners:write", "audit:read", "emails:send"},
    UserRole.COLLECTOR: _READ | {"ledger:write", "emails:send"},
    UserRole.SALES: _READ,
    UserRole.CUSTOMER_SUCCESS: _READ,
    UserRole.AGENT: frozenset({"ledger:read", "reports:read", "keys:own"}),
}


def permissions_of(role: UserRole, scopes: list[str] | None = None) -> frozenset[str]:
    """What a key of a user with ``role`` may do: the role's permissions, narrowed to
    ``scopes`` when the key has them."""
    granted = ROLE_PERMISSIONS[role]
    return granted if scopes is None else granted & frozenset(scopes)
