from tests.fixtures.factories import create_customer, create_document, create_tenant


def test_document_roundtrip(session):
    t = create_tenant(session)
    c = create_customer(session, t)
    d = create_document(session, t, c, "12.34")
    assert d.amount_minor == 1234 and d.base_balance_minor == 1234
