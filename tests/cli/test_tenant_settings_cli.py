"""`arpolicy tenants set`: the payment link and bank details (checked, merged with what is
stored, removed), errors naming the option, the change audited."""

from __future__ import annotations

import json

from sqlalchemy import select

from arpolicy.cli.main import app
from arpolicy.kit.db import transaction
from arpolicy.models import AuditEvent, Tenant


def _tenant(engine) -> Tenant:
    with transaction(engine, write=False) as s:
        return s.scalars(select(Tenant).where(Tenant.slug == "shop")).one()


def test_set_payment_link_and_bank_details_then_change_and_remove(runner, shop):
    res = runner.invoke(
        app,
        [
            "tenants",
            "set",
            "shop",
            "--payment-link",
            "https://pay.shop.example/{customer_number}",
            "--bank-holder",
            "Shop GmbH",
            "--iban",
            "DE89 3704 0044 0532 0130 00",
        ],
    )
    assert res.exit_code == 0, res.output
    assert res.stdout.strip() == "tenant shop: changed bank_details, payment_link_url"
    res = runner.invoke(app, ["tenants", "set", "shop", "--bic", "cobadeffxxx", "--json"])
    assert res.exit_code == 0, res.output
    data = json.loads(res.stdout)
    assert data["bank_details"] == {
        "account_holder": "Shop GmbH",
        "iban": "DE89370400440532013000",
        "bic": "COBADEFFXXX",
        "bank_name": None,
    }
    listed = json.loads(runner.invoke(app, ["tenants", "list", "--json"]).stdout)
    assert listed[0]["payment_link_url"] == "https://pay.shop.example/{customer_number}"
    res = runner.invoke(app, ["tenants", "set", "shop", "--no-bank", "--payment-link", ""])
    assert res.exit_code == 0, res.output
    t = _tenant(shop)
    assert t.bank_details is None and t.payment_link_url is None
    with transaction(shop, write=False) as s:
        events = s.scalars(
            select(AuditEvent).where(AuditEvent.action == "tenant.updated").order_by(AuditEvent.id)
        ).all()
    assert [sorted(e.after) for e in events] == [
        ["bank_details", "payment_link_url"],
        ["bank_details"],
        ["bank_details", "payment_link_url"],
    ]
    assert all(e.actor.startswith("cli:") for e in events)


def test_a_bad_value_names_the_option_and_changes_nothing(runner, shop):
    for args, option, what in [
        (
            ["--iban", "DE89 3704 0044 0532 0130 01", "--bank-holder", "Shop"],
            "--iban",
            "check digits do not match",
        ),
        (["--iban", "DE89370400440532013000"], "--bank-holder", "account holder is missing"),
        (["--payment-link", "http://pay.example"], "--payment-link", "https://"),
        (["--no-bank", "--bic", "COBADEFF"], "--no-bank", "cannot be given with --bic"),
        (["--ageing", "30,x"], "--ageing", "not a list of days"),
        ([], "shop", "nothing to change"),
    ]:
        rename = ["--name", "Renamed"] if args else []
        res = runner.invoke(app, ["tenants", "set", "shop", *rename, *args])
        assert res.exit_code == 2, (args, res.output)
        assert f"error: {option}: " in res.stderr and what in res.stderr and "fix:" in res.stderr
    assert _tenant(shop).name == "shop"
