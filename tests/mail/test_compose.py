"""The MIME message of an outgoing email: complete headers, UTF-8 that survives the
wire, HTML as an alternative, a subject that reads back exactly."""

from __future__ import annotations

from datetime import UTC, datetime
from email import message_from_bytes, policy
from email.utils import parsedate_to_datetime

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from arpolicy.exceptions import ValidationError
from arpolicy.mail import compose
from arpolicy.mail.headers import fold_text
from tests.mail.support import outgoing, subject_read_back

AT = datetime(2026, 11, 23, 9, 30, tzinfo=UTC)


def _roundtrip(msg):
    return message_from_bytes(msg.as_bytes(), policy=policy.default)


def test_headers_are_complete_and_utf8_survives_the_wire():
    email = outgoing(
        subject="Relance : facture échue – Zahlungserinnerung für Müller",
        cc=["Zoë Lefèvre <zoe@example.fr>"],
        key="3:second:7:1",
        message_id="<abc.123@mail.arpolicy.test>",
    )
    raw = compose(email, date=AT).as_bytes()
    assert raw.isascii()  # encoded words and quoted-printable: any server takes it
    got = message_from_bytes(raw, policy=policy.default)
    assert got["From"].addresses[0].display_name == "Buchhaltung Müller GmbH"
    assert got["From"].addresses[0].addr_spec == "ar@mueller.example"
    assert got["To"].addresses[0].display_name == "Jürgen Groß"
    assert got["Cc"].addresses[0].display_name == "Zoë Lefèvre"
    assert got["Reply-To"].addresses[0].addr_spec == "ar-replies@mueller.example"
    assert str(got["Subject"]) == "Relance : facture échue – Zahlungserinnerung für Müller"
    assert parsedate_to_datetime(str(got["Date"])) == AT
    assert got["Message-ID"] == "<abc.123@mail.arpolicy.test>"
    assert got["Auto-Submitted"] == "auto-generated"
    assert got["X-Arpolicy-Key"] == "3:second:7:1"
    assert got.get_content_type() == "text/plain"
    assert got.get_content_charset() == "utf-8"
    assert got.get_content() == email.text_body


def test_html_goes_as_an_alternative_to_the_text():
    email = outgoing(html_body="<p>Bitte zahlen Sie <b>1.234,56 €</b>.</p>", cc=[], reply_to=None)
    got = _roundtrip(compose(email, date=AT))
    assert got.get_content_type() == "multipart/alternative"
    assert "Cc" not in got and "Reply-To" not in got
    plain, html = got.iter_parts()
    assert (plain.get_content_type(), html.get_content_type()) == ("text/plain", "text/html")
    assert plain.get_content_charset() == html.get_content_charset() == "utf-8"
    assert plain.get_content() == email.text_body
    assert html.get_content().strip() == "<p>Bitte zahlen Sie <b>1.234,56 €</b>.</p>"


def test_a_line_break_in_a_header_is_refused_and_says_where():
    with pytest.raises(ValidationError) as err:
        compose(outgoing(subject="Hallo\r\nBcc: everyone@example.com"), date=AT)
    assert err.value.where == "emails[42].subject" and "line break" in err.value.message
    with pytest.raises(ValidationError) as err:
        compose(
            outgoing(to=["a@example.com\nBcc: b@example.com"], where="notifications[3]"), date=AT
        )
    assert err.value.where == "notifications[3].to"


# ------------------------------------------------------------------------ the subject
def test_a_german_subject_folded_before_an_encoded_word_gains_no_space():
    subject = "Zahlungserinnerung von Demo Merchant: Rechnung INV-2026-000797 ist überfällig"
    read, decoded, header = subject_read_back(subject)
    assert read == decoded == subject  # was "... ist  überfällig"
    assert b"\n " in header and all(len(x) <= 78 for x in header.split(b"\n"))


def test_a_long_ascii_subject_is_not_folded_after_the_colon():
    subject = "Payment reminder from Demo Merchant: invoice INV-2026-001043 is overdue"
    read, decoded, header = subject_read_back(subject)
    assert read == decoded == subject  # was " Payment reminder ..." (folded after "Subject:")
    assert header.startswith(b"Payment reminder")


@settings(max_examples=300, deadline=None)
@given(
    st.lists(
        st.sampled_from(
            [
                "ist",
                "überfällig",
                "Rechnung",
                "INV-2026-000797",
                "–",
                "1.234,56\xa0€",
                "échue",
                "Société",
                "a",
                "Ωμέγα",
                "日本語",
                "x" * 40,
                "=?utf-8?q?x?=",
            ]
        ),
        min_size=1,
        max_size=30,
    ),
    st.integers(30, 100),
)
def test_folded_text_unfolds_and_decodes_to_the_text(words, width):
    text = " ".join(words)
    folded = fold_text("Subject", text, width)
    assert folded.isascii() and "\n\n" not in folded
    lines = folded.rstrip("\n").split("\n")
    assert all(line.startswith(" ") for line in lines[1:])
    unfolded = folded.rstrip("\n").replace("\n", "")
    parsed = message_from_bytes(unfolded.encode() + b"\n\nx", policy=policy.default)
    assert str(parsed["Subject"]) == text
