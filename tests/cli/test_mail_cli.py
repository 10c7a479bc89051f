"""``arpolicy mail``: receive a file, fetch from a real (test) IMAP server, list and show
emails; on a SQLite file."""

from __future__ import annotations

import json

import pytest
from sqlalchemy import select

from arpolicy.cli.main import app
from arpolicy.kit.db import transaction
from arpolicy.models import Contact, Customer, Email, EmailStatus, InboundEmail
from tests.engagement.imap_server import ImapServer
from tests.engagement.inbound_support import create_contact, create_email, postfix_dsn, reply
from tests.fixtures.factories import create_customer, create_tenant

GARBAGE = b"this is not an email at all"


@pytest.fixture
def mailshop(cli_db):
    with transaction(cli_db) as s:
        t = create_tenant(s, "shop")
        c = create_customer(s, t, external_id="ACME", name="Acme")
        create_contact(s, c, "ann@acme.example")
        create_email(
            s,
            t,
            c,
            "<reminder-1@shop.example>",
            subject="Invoice INV-1 is overdue",
            reason="first reminder: 14 days overdue",
            html_body="<p>Please pay.</p>",
        )
        create_email(s, t, c, "<reminder-2@shop.example>", in_doubt=True)
    return cli_db


def _state(engine):
    with transaction(engine, write=False) as s:
        customer = s.scalar(select(Customer).where(Customer.external_id == "ACME"))
        emails = {e.message_id: e for e in s.scalars(select(Email))}
        contact = s.scalar(select(Contact))
        inbound = list(s.scalars(select(InboundEmail).order_by(InboundEmail.id)))
        s.expunge_all()
    return customer, emails, contact, inbound


def test_receive_a_file_then_list_and_show(mailshop, runner, tmp_path):
    eml = tmp_path / "reply.eml"
    eml.write_bytes(reply(in_reply_to="<reminder-1@shop.example>"))
    r = runner.invoke(app, ["mail", "receive", str(eml), "--json"])
    assert r.exit_code == 0, r.output
    out = json.loads(r.stdout)
    assert (out["kind"], out["matched_by"], out["duplicate"]) == ("reply", "in_reply_to", False)
    r = runner.invoke(app, ["mail", "receive", str(eml)])
    assert r.exit_code == 0 and "duplicate" in r.stdout
    r = runner.invoke(app, ["mail", "list", "--customer", "ACME", "--json"])
    listed = json.loads(r.stdout)
    assert listed["customer"]["last_reply_at"] is not None
    assert listed["customer"]["last_email_at"] is None
    assert len(listed["emails"]) == 2
    replied = [e for e in listed["emails"] if e["replied_at"]]
    assert len(replied) == 1 and replied[0]["subject"] == "Invoice INV-1 is overdue"
    r = runner.invoke(app, ["mail", "list", "--customer", "ACME"], env={"COLUMNS": "200"})
    assert r.exit_code == 0 and "last email -, last reply 20" in r.stdout
    assert "in doubt" in r.stdout and "yes" in r.stdout
    r = runner.invoke(app, ["mail", "list", "--status", "bounced", "--json"])
    assert json.loads(r.stdout)["emails"] == []
    email_id = replied[0]["id"]
    r = runner.invoke(app, ["mail", "show", str(email_id), "--json"])
    shown = json.loads(r.stdout)
    assert (
        shown["reason"] == "first reminder: 14 days overdue" and shown["text_body"] == "Please pay."
    )
    assert shown["in_doubt"] is False and shown["message_id"] == "<reminder-1@shop.example>"
    r = runner.invoke(app, ["mail", "show", str(email_id)])
    assert r.exit_code == 0 and "<p>Please pay.</p>" in r.stdout and "in_doubt: False" in r.stdout


def test_errors_are_clear(mailshop, runner, tmp_path):
    r = runner.invoke(app, ["mail", "show", "999"])
    assert r.exit_code == 2 and "no email 999" in r.output
    r = runner.invoke(app, ["mail", "list", "--customer", "NOPE"])
    assert r.exit_code == 2 and "no customer 'NOPE'" in r.output
    r = runner.invoke(app, ["mail", "list", "--status", "lost"])
    assert r.exit_code == 2 and "queued, sent, bounced" in r.output
    bad = tmp_path / "bad.eml"
    bad.write_bytes(GARBAGE)
    r = runner.invoke(app, ["mail", "receive", str(bad)])
    assert r.exit_code == 2 and "not a MIME email message" in r.output
    r = runner.invoke(app, ["mail", "receive", str(tmp_path / "missing.eml")])
    assert r.exit_code == 2 and "does not exist" in r.output


