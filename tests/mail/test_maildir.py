"""A maildir folder made beforehand (empty, or with only some of tmp/new/cur) takes mail:
delivery does not fail and back off (issue 12, item 15)."""

from __future__ import annotations

import mailbox
from datetime import UTC, datetime

import pytest

from arpolicy.mail import compose, open_transport
from tests.mail.support import outgoing

AT = datetime(2026, 11, 23, 9, 30, tzinfo=UTC)


@pytest.mark.parametrize("made", [(), ("new",), ("tmp", "cur")], ids=["empty", "new", "tmp+cur"])
def test_a_folder_made_beforehand_takes_mail(tmp_path, made):
    folder = tmp_path / "mail"
    folder.mkdir()
    for sub in made:
        (folder / sub).mkdir()
    email = outgoing()
    with open_transport(f"maildir://{folder}") as transport:
        transport.send(compose(email, date=AT))
    box = mailbox.Maildir(folder, create=False)
    assert [m["Message-ID"] for m in box] == [email.message_id]
    assert sorted(p.name for p in folder.iterdir()) == ["cur", "new", "tmp"]
