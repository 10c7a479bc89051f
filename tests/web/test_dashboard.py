"""The dashboard, server side on both databases: its figures are the API's
(/v1/reports/figures and /v1/reports/ageing), the DSO trend is the figures' DSO at each
month end, each figure links to the list behind it, and another tenant never shows."""

from __future__ import annotations

import re
from datetime import timedelta
from decimal import Decimal

from fastapi.testclient import TestClient
from sqlalchemy import Engine

from arpolicy.kit.db import transaction
from arpolicy.kit.money import Money
from arpolicy.ledger.dashboard import activity, dso_trend, month_ends
from arpolicy.ledger.figures import tenant_figures
from arpolicy.models import Tenant, UserRole
from arpolicy.tenancy.rls import scope_tenant
from arpolicy.web.render import Formats
from arpolicy.web.views.dashboard import week_start
from tests.api.conftest import NOW
from tests.fixtures.factories import create_customer, create_document
from tests.web.signin_support import make_web_user, sign_in
from tests.web.worklist_support import TODAY, seed_worklist


def _formats(engine: Engine, tenant_id: int) -> Formats:
    with transaction(engine, write=False) as s:
        scope_tenant(s, tenant_id)
        tenant = s.get(Tenant, tenant_id)
        assert tenant is not None
        return Formats(tenant.locale, tenant.timezone)


def _sales_over_the_year(engine: Engine, tenant_id: int) -> None:
    """Paid invoices dated over the last year, so each month end has its own DSO."""
    with transaction(engine) as s:
        scope_tenant(s, tenant_id)
        tenant = s.get(Tenant, tenant_id)
        assert tenant is not None
        c = create_customer(s, tenant, name="Paid Up Co")
        for months in range(13):
            on = TODAY - timedelta(days=30 * months + 3)
            amount = f"{1000 + 250 * months}.00"
            create_document(s, tenant, c, amount, balance="0.00", document_date=on, due_date=on)


def test_the_figures_and_the_ageing_are_the_apis(web_client: TestClient, db_engine: Engine) -> None:
    who = make_web_user(db_engine, UserRole.COLLECTOR)
    seeded = seed_worklist(db_engine, who)
    _sales_over_the_year(db_engine, seeded.tenant_id)
    fmt = _formats(db_engine, seeded.tenant_id)
    api = web_client.get("/v1/reports/figures", headers=who.caller.headers).json()
    ageing = web_client.get("/v1/reports/ageing", headers=who.caller.headers).json()
    sign_in(web_client, who)
    html = web_client.get("/dashboard").text
    ccy = api["base"]["currency"]
    for name, label in (("outstanding", "Outstanding"), ("overdue", "Overdue")):
        shown = fmt.money(Money(Decimal(api["base"][name]), ccy))
        assert f'<span class="value">{shown}</span> {label}</a>' in html
    net = fmt.money(Money(Decimal(api["base"]["net_overdue"]), ccy))
    assert f'<span class="value">{net}</span> Net overdue' in html
    assert api["dso_days"] is not None
    assert f'<span class="value">{fmt.number(Decimal(api["dso_days"]))} days</span> DSO' in html
    for label, amount in ageing["totals"]["ageing"].items():
        link = f"/customers?bucket={label.replace(' ', '%20')}"
        cell = f'<a href="{link}">{label}</a></th><td class="num">'
        assert cell + fmt.money(Money(Decimal(amount), ccy)) + "</td>" in html, label
        assert api["base"]["ageing"][label] == amount  # the report and the figures agree