def test_fetch_receives_unseen_messages_and_marks_them_seen(mailshop, runner):
    messages = {"INBOX": [reply(in_reply_to="<reminder-1@shop.example>"), postfix_dsn(), GARBAGE]}
    with ImapServer("ar@shop.example", "p@ss word", messages) as server:
        seen = server.add("INBOX", reply(message_id="<old@acme.example>"), {"\\Seen"})
        url = f"imap://ar%40shop.example:p%40ss%20word@127.0.0.1:{server.port}/INBOX"
        r = runner.invoke(app, ["mail", "fetch", "--imap", url, "--json"])
        assert r.exit_code == 1, r.output  # the garbage message failed
        out = json.loads(r.stdout)
        assert out["mailbox"] == f"imap://ar@shop.example@127.0.0.1:{server.port}/INBOX"
        assert [m.get("kind") for m in out["messages"]] == ["reply", "bounce", None]
        assert "not a MIME email message" in out["messages"][2]["error"] and out["failed"] == 1
        flags = [m.flags for m in server.boxes["INBOX"]]
        assert flags[:2] == [{"\\Seen"}, {"\\Seen"}] and flags[2] == set()
        assert seen.uid not in [int(m["uid"]) for m in out["messages"]]
        # Again: only the garbage is unseen; nothing is received twice.
        r = runner.invoke(app, ["mail", "fetch", "--imap", url])
        assert r.exit_code == 1 and "1 message(s), 1 failed" in r.stdout
    customer, emails, contact, inbound = _state(mailshop)
    assert customer.last_reply_at is not None and contact.bounced is True
    assert emails["<reminder-1@shop.example>"].status == EmailStatus.BOUNCED
    assert emails["<reminder-1@shop.example>"].replied_at is not None
    assert [i.kind.value for i in inbound] == ["reply", "bounce"]


def test_fetch_moves_messages_and_reads_the_url_from_the_environment(mailshop, runner, monkeypatch):
    messages = {"INBOX": [reply(in_reply_to="<reminder-2@shop.example>")], "Processed": []}
    with ImapServer("ar", "secret", messages) as server:
        monkeypatch.setenv("ARPOLICY_IMAP_URL", f"imap://ar:secret@127.0.0.1:{server.port}")
        r = runner.invoke(app, ["mail", "fetch", "--move-to", "Processed", "--since", "2026-11-01"])
        assert r.exit_code == 0, r.output
        assert "1 message(s), 0 failed" in r.stdout and "reply, customer" in r.stdout
        assert server.boxes["INBOX"] == [] and len(server.boxes["Processed"]) == 1
        assert any(c.startswith("UID SEARCH UNSEEN SINCE 01-Nov-2026") for c in server.commands)
        assert "EXPUNGE" in server.commands
        r = runner.invoke(app, ["mail", "fetch", "--move-to", "Nowhere"])
        assert r.exit_code == 0 and "0 message(s)" in r.stdout


def test_fetch_reports_a_bad_login_and_a_bad_url(mailshop, runner):
    with ImapServer("ar", "secret", {"INBOX": []}) as server:
        url = f"imap://ar:wrong@127.0.0.1:{server.port}/INBOX"
        r = runner.invoke(app, ["mail", "fetch", "--imap", url])
        assert r.exit_code == 2 and "refused the login of ar" in r.output
        assert "wrong" not in r.output
        r = runner.invoke(
            app, ["mail", "fetch", "--imap", f"imap://ar:secret@127.0.0.1:{server.port}/Missing"]
        )
        assert r.exit_code == 2 and "no mailbox 'Missing'" in r.output
    r = runner.invoke(app, ["mail", "fetch", "--imap", "https://example.com/INBOX"])
    assert r.exit_code == 2 and "scheme is 'https'" in r.output
    r = runner.invoke(app, ["mail", "fetch", "--imap", "imaps://host.example/INBOX"])
    assert r.exit_code == 2 and "needs a host, a user and a password" in r.output
    r = runner.invoke(app, ["mail", "fetch"], env={"ARPOLICY_IMAP_URL": ""})
    assert r.exit_code == 2 and "no IMAP mailbox given" in r.output
    r = runner.invoke(app, ["mail", "fetch", "--imap", "imap://a:b@127.0.0.1:1/INBOX"])
    assert r.exit_code == 2 and "cannot connect to 127.0.0.1:1" in r.output
