"""Runs as of a past day (the email goes out at the next send window after now, however
long ago the day was: never an AssertionError or a 500) and a fixed clock (``--now``,
``ARPOLICY_NOW``) on the CLI and the API, on both databases."""

from __future__ import annotations

import json
import threading
import uuid
from contextlib import contextmanager
from datetime import UTC, date, datetime, time

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select
from structlog.testing import capture_logs
from typer.testing import CliRunner

from arpolicy.app import create_app
from arpolicy.audit import Actor
from arpolicy.cli import common
from arpolicy.cli.main import app as cli
from arpolicy.config import Settings
from arpolicy.engagement import admin, service
from arpolicy.engagement.config import SendWindow
from arpolicy.engagement.policy import window_opening
from arpolicy.exceptions import ValidationError
from arpolicy.kit.clock import FixedClock, SystemClock, parse_instant, settings_clock
from arpolicy.kit.db import transaction
from arpolicy.ledger.tenants import get_tenant
from arpolicy.models import Email, OutboxMessage, Tenant
from arpolicy.worker.runner import run_forever
from tests.api.conftest import make_caller
from tests.engagement.cycles_support import BERLIN, CYCLE, SETTINGS, customer_with_invoice
from tests.fixtures.factories import create_tenant, create_user

STEP = date(2026, 3, 13)  # the invoice's first "overdue" step (due on the 10th, + 3 days)
EVENING = datetime(2026, 4, 1, 16, 0, tzinfo=UTC)  # Wed 18:00 in Berlin: the window is shut
NEXT_WINDOW = datetime(2026, 4, 2, 7, 0, tzinfo=UTC)  # Thu 09:00 in Berlin


def _berlin(day: date, hour: int) -> datetime:
    return datetime.combine(day, time(hour), tzinfo=BERLIN).astimezone(UTC)


# --- the send window -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("day", "now", "expected"),
    [
        (STEP, EVENING, (NEXT_WINDOW, False)),  # 19 days ago: raised AssertionError before
        (date(2025, 1, 1), EVENING, (NEXT_WINDOW, False)),  # over a year ago
        (date(2026, 4, 1), _berlin(date(2026, 4, 1), 10), (_berlin(date(2026, 4, 1), 10), True)),
        (date(2026, 4, 1), _berlin(date(2026, 4, 1), 7), (_berlin(date(2026, 4, 1), 9), True)),
        (date(2026, 4, 6), EVENING, (_berlin(date(2026, 4, 6), 9), True)),  # a future Monday
        (date(2026, 4, 4), EVENING, (_berlin(date(2026, 4, 6), 9), False)),  # a Saturday
        (STEP, datetime(2026, 4, 3, 16, 0, tzinfo=UTC), (_berlin(date(2026, 4, 6), 9), False)),
    ],
)
def test_the_window_opens_on_the_day_or_at_the_next_window_after_now(day, now, expected):
    assert window_opening(SendWindow(), "Europe/Berlin", now, day) == expected


@pytest.mark.parametrize(
    ("start", "end", "days", "what"),
    [
        (17, 9, ["mon"], "17:00-09:00 on mon never opens"),
        (9, 9, ["mon"], "09:00-09:00 on mon never opens"),
        (9, 17, [], "09:00-17:00 on no day never opens"),
    ],
)
def test_a_stored_window_that_never_opens_is_a_clear_error(start, end, days, what):
    shut = SendWindow.model_construct(start=time(start), end=time(end), days=days)
    with pytest.raises(ValidationError) as err:
        window_opening(shut, "Europe/Berlin", EVENING, STEP)
    assert err.value.where == "send_window" and what in err.value.message
    assert "start before the end" in (err.value.fix or "")


# --- a past day, through the service ---------------------------------------------------------


