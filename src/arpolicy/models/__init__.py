"""Every ORM table, one module per aggregate; importing this package registers them all."""

from arpolicy.models.access import ApiKey, AuditEvent, IdempotencyRecord
from arpolicy.models.base import Base
from arpolicy.models.collection import (
    Dispute,
    DisputeStatus,
    OrderStatus,
    PromiseStatus,
    PromiseToPay,
    SalesOrder,
    Subscription,
    SubscriptionStatus,
)
from arpolicy.models.customer import Contact, Customer
from arpolicy.models.document import DEBIT_TYPES, Document, DocumentType, open_items_clause
from arpolicy.models.outbox import DeliveryAttempt, OutboxMessage, OutboxStatus, WebhookEndpoint
from arpolicy.models.ownership import AssignmentCursor, AssignmentPolicyVersion, OwnerAssignment
from arpolicy.models.payment import (
    Allocation,
    AttemptStatus,
    DunningStatus,
    Payment,
    PaymentAttempt,
    PaymentMethod,
    PaymentSource,
    SourceKind,
    SourceRole,
    SourceStatus,
)
from arpolicy.models.tenant import (
    DEFAULT_AGEING_BOUNDS,
    CustomFieldDefinition,
    FieldEntity,
    FieldType,
    FxRate,
    Tenant,
    User,
    UserRole,
)

__all__ = [
    "DEBIT_TYPES",
    "DEFAULT_AGEING_BOUNDS",
    "Allocation",
    "ApiKey",
    "AssignmentCursor",
    "AssignmentPolicyVersion",
    "AttemptStatus",
    "AuditEvent",
    "Base",
    "Contact",
    "CustomFieldDefinition",
    "Customer",
    "DeliveryAttempt",
    "Dispute",
    "DisputeStatus",
    "Document",
    "DocumentType",
    "DunningStatus",
    "FieldEntity",
    "FieldType",
    "FxRate",
    "IdempotencyRecord",
    "OrderStatus",
    "OutboxMessage",
    "OutboxStatus",
    "OwnerAssignment",
    "Payment",
    "PaymentAttempt",
    "PaymentMethod",
    "PaymentSource",
    "PromiseStatus",
    "PromiseToPay",
    "SalesOrder",
    "SourceKind",
    "SourceRole",
    "SourceStatus",
    "Subscription",
    "SubscriptionStatus",
    "Tenant",
    "User",
    "UserRole",
    "WebhookEndpoint",
    "open_items_clause",
]
