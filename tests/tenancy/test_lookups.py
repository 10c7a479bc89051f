"""Tenant-scoped lookups (issue 13, item 4): another tenant's record is not found, and the
error says what was missing and how to find it."""

from __future__ import annotations

import pytest

from arpolicy.exceptions import NotFoundError
from arpolicy.models import Customer
from arpolicy.tenancy.lookups import by_external_id, get_or_404
from tests.fixtures.factories import create_customer, create_tenant


def test_a_record_is_found_only_in_its_tenant(session) -> None:
    mine, theirs = create_tenant(session), create_tenant(session)
    c = create_customer(session, theirs, external_id="C-1")
    session.flush()
    assert get_or_404(session, Customer, theirs.id, c.id, what="customer", fix="-") is c
    assert by_external_id(session, Customer, theirs.id, "C-1", what="customer", fix="-") is c
    with pytest.raises(NotFoundError) as exc:
        get_or_404(session, Customer, mine.id, c.id, what="customer", fix="list them", where="path")
    assert exc.value.message == f"no customer {c.id}"
    assert (exc.value.where, exc.value.fix) == ("path", "list them")
    with pytest.raises(NotFoundError) as exc:
        by_external_id(
            session, Customer, mine.id, "C-1", what="customer", fix="-", tenant_label="a"
        )
    assert exc.value.message == "no customer 'C-1' in tenant a"