def _shop(s):
    t = create_tenant(
        s, f"clock-{uuid.uuid4().hex[:8]}", timezone="Europe/Berlin", base_currency="EUR"
    )
    actor = Actor(t.id, "test")
    owner = create_user(s, t, email=f"anna-{t.slug}@shop.example", name="Anna Adler")
    admin.save_settings(s, t, actor, SETTINGS, at=EVENING)
    admin.save_cycle(s, t, actor, CYCLE, at=EVENING)
    customer_with_invoice(s, t, owner, email=f"billing-{t.slug}@acme.example")
    return t, actor


def test_a_run_as_of_a_past_day_sends_at_the_next_window(session):
    t, actor = _shop(session)
    report = service.run(session, t, actor, as_of=STEP, now=EVENING)
    assert report.written == 1
    (email,) = session.scalars(select(Email).where(Email.tenant_id == t.id)).all()
    assert (email.reminder, email.due_on) == ("overdue", STEP)
    assert email.send_after == NEXT_WINDOW
    outbox = session.scalar(select(OutboxMessage).where(OutboxMessage.tenant_id == t.id))
    assert outbox is not None and outbox.next_attempt_at == NEXT_WINDOW


# --- the API ---------------------------------------------------------------------------------


@pytest.fixture
def api(db_engine):
    @contextmanager
    def client(clock=None, **settings):
        url = db_engine.url.render_as_string(hide_password=False)
        app = create_app(Settings(database_url=url, **settings), clock=clock)
        with TestClient(app, raise_server_exceptions=False) as c:
            yield c
        app.state.engine.dispose()

    return client


def _api_shop(db_engine):
    me = make_caller(db_engine, base_currency="EUR")
    with transaction(db_engine) as s:
        t = s.get(Tenant, me.tenant_id)
        owner = create_user(s, t, email=f"olga-{t.slug}@shop.example", name="Olga Owner")
        customer_with_invoice(s, t, owner, email=f"billing-{t.slug}@acme.example")
    return me


def test_api_run_as_of_a_past_day_is_scheduled_not_a_500(db_engine, api):
    me = _api_shop(db_engine)
    with api(FixedClock(EVENING)) as client:
        client.put("/v1/engagement/settings", headers=me.headers, json={"settings": SETTINGS})
        r = client.put("/v1/engagement/cycles/Standard", headers=me.headers, json={"cycle": CYCLE})
        assert r.status_code == 200, r.text
        for dry in (True, False):
            r = client.post(
                "/v1/engagement/runs",
                headers=me.headers,
                json={"as_of": STEP.isoformat(), "dry_run": dry},
            )
            assert r.status_code == 200, r.text
            (email,) = r.json()["emails"]
            assert email["send_after"] == NEXT_WINDOW.isoformat()
        assert r.json()["written"] == 1


def test_api_clock_from_the_setting(db_engine, api):
    me = _api_shop(db_engine)
    with api(now="2026-04-01T10:00:00+02:00") as client:
        r = client.post("/v1/engagement/runs", headers=me.headers, json={})
        assert r.status_code == 200, r.text
        assert r.json()["as_of"] == "2026-04-01"
    with pytest.raises(ValidationError, match="'2026-04-01T10:00:00' has no UTC offset") as err:
        create_app(Settings(database_url="sqlite://", now="2026-04-01T10:00:00"))
    assert err.value.where == "ARPOLICY_NOW"


# --- the CLI ---------------------------------------------------------------------------------


@pytest.fixture
def shell(db_engine, monkeypatch):
    """The CLI on this test's database, as a tenant of its own; every fixed clock noted."""
    monkeypatch.setenv("ARPOLICY_DATABASE_URL", db_engine.url.render_as_string(hide_password=False))
    monkeypatch.delenv("ARPOLICY_NOW", raising=False)
    monkeypatch.setattr(common, "_announced", set())
    with transaction(db_engine) as s:
        t, _ = _shop(s)
        slug = t.slug

    def run(*args: str, **env: str):
        return CliRunner().invoke(cli, ["engage", *args, "--tenant", slug], env=env or None)

    return run, slug


