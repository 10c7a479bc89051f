"""The background worker: delivers the outbox after commit (webhooks, reminder emails,
notifications to users), runs the policies' scheduled tasks and keeps house (expired
idempotency keys)."""

from arpolicy.worker.claims import Claim, claim_due
from arpolicy.worker.runner import Report, WorkerState, run_forever, run_once

__all__ = ["Claim", "Report", "WorkerState", "claim_due", "run_forever", "run_once"]
