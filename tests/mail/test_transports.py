"""Mail URLs and the transports: a Maildir on disk and a real SMTP server (aiosmtpd)
that takes, refuses or asks for a login."""

from __future__ import annotations

import mailbox
from datetime import UTC, datetime

import pytest

from arpolicy.exceptions import ValidationError
from arpolicy.mail import MailError, compose, open_transport
from arpolicy.mail.transports import MaildirTransport, SmtpTransport
from tests.engagement.helpers import Sink, free_port
from tests.mail.support import outgoing

AT = datetime(2026, 11, 23, 9, 30, tzinfo=UTC)


@pytest.mark.parametrize(
    ("url", "host", "port", "tls", "starttls", "user", "password", "timeout"),
    [
        ("smtp://mail.example.com", "mail.example.com", 25, False, False, None, None, 30.0),
        (
            "smtp://u%40x.de:p%3Ass%2F@h:587?starttls=true&timeout=5",
            "h",
            587,
            False,
            True,
            "u@x.de",
            "p:ss/",
            5.0,
        ),
        (
            "smtps://ar:secret@smtp.example.com",
            "smtp.example.com",
            465,
            True,
            False,
            "ar",
            "secret",
            30.0,
        ),
    ],
)
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
    first, second = outgoing(), outgoing()
    with transport:
        transport.send(compose(first, date=AT))
        transport.send(compose(second, date=AT))
    box = mailbox.Maildir(tmp_path / "out" / "mail", create=False)
    assert sorted(m["Message-ID"] for m in box) == sorted([first.message_id, second.message_id])
    assert len(list((tmp_path / "out" / "mail" / "new").iterdir())) == 2
    assert list((tmp_path / "out" / "mail" / "tmp").iterdir()) == []


def test_smtp_sends_to_to_and_cc_over_one_connection_per_batch():
    emails = [outgoing(cc=["Zoë <zoe@example.fr>"]) for _ in range(3)]
    with Sink() as sink:
        transport = open_transport(sink.url())
        with transport:
            for e in emails:
                assert transport.send(compose(e, date=AT)) is None
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
            good.send(compose(outgoing(), date=AT))
        bad = open_transport(sink.url("ar", "wrong"))
        with bad, pytest.raises(MailError) as err:
            bad.send(compose(outgoing(), date=AT))
    assert len(sink.received) == 1
    assert not err.value.permanent and err.value.connection
    assert "login refused (535" in err.value.detail


def test_smtp_refusals_are_classified():
    with Sink() as sink:
        e = outgoing(cc=["ok@example.com"])
        transport = open_transport(sink.url())
        with transport:
            sink.rcpt_replies[e.to[0].split("<")[1].rstrip(">")] = "550 5.1.1 no such user"
            sink.rcpt_replies["ok@example.com"] = "550 5.1.1 no such user"
            with pytest.raises(MailError) as every:
                transport.send(compose(e, date=AT))
            sink.rcpt_replies["ok@example.com"] = "450 4.2.0 mailbox busy"
            with pytest.raises(MailError) as mixed:
                transport.send(compose(e, date=AT))
            del sink.rcpt_replies["ok@example.com"]
            note = transport.send(compose(e, date=AT))  # one of two refused: sent
            sink.data_replies.extend(["451 4.3.0 try again later", "554 5.6.0 rejected"])
            with pytest.raises(MailError) as later:
                transport.send(compose(outgoing(), date=AT))
            with pytest.raises(MailError) as never:
                transport.send(compose(outgoing(), date=AT))
            transport.send(compose(outgoing(), date=AT))  # the connection still serves
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
        transport.send(compose(outgoing(), date=AT))
    assert not err.value.permanent and err.value.connection
    assert "cannot connect" in err.value.detail