def test_the_dso_trend_is_the_figures_dso_at_each_month_end(
    web_client: TestClient, db_engine: Engine
) -> None:
    who = make_web_user(db_engine, UserRole.COLLECTOR)
    seeded = seed_worklist(db_engine, who)
    _sales_over_the_year(db_engine, seeded.tenant_id)
    with transaction(db_engine, write=False) as s:
        scope_tenant(s, seeded.tenant_id)
        tenant = s.get(Tenant, seeded.tenant_id)
        assert tenant is not None
        figures = tenant_figures(s, tenant, TODAY)
        trend = dso_trend(s, tenant, figures)
        expected = [tenant_figures(s, tenant, d).dso_days for d in month_ends(TODAY)]
    assert [p.on for p in trend] == month_ends(TODAY)
    assert len(trend) == 12 and trend[-1].on == TODAY and trend[0].on.day >= 28
    assert [p.dso_days for p in trend] == expected
    assert len({p.dso_days for p in trend}) > 1  # the sales move the trend
    api = web_client.get(
        "/v1/reports/figures",
        params={"as_of": trend[3].on.isoformat()},
        headers=who.caller.headers,
    ).json()
    assert Decimal(api["dso_days"]) == trend[3].dso_days


def test_top_overdue_my_customers_and_the_week_link_to_their_lists(
    web_client: TestClient, db_engine: Engine
) -> None:
    who = make_web_user(db_engine, UserRole.COLLECTOR)
    seeded = seed_worklist(db_engine, who)
    sign_in(web_client, who)
    html = web_client.get("/dashboard").text
    top = re.findall(r'<a href="/customers/(\d+)">([^<]+)</a> <small', html)
    names = [n for _, n in top]
    # largest first; a tie (300 each) by customer id
    assert names == ["Someone Else Inc", "Big Owes Ltd", "Small Owes Ltd", "Very Late GmbH"]
    assert dict((n, int(i)) for i, n in top)["Big Owes Ltd"] == seeded.customers["Big Owes Ltd"]
    mine = re.search(r'href="/customers\?owner=(\d+)"><strong>(\d+)</strong> customers', html)
    assert mine is not None and mine.groups() == (str(seeded.collector_id), "3")
    assert "$5,600.00 open, $5,600.00 overdue" in html  # 5,000 + 300 + 300, all past due
    assert '<span class="value">1</span> Replies' in html  # this week's reply
    assert '<span class="value">0</span> Reminders sent' in html  # the email was last week
    assert '<span class="value">1</span> Open tasks' in html
    assert 'href="/worklist?kind=task"' in html and 'href="/customers?sort=-overdue"' in html
    with transaction(db_engine, write=False) as s:
        scope_tenant(s, seeded.tenant_id)
        tenant = s.get(Tenant, seeded.tenant_id)
        assert tenant is not None
        week = activity(s, tenant, week_start(TODAY, "UTC"), TODAY)
        last_week = activity(s, tenant, week_start(TODAY, "UTC") - timedelta(days=7), TODAY)
    assert (week.sent, week.replied, week.bounced) == (0, 1, 0)
    assert (last_week.sent, last_week.replied) == (1, 1)
    assert week.promises_due == 1 and str(week.promised.amount) == "1000.00"


def test_the_week_starts_on_monday_in_the_tenants_zone() -> None:
    assert NOW.date().weekday() == 0
    start = week_start(TODAY, "Asia/Tokyo")
    assert start.isoformat() == f"{(TODAY - timedelta(days=1)).isoformat()}T15:00:00+00:00"
    assert week_start(TODAY + timedelta(days=3), "UTC").date() == TODAY


def test_another_tenant_never_shows_and_a_visitor_signs_in_first(
    web_client: TestClient, db_engine: Engine
) -> None:
    other = make_web_user(db_engine, UserRole.COLLECTOR)
    seed_worklist(db_engine, other)
    viewer = make_web_user(db_engine, UserRole.AGENT)  # the narrowest role: reads reports
    r = web_client.get("/dashboard")
    assert r.status_code == 303 and r.headers["location"].startswith("/sign-in?next=")
    sign_in(web_client, viewer)
    html = web_client.get("/dashboard").text
    assert "Big Owes Ltd" not in html and "Someone Else Inc" not in html
    assert "No customer is overdue." in html
    assert '<span class="value">$0.00</span> Outstanding' in html
