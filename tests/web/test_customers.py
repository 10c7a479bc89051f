"""The Customers screen, server side, on both databases: search, each filter as the other
screens link to it (``owner=me``, ``bucket=...``), sort, pages of 50 without a count,
bad filters beside the field (422), the CSV of the filtered list, another tenant's
customers never listed, and the sign-in it needs."""

from __future__ import annotations

import csv
import io
import re

from fastapi.testclient import TestClient
from sqlalchemy import Engine

from arpolicy.kit.db import transaction
from arpolicy.models import Tenant, UserRole
from arpolicy.tenancy.rls import scope_tenant
from tests.fixtures.factories import create_customer, create_promise
from tests.web.customers_support import TODAY, make_ledger
from tests.web.signin_support import make_web_user, sign_in

ROW = re.compile(r'<td><a href="/customers/(\d+)">([^<]+)</a></td>')


def names(html: str) -> list[str]:
    return [m.group(2) for m in ROW.finditer(html)]


def test_the_list_shows_each_customer_with_its_figures(web_client: TestClient, db_engine: Engine):
    led = make_ledger(db_engine, UserRole.COLLECTOR)
    sign_in(web_client, led.admin)
    page = web_client.get("/customers")
    assert page.status_code == 200
    assert names(page.text) == ["Acme Late GmbH", "Beta Current Inc", "Gamma Disputed Ltd"]
    assert "€1,000.00" in page.text  # Acme's outstanding, in its currency
    assert "$150.00" in page.text  # Beta: 200.00 less the 50.00 paid
    assert '<span class="badge bad">disputed</span>' in page.text


def test_search_by_name_external_id_or_id(web_client: TestClient, db_engine: Engine):
    led = make_ledger(db_engine)
    sign_in(web_client, led.admin)
    assert names(web_client.get("/customers?q=gmbh").text) == ["Acme Late GmbH"]
    assert names(web_client.get("/customers?q=beta-2").text) == ["Beta Current Inc"]
    assert names(web_client.get(f"/customers?q={led.disputed}").text) == ["Gamma Disputed Ltd"]
    assert names(web_client.get("/customers?q=nothing-like-it").text) == []


def test_each_filter(web_client: TestClient, db_engine: Engine):
    led = make_ledger(db_engine)
    sign_in(web_client, led.admin)

    def got(query: str) -> list[str]:
        response = web_client.get(f"/customers?{query}")
        assert response.status_code == 200, response.text
        return names(response.text)

    assert got("owner=me") == ["Acme Late GmbH"]
    assert got(f"owner={led.admin.caller.user_id}") == ["Acme Late GmbH"]
    assert got("owner=none") == ["Beta Current Inc", "Gamma Disputed Ltd"]
    assert got("country=de") == ["Acme Late GmbH"]
    assert got("currency=GBP") == ["Gamma Disputed Ltd"]
    assert got("bucket=31-60") == ["Acme Late GmbH"]
    assert got("bucket=1-30") == ["Gamma Disputed Ltd"]
    assert got("bucket=current") == ["Beta Current Inc"]
    assert got("bucket=31-60&owner=me") == ["Acme Late GmbH"]
    assert got("disputed=yes") == ["Gamma Disputed Ltd"]
    assert got("disputed=no") == ["Acme Late GmbH", "Beta Current Inc"]
    assert got("paused=yes") == []
    # a promise for the account pauses the reminders (engagement): the list says so too
    with transaction(db_engine) as s:
        scope_tenant(s, led.admin.caller.tenant_id)
        t = s.get(Tenant, led.admin.caller.tenant_id)
        from arpolicy.models import Customer

        beta = s.get(Customer, led.current)
        create_promise(s, t, beta, "150.00", TODAY, currency="USD")
    assert got("paused=yes") == ["Beta Current Inc"]
    assert got("paused=no&disputed=no") == ["Acme Late GmbH"]


def test_sort_and_pages_of_fifty(web_client: TestClient, db_engine: Engine):
    who = make_web_user(db_engine)
    with transaction(db_engine) as s:
        scope_tenant(s, who.caller.tenant_id)
        t = s.get(Tenant, who.caller.tenant_id)
        for n in range(55):
            create_customer(s, t, external_id=f"X-{n:03d}", name=f"Customer {n:03d}")
    sign_in(web_client, who)
    first = web_client.get("/customers?sort=-external_id")
    shown = names(first.text)
    assert len(shown) == 50 and shown[0] == "Customer 054" and shown[-1] == "Customer 005"
    nxt = re.search(r'href="(/customers\?[^"]*cursor=[^"]+)"[^>]*rel="next"', first.text)
    assert nxt, "a link to the next page"
    second = web_client.get(nxt.group(1).replace("&amp;", "&"), headers={"HX-Request": "true"})
    assert second.status_code == 200
    assert names(second.text) == [f"Customer {n:03d}" for n in range(4, -1, -1)]
    assert "<html" not in second.text  # htmx gets the table only
    assert 'rel="next"' not in second.text


def test_bad_filters_come_back_beside_the_field(web_client: TestClient, db_engine: Engine):
    led = make_ledger(db_engine)
    sign_in(web_client, led.admin)
    for query, field, words in [
        ("bucket=2-3", "bucket", "not an ageing bucket"),
        ("paused=maybe", "paused", "not yes or no"),
        ("owner=someone", "owner", "not an owner"),
        ("cycle=Nope", "cycle", "no live or test cycle"),
        ("cursor=garbage", "cursor", "cursor"),
    ]:
        response = web_client.get(f"/customers?{query}")
        assert response.status_code == 422, query
        assert words in response.text, query
        if field != "cursor":
            assert f'aria-describedby="e-{field}"' in response.text, query


def test_csv_of_the_filtered_list(web_client: TestClient, db_engine: Engine):
    led = make_ledger(db_engine)
    sign_in(web_client, led.admin)
    response = web_client.get("/customers.csv?disputed=no&sort=-name")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/csv")
    rows = list(csv.DictReader(io.StringIO(response.text)))
    assert [r["name"] for r in rows] == ["Beta Current Inc", "Acme Late GmbH"]
    acme = rows[1]
    assert acme["external_id"] == "ACME-1" and acme["figures_currency"] == "EUR"
    assert acme["outstanding"] == "1000.00" and acme["ageing 31-60"] == "1000.00"
    assert acme["finance_owner"] and rows[0]["finance_owner"] == ""
    assert web_client.get("/customers.csv?bucket=nope").status_code == 422


def test_another_tenants_customers_are_never_listed(web_client: TestClient, db_engine: Engine):
    led = make_ledger(db_engine)
    other = make_web_user(db_engine)
    sign_in(web_client, other)
    assert names(web_client.get("/customers").text) == []
    assert names(web_client.get(f"/customers?q={led.late}").text) == []
    assert "ACME-1" not in web_client.get("/customers.csv").text


def test_signed_out_visitors_are_sent_to_sign_in(web_client: TestClient, db_engine: Engine):
    response = web_client.get("/customers?bucket=31-60")
    assert response.status_code == 303
    assert response.headers["location"].startswith("/sign-in?next=")
    assert web_client.get("/customers.csv").status_code == 303
