"""The message the worker hands over for a stored reminder email: every column in its
header, dated at the hand-over (or the decision), a bad header named by the row."""

from __future__ import annotations

from datetime import UTC, datetime
from email import message_from_bytes, policy
from email.utils import parsedate_to_datetime

import pytest

from arpolicy.exceptions import ValidationError
from arpolicy.worker.messages import email_message
from tests.engagement.helpers import email_row

AT = datetime(2026, 11, 23, 9, 30, tzinfo=UTC)


def _email(**kw):
    e = email_row(1, 7, **kw)
    e.id = 42
    return e


def test_the_row_becomes_the_message():
    email = _email(
        cc=["Zoë Lefèvre <zoe@example.fr>"], key="3:second:7:1", html_body="<p>Bitte zahlen.</p>"
    )
    got = message_from_bytes(email_message(email, date=AT).as_bytes(), policy=policy.default)
    assert got["From"].addresses[0].addr_spec == "ar@mueller.example"
    assert got["To"].addresses[0].display_name == "Jürgen Groß"
    assert got["Cc"].addresses[0].display_name == "Zoë Lefèvre"
    assert got["Reply-To"].addresses[0].addr_spec == "ar-replies@mueller.example"
    assert str(got["Subject"]) == email.subject
    assert got["Message-ID"] == email.message_id and got["X-Arpolicy-Key"] == "3:second:7:1"
    assert parsedate_to_datetime(str(got["Date"])) == AT
    plain, html = got.iter_parts()
    assert plain.get_content() == email.text_body
    assert html.get_content().strip() == "<p>Bitte zahlen.</p>"


def test_date_defaults_to_the_decision_and_a_line_break_names_the_row():
    email = _email()
    assert parsedate_to_datetime(str(email_message(email)["Date"])) == email.decided_at
    with pytest.raises(ValidationError) as err:
        email_message(_email(subject="Hallo\r\nBcc: everyone@example.com"))
    assert err.value.where == "emails[42].subject" and "line break" in err.value.message
    assert "decide the email again" in (err.value.fix or "")
