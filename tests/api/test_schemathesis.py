"""The OpenAPI schema as a contract (issue 4, "Done means"): schemathesis generates requests
for every operation -- valid and invalid ones -- with an admin key on a demo tenant, and
every response must be no server error and documented: its status code, content type,
headers and body match the schema (problem+json for the errors, see
``arpolicy.api.PROBLEM_RESPONSES``).

Bounded for CI: a fixed number of examples per operation, no deadline, no example
database; the whole module takes well under a minute on two cores.
"""

from __future__ import annotations

import atexit
import os
import shutil
import sys
import tempfile
import uuid
from pathlib import Path

import pytest
import schemathesis
import structlog
from hypothesis import HealthCheck, settings
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from arpolicy.api import errors
from arpolicy.app import create_app
from arpolicy.config import Settings
from arpolicy.kit.clock import FixedClock
from arpolicy.kit.db import transaction
from arpolicy.kit.migrate import upgrade
from arpolicy.ledger import demo
from tests.api.conftest import NOW, make_caller

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")

EXAMPLES = int(os.environ.get("ARPOLICY_SCHEMATHESIS_EXAMPLES", "20"))
"""Generated cases per operation (fuzzing phase; the examples phase adds the schema's own).
20 keeps the module near 45 s of CPU; a nightly job can ask for more."""
DEMO_CUSTOMERS = 30
CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
]
XFAIL: dict[str, str] = {}
"""``"METHOD /path" -> reason`` for an operation with a known bug its owner cannot fix in
time. Keep it empty: a failure here is a bug in the route, not in this test."""

_workdir = Path(tempfile.mkdtemp(prefix="arpolicy-schemathesis-"))
atexit.register(shutil.rmtree, _workdir, ignore_errors=True)
app = create_app(
    Settings(database_url=f"sqlite:///{_workdir / 'api.db'}", rate_limit_per_minute=0),
    clock=FixedClock(NOW),
)
config = schemathesis.Config.from_dict(
    {
        "seed": 4,
        "generation": {"max-examples": EXAMPLES, "database": "none", "no-shrink": True},
        "phases": {"coverage": {"enabled": False}, "stateful": {"enabled": False}},
    }
)
schema = schemathesis.openapi.from_asgi("/openapi.json", app, config=config)


@pytest.fixture(scope="module")
def admin_headers() -> dict[str, str]:
    """A migrated database with a demo tenant, and a key of one of its admins."""
    engine = app.state.engine
    upgrade(engine)
    with transaction(engine) as s:
        tenant = demo.write(
            s, f"st-{uuid.uuid4().hex[:6]}", demo.generate(DEMO_CUSTOMERS, 3, NOW.date())
        )
        tenant_id = tenant.id
    return make_caller(engine, tenant_id=tenant_id).headers


@pytest.fixture(scope="module", autouse=True)
def plain_error_log():
    """Log a 500's traceback as plain text. Unconfigured, structlog's console renderer
    draws it with rich, every frame's locals included, which takes about 100 s per error
    on this app: a failing case would cost minutes instead of milliseconds."""
    saved = errors.log
    errors.log = structlog.wrap_logger(
        structlog.PrintLogger(sys.stderr),
        processors=[structlog.processors.format_exc_info, structlog.processors.KeyValueRenderer()],
    )
    yield
    errors.log = saved


@schema.parametrize()
@settings(
    max_examples=EXAMPLES,
    deadline=None,
    database=None,
    suppress_health_check=list(HealthCheck),
)
def test_api_conforms_to_its_openapi_schema(case, admin_headers):
    label = f"{case.method} {case.operation.path}"
    if label in XFAIL:
        pytest.xfail(XFAIL[label])
    case.call_and_validate(headers=admin_headers, checks=CHECKS)


def test_every_v1_operation_documents_its_problem_responses():
    """Every /v1 operation is in the schema and documents the problem+json errors it may
    answer, so the conformance checks above hold the errors to a schema too."""
    paths = schema.raw_schema["paths"]
    ops = [(m.upper(), p, op) for p, item in paths.items() for m, op in item.items()]
    assert sum(p.startswith("/v1/") for _, p, _ in ops) >= 10
    for method, path, op in ops:
        if path.startswith("/v1/"):
            for status in ("400", "401", "403", "404", "409", "422", "429"):
                content = op["responses"].get(status, {}).get("content", {})
                assert "application/problem+json" in content, f"{method} {path}: {status}"
