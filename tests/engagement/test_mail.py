"""The MIME message of an email, mail URLs, and the transports: a Maildir on disk and a
real SMTP server (aiosmtpd) that takes, refuses or asks for a login."""

from __future__ import annotations

import mailbox
import re
from dataclasses import replace
from datetime import UTC, date, datetime
from email import message_from_bytes, policy
from email.header import decode_header, make_header
from email.utils import parsedate_to_datetime

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from arpolicy.engagement.mail import (
    MaildirTransport,
    MailError,
    SmtpTransport,
    build_message,
    open_transport,
)
from arpolicy.engagement.mail_headers import fold_text
from arpolicy.engagement.templates import BUILTINS, render, sample_context
from arpolicy.exceptions import ValidationError
from tests.engagement.helpers import Sink, email_row, free_port

AT = datetime(2026, 11, 23, 9, 30, tzinfo=UTC)


def _email(**kw):
    e = email_row(1, 7, **kw)
    e.id = 42
    return e


def _roundtrip(msg):
    return message_from_bytes(msg.as_bytes(), policy=policy.default)


def test_headers_are_complete_and_utf8_survives_the_wire():
    email = _email(
        subject="Relance : facture échue – Zahlungserinnerung für Müller",
        cc=["Zoë Lefèvre <zoe@example.fr>"],
        key="3:second:7:1",
        message_id="<abc.123@mail.arpolicy.test>",
    )
    raw = build_message(email, date=AT).as_bytes()
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
    email = _email(html_body="<p>Bitte zahlen Sie <b>1.234,56 €</b>.</p>", cc=[], reply_to=None)
    got = _roundtrip(build_message(email, date=AT))
    assert got.get_content_type() == "multipart/alternative"
    assert "Cc" not in got and "Reply-To" not in got
    plain, html = got.iter_parts()
    assert (plain.get_content_type(), html.get_content_type()) == ("text/plain", "text/html")
    assert plain.get_content_charset() == html.get_content_charset() == "utf-8"
    assert plain.get_content() == email.text_body
    assert html.get_content().strip() == "<p>Bitte zahlen Sie <b>1.234,56 €</b>.</p>"


def test_date_defaults_to_the_decision_and_a_line_break_is_refused():
    email = _email()
    assert parsedate_to_datetime(str(build_message(email)["Date"])) == email.decided_at
    with pytest.raises(ValidationError) as err:
        build_message(_email(subject="Hallo\r\nBcc: everyone@example.com"))
    assert err.value.where == "emails[42].subject" and "line break" in err.value.message


# ------------------------------------------------------------------------ the subject
def _subject_read_back(subject: str) -> tuple[str, str, bytes]:
    """The subject as a reader gets it: under the default policy, and by decode_header
    on the unfolded raw header (compat32); and the raw header."""
    raw = build_message(_email(subject=subject), date=AT).as_bytes()
    header = raw.split(b"\n\n")[0].split(b"\nSubject: ")[1].split(b"\nDate: ")[0]
    compat = message_from_bytes(raw)  # the old API: unfold, then decode_header
    unfolded = re.sub(r"\r?\n(?=[ \t])", "", compat["Subject"])
    decoded = str(make_header(decode_header(unfolded)))
    return str(_roundtrip_raw(raw)["Subject"]), decoded, header


def _roundtrip_raw(raw: bytes):
    return message_from_bytes(raw, policy=policy.default)


def test_a_german_subject_folded_before_an_encoded_word_gains_no_space():
    subject = "Zahlungserinnerung von Demo Merchant: Rechnung INV-2026-000797 ist überfällig"
    read, decoded, header = _subject_read_back(subject)
    assert read == decoded == subject  # was "... ist  überfällig"
    assert b"\n " in header and all(len(x) <= 78 for x in header.split(b"\n"))


def test_a_long_ascii_subject_is_not_folded_after_the_colon():
    subject = "Payment reminder from Demo Merchant: invoice INV-2026-001043 is overdue"
    read, decoded, header = _subject_read_back(subject)
    assert read == decoded == subject  # was " Payment reminder ..." (folded after "Subject:")
    assert header.startswith(b"Payment reminder")