def _emails(db_engine, slug):
    with transaction(db_engine, write=False) as s:
        t = get_tenant(s, slug)
        return s.scalars(select(Email).where(Email.tenant_id == t.id)).all()


def test_cli_run_as_of_a_past_day_is_scheduled(db_engine, shell):
    run, slug = shell
    res = run("run", "--as-of", STEP.isoformat(), "--now", "2026-04-01T18:00:00+02:00", "--json")
    assert res.exit_code == 0, res.output
    (email,) = json.loads(res.stdout)["emails"]
    assert email["send_after"] == NEXT_WINDOW.isoformat()
    assert "2026-03-13 is past" in res.stderr and "the clock is fixed" in res.stderr
    (row,) = _emails(db_engine, slug)
    assert row.send_after == NEXT_WINDOW and row.decided_at == EVENING


def test_cli_now_changes_the_day_and_the_send_time(shell):
    run, _ = shell
    before = run("run", "--dry-run", "--json", "--now", "2026-03-04T10:00:00+01:00")
    assert before.exit_code == 0, before.output
    assert json.loads(before.stdout)["emails"] == []  # the friendly step is on the 5th
    res = run("run", "--dry-run", "--json", ARPOLICY_NOW="2026-03-13T10:30:00+01:00")
    assert res.exit_code == 0, res.output
    out = json.loads(res.stdout)
    assert out["as_of"] == "2026-03-13"
    assert [e["send_after"] for e in out["emails"]] == ["2026-03-13T09:30:00+00:00"]
    assert "note: ARPOLICY_NOW 2026-03-13T09:30:00+00:00: the clock is fixed" in res.stderr
    ahead = run("forecast", "--days", "2", "--json", "--now", "2026-03-04T10:00:00+01:00")
    assert [d["emails"] for d in json.loads(ahead.stdout)["days"]] == [0, 1]


@pytest.mark.parametrize(
    ("args", "env", "message"),
    [
        (["--now", "2026-03-13T10:30:00"], {}, "--now: '2026-03-13T10:30:00' has no UTC offset"),
        (["--now", "tomorrow"], {}, "--now: 'tomorrow' is not an ISO 8601 instant"),
        ([], {"ARPOLICY_NOW": "2026-03-13"}, "ARPOLICY_NOW: '2026-03-13' has no UTC offset"),
        (["--as-of", "9999-12-31"], {}, "--as-of: 9999-12-31 is outside the dates"),
    ],
)
def test_cli_refuses_a_clock_without_an_offset(db_engine, shell, args, env, message):
    run, slug = shell
    res = run("run", *args, **env)
    assert res.exit_code == 2 and message in res.stderr and "fix:" in res.stderr
    assert _emails(db_engine, slug) == []


def test_parse_instant_keeps_the_instant():
    assert parse_instant(" 2026-12-01T09:30:00+01:00", where="--now") == datetime(
        2026, 12, 1, 8, 30, tzinfo=UTC
    )
    assert parse_instant("2026-12-01T08:30:00Z", where="x") == datetime(
        2026, 12, 1, 8, 30, tzinfo=UTC
    )


def test_a_fixed_clock_is_logged_by_the_worker_and_the_api(db_engine, tmp_path):
    stop = threading.Event()
    stop.set()  # no pass: the start is enough
    with capture_logs() as logs:
        run_forever(db_engine, FixedClock(EVENING), stop=stop, mail_url=f"maildir://{tmp_path}")
        settings_clock("2026-04-01T18:00:00+02:00")
        assert isinstance(settings_clock(None), SystemClock)
    fixed = [(e["event"], e["now"]) for e in logs if e["log_level"] == "warning"]
    assert fixed == [
        ("worker.clock_fixed", EVENING.isoformat()),
        ("clock.fixed", EVENING.isoformat()),
    ]
