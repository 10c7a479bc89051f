"""Reading an IMAP mailbox: the URL, and a real (test) IMAP server read, flagged and moved."""

from __future__ import annotations

from datetime import date

import pytest

from arpolicy.exceptions import ValidationError
from arpolicy.mail.imap import ImapError, ImapMailbox, parse_imap_url
from tests.engagement.imap_server import ImapServer
from tests.engagement.inbound_support import reply


def test_parse_imap_url():
    url = parse_imap_url("imaps://ann%40x.example:p%2Fw@mail.example.com/Replies%20AR")
    assert (url.secure, url.host, url.port, url.user, url.password, url.mailbox) == (
        True,
        "mail.example.com",
        993,
        "ann@x.example",
        "p/w",
        "Replies AR",
    )
    assert url.shown() == "imaps://ann@x.example@mail.example.com:993/Replies AR"
    assert parse_imap_url("imap://a:b@h:1143").mailbox == "INBOX"
    with pytest.raises(ValidationError) as err:
        parse_imap_url("imap://a:b@h:notaport/INBOX", where="--imap")
    assert err.value.where == "--imap"


def test_unseen_messages_are_fetched_then_flagged_or_moved():
    first, second = reply(message_id="<a@x.example>"), reply(message_id="<b@x.example>")
    with ImapServer("ar", "secret", {"INBOX": [first, second], "Done": []}) as server:
        server.add("INBOX", reply(message_id="<old@x.example>"), {"\\Seen"})
        url = parse_imap_url(f"imap://ar:secret@127.0.0.1:{server.port}/INBOX")
        with ImapMailbox(url) as box:
            uids = box.unseen(since=date(2026, 11, 1))
            assert [box.fetch(u) for u in uids] == [first, second]
            box.done(uids[0], None)
            box.done(uids[1], "Done")
        assert [m.flags for m in server.boxes["INBOX"]] == [{"\\Seen"}, {"\\Seen"}]
        assert len(server.boxes["Done"]) == 1
        with ImapMailbox(url) as box:
            assert box.unseen() == []
            with pytest.raises(ImapError, match="cannot move the message to 'Nowhere'"):
                box.done(uids[0], "Nowhere", where="--move-to")


def test_a_refused_login_and_a_missing_mailbox_are_imap_errors():
    with ImapServer("ar", "secret", {"INBOX": []}) as server:
        wrong = parse_imap_url(f"imap://ar:wrong@127.0.0.1:{server.port}/INBOX")
        with pytest.raises(ImapError, match="refused the login of ar"), ImapMailbox(wrong):
            pass
        missing = parse_imap_url(f"imap://ar:secret@127.0.0.1:{server.port}/Missing")
        with pytest.raises(ImapError, match="no mailbox 'Missing'"), ImapMailbox(missing):
            pass
