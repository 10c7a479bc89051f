"""An engagement cycle's configuration, forecast and backtest, on SQLite and PostgreSQL:
an invalid cycle lists every problem, the documented example is the demo's, the forecast
predicts what the runs then decide, and a backtest replays the past balances.
"""

from __future__ import annotations

from datetime import date

import pytest

from arpolicy.audit import Actor
from arpolicy.engagement import admin
from arpolicy.engagement.config import CycleError
from tests.engagement.cycles_support import (
    DUE,
    FULL,
    _at,
    _emails,
    customer_with_invoice,
    standard_shop,
    walk,
)
from tests.fixtures.factories import create_tenant


@pytest.fixture
def shop(session):
    return standard_shop(session)


def test_an_invalid_cycle_lists_every_problem(session, shop):
    t, actor, _ = shop
    bad = {
        "name": "Bad",
        "invoice": "balanse > 0 EUR",
        "reminders": [
            {"name": "x", "template": {"en": {"subject": "{{ nope }}", "text": "{% if %}"}}},
            {"name": "x", "template": "nonexistent"},
        ],
    }
    with pytest.raises(CycleError) as exc:
        admin.save_cycle(session, t, actor, bad, at=_at(DUE))
    wheres = [e["where"] for e in exc.value.errors]
    assert any(w.startswith("reminders[1].name") for w in wheres)  # duplicate name
    with pytest.raises(CycleError) as exc:
        admin.save_cycle(session, t, actor, {**bad, "reminders": bad["reminders"][:1]}, at=_at(DUE))
    wheres = [e["where"] for e in exc.value.errors]
    assert wheres[0].startswith("invoice") and any("reminders[0]" in w for w in wheres)


def test_the_documented_example_is_the_one_the_demo_installs(session):
    """docs/engagement.md shows example.yaml verbatim, and it loads on a fresh tenant."""
    from pathlib import Path

    from arpolicy.engagement.config import example_text, load_yaml

    doc = (Path(__file__).parents[2] / "docs" / "engagement.md").read_text(encoding="utf-8")
    block = doc.split("```yaml\n", 1)[1].split("\n```", 1)[0]
    assert block == example_text().rstrip()
    t = create_tenant(session)
    cycles, settings = load_yaml(example_text())
    admin.save_settings(session, t, Actor(t.id, "t"), settings.model_dump(mode="json"), at=_at(DUE))
    for c in cycles:
        admin.save_cycle(session, t, Actor(t.id, "t"), c.model_dump(mode="json"), at=_at(DUE))
    assert [c.name for c in cycles] == ["Standard", "Key accounts"]


def test_the_forecast_predicts_what_the_runs_then_decide(session, shop):
    from arpolicy.engagement.admin import forecast

    t, actor, owner = shop
    customer_with_invoice(session, t, owner)
    predicted = forecast(session, t, start=date(2026, 2, 20), days=100, now=_at(date(2026, 2, 20)))
    days = [
        (date.fromisoformat(d["day"]), d["per_cycle"]) for d in predicted["days"] if d["emails"]
    ]
    assert days == [(d, {"Standard": 1}) for d, _, _ in FULL]
    assert [
        (date.fromisoformat(e["day"]), e["reminder"], e["occurrence"]) for e in predicted["emails"]
    ] == FULL
    assert _emails(session, t) == 0  # a forecast writes nothing
    assert walk(session, t, actor, date(2026, 2, 20), date(2026, 5, 31)) == FULL


def test_a_backtest_replays_the_past_balances(session, shop):
    from arpolicy.engagement.admin import backtest
    from tests.fixtures.factories import create_payment

    t, _actor, owner = shop
    c, inv = customer_with_invoice(session, t, owner)
    create_payment(
        session,
        t,
        c,
        "500.00",
        currency="EUR",
        received_on=date(2026, 3, 16),
        allocations={inv: "500.00"},
    )
    inv.balance_minor = 0  # paid today: a live run would send nothing
    session.flush()
    replay = backtest(session, t, start=date(2026, 3, 1), end=date(2026, 4, 30))
    got = [(date.fromisoformat(e["day"]), e["reminder"], e["occurrence"]) for e in replay["emails"]]
    assert got == FULL[:2]  # friendly and the first overdue; the payment of the 16th stops it
    assert replay["cycles"] == ["Standard"] and _emails(session, t) == 0