@pytest.mark.parametrize("language", ["de", "fr", "en"])
@pytest.mark.parametrize("name", BUILTINS)
def test_every_builtin_subject_reads_back_exactly(name, language):
    sample = sample_context(date(2026, 3, 16))
    tenants = ["Demo Merchant", "Schäfer Feinmechanik GmbH", "Société Générale d'Équipement",
               "Müller & Söhne Industrieausrüstung und Präzisionswerkzeuge GmbH & Co. KG"]  # fmt: skip
    for tenant in tenants:
        for invoices in (sample.invoices[:1], sample.invoices):
            ctx = replace(sample, tenant_name=tenant, invoices=invoices)
            subject = render(name, ctx, language).subject
            read, decoded, header = _subject_read_back(subject)
            assert read == decoded == subject, header
            assert header.isascii()


@settings(max_examples=300, deadline=None)
@given(st.lists(st.sampled_from(["ist", "überfällig", "Rechnung", "INV-2026-000797", "–",
                                 "1.234,56\xa0€", "échue", "Société", "a", "Ωμέγα", "日本語",
                                 "x" * 40, "=?utf-8?q?x?="]), min_size=1, max_size=30),
       st.integers(30, 100))  # fmt: skip
def test_folded_text_unfolds_and_decodes_to_the_text(words, width):
    text = " ".join(words)
    folded = fold_text("Subject", text, width)
    assert folded.isascii() and "\n\n" not in folded
    lines = folded.rstrip("\n").split("\n")
    assert all(line.startswith(" ") for line in lines[1:])
    unfolded = folded.rstrip("\n").replace("\n", "")
    parsed = message_from_bytes(unfolded.encode() + b"\n\nx", policy=policy.default)
    assert str(parsed["Subject"]) == text


@pytest.mark.parametrize(
    ("url", "host", "port", "tls", "starttls", "user", "password", "timeout"),
    [
        ("smtp://mail.example.com", "mail.example.com", 25, False, False, None, None, 30.0),
        ("smtp://u%40x.de:p%3Ass%2F@h:587?starttls=true&timeout=5", "h", 587, False, True,
         "u@x.de", "p:ss/", 5.0),
        ("smtps://ar:secret@smtp.example.com", "smtp.example.com", 465, True, False, "ar",
         "secret", 30.0),
    ],
)  # fmt: skip
def test_smtp_urls(url, host, port, tls, starttls, user, password, timeout):
    t = open_transport(url)
    assert isinstance(t, SmtpTransport)
    s = t.settings
    assert (s.host, s.port, s.implicit_tls, s.starttls) == (host, port, tls, starttls)
    assert (s.user, s.password, s.timeout) == (user, password, timeout)
    assert password is None or password not in t.url


def test_maildir_urls_take_relative_and_absolute_paths(tmp_path):
    relative = open_transport("maildir://./var/mail")
    absolute = open_transport(f"maildir://{tmp_path}/box")
    assert isinstance(relative, MaildirTransport) and isinstance(absolute, MaildirTransport)
    assert str(relative.path) == "var/mail"
    assert absolute.path == tmp_path / "box"


@pytest.mark.parametrize(
    ("url", "what"),
    [
        ("smtpx://h", "'smtpx' is not maildir, smtp or smtps"),
        ("mail.example.com:25", "is not maildir, smtp or smtps"),
        ("smtp://", "the host is missing"),
        ("smtp://h:abc", "cannot be read"),
        ("smtp://h?tls=yes", "unknown parameter tls"),
        ("smtp://h?starttls=maybe", "starttls='maybe' is not true or false"),
        ("smtps://h?starttls=true", "starttls does not apply"),
        ("smtp://user@h", "without a password"),
        ("smtp://h?timeout=0", "timeout='0'"),
        ("smtp://h/inbox", "no path"),
        ("maildir://", "path is missing"),
        ("maildir://./x?y=1", "a path only"),
    ],
)
def test_a_bad_url_says_what_is_wrong_and_how_to_write_it(url, what):
    with pytest.raises(ValidationError) as err:
        open_transport(url)
    assert what in err.value.message
    assert err.value.where == "mail URL" and "smtp://user:password@host" in (err.value.fix or "")


def test_a_password_is_not_repeated_in_the_error():
    with pytest.raises(ValidationError) as err:
        open_transport("smtp://ar:hunter2@h?bogus=1")
    assert "hunter2" not in str(err.value) and "ar:***@h" in err.value.message


def test_maildir_creates_the_box_and_files_each_message(tmp_path):
    transport = open_transport(f"maildir://{tmp_path}/out/mail")
    first, second = _email(), _email()
    with transport:
        transport.send(build_message(first, date=AT))
        transport.send(build_message(second, date=AT))
    box = mailbox.Maildir(tmp_path / "out" / "mail", create=False)
    assert sorted(m["Message-ID"] for m in box) == sorted([first.message_id, second.message_id])
    assert len(list((tmp_path / "out" / "mail" / "new").iterdir())) == 2
    assert list((tmp_path / "out" / "mail" / "tmp").iterdir()) == []


def test_smtp_sends_to_to_and_cc_over_one_connection_per_batch():
    emails = [_email(cc=["Zoë <zoe@example.fr>"]) for _ in range(3)]
    with Sink() as sink:
        transport = open_transport(sink.url())
        with transport:
            for e in emails:
                assert transport.send(build_message(e, date=AT)) is None
    assert sink.message_ids() == [e.message_id for e in emails]
    first = sink.received[0]
    assert first.mail_from == "ar@mueller.example"
    assert first.rcpt_tos == [emails[0].to[0].split("<")[1].rstrip(">"), "zoe@example.fr"]
    assert str(first.message["Subject"]) == emails[0].subject
    assert len({r.peer for r in sink.received}) == 1  # one connection for the batch


@pytest.mark.filterwarnings("ignore:Requiring AUTH while not requiring TLS")
def test_smtp_login_is_used_and_a_refused_login_is_transient():
    with Sink(login=("ar", "p@ss:1")) as sink:
        good = open_transport(sink.url("ar", "p%40ss%3A1"))
        with good:
            good.send(build_message(_email(), date=AT))
        bad = open_transport(sink.url("ar", "wrong"))
        with bad, pytest.raises(MailError) as err:
            bad.send(build_message(_email(), date=AT))
    assert len(sink.received) == 1
    assert not err.value.permanent and err.value.connection
    assert "login refused (535" in err.value.detail


def test_smtp_refusals_are_classified():
    with Sink() as sink:
        e = _email(cc=["ok@example.com"])
        transport = open_transport(sink.url())
        with transport:
            sink.rcpt_replies[e.to[0].split("<")[1].rstrip(">")] = "550 5.1.1 no such user"
            sink.rcpt_replies["ok@example.com"] = "550 5.1.1 no such user"
            with pytest.raises(MailError) as every:
                transport.send(build_message(e, date=AT))
            sink.rcpt_replies["ok@example.com"] = "450 4.2.0 mailbox busy"
            with pytest.raises(MailError) as mixed:
                transport.send(build_message(e, date=AT))
            del sink.rcpt_replies["ok@example.com"]
            note = transport.send(build_message(e, date=AT))  # one of two refused: sent
            sink.data_replies.extend(["451 4.3.0 try again later", "554 5.6.0 rejected"])
            with pytest.raises(MailError) as later:
                transport.send(build_message(_email(), date=AT))
            with pytest.raises(MailError) as never:
                transport.send(build_message(_email(), date=AT))
            transport.send(build_message(_email(), date=AT))  # the connection still serves
    assert every.value.permanent and "no such user" in every.value.detail
    assert not mixed.value.permanent
    assert note is not None and note.startswith("refused: ") and "550" in note
    assert not later.value.permanent and not later.value.connection
    assert "451" in later.value.detail
    assert never.value.permanent and "554" in never.value.detail
    assert len(sink.received) == 2


def test_no_server_is_a_transient_connection_error():
    transport = open_transport(f"smtp://127.0.0.1:{free_port()}?timeout=2")
    with transport, pytest.raises(MailError) as err:
        transport.send(build_message(_email(), date=AT))
    assert not err.value.permanent and err.value.connection
    assert "cannot connect" in err.value.detail
