"""Outgoing mail: the transports that take a built message (:mod:`arpolicy.mail.compose`
builds it). A transport comes from a URL (:func:`open_transport`, ``ARPOLICY_MAIL_URL``):

``maildir://PATH``
    every message a file in a Maildir (created if missing); a message appears in ``new/``
    at once, by a rename, as Maildir does. The embedded default.
``smtp://[user:password@]host[:port][?starttls=true&timeout=30]``
    SMTP (port 25 by default), STARTTLS when asked, AUTH when a user is given.
``smtps://[user:password@]host[:port][?timeout=30]``
    SMTP over TLS from the first byte (port 465 by default).

A transport is a context manager: one SMTP connection serves a whole batch. ``send``
either returns (the server took the message) or raises :class:`MailError`, which says
whether the failure is permanent (5xx for every recipient: retrying cannot help) or
transient (4xx, no connection, a timeout, a refused login: try again later).
"""

from __future__ import annotations

import mailbox
import smtplib
import socket
import ssl
from dataclasses import dataclass
from email.message import EmailMessage
from email.utils import getaddresses, parseaddr
from pathlib import Path
from types import TracebackType
from typing import Protocol
from urllib.parse import parse_qsl, unquote, urlsplit

from arpolicy.exceptions import ValidationError

URL_HELP = (
    "use maildir://./var/mail, smtp://user:password@host:587?starttls=true "
    "or smtps://user:password@host:465 (see docs/mail.md)"
)


def envelope(message: EmailMessage) -> tuple[str, list[str]]:
    """(sender, recipients) of ``message``: the addresses of From, and of To and Cc."""
    sender = parseaddr(str(message["From"]))[1]
    recipients = [
        a
        for _, a in getaddresses(
            [str(v) for v in message.get_all("To", []) + message.get_all("Cc", [])]
        )
        if a
    ]
    return sender, recipients


class MailError(Exception):
    """The transport did not take the message."""

    def __init__(self, detail: str, *, permanent: bool, connection: bool = False) -> None:
        super().__init__(detail)
        self.detail = detail
        self.permanent = permanent
        """True when retrying cannot help (the server refused it for good)."""
        self.connection = connection
        """True when the transport itself is unusable now (down, refused login): the
        batch stops and the rest is tried later."""


class Transport(Protocol):
    url: str
    """The URL it came from, without any password (for logs and reports)."""

    def __enter__(self) -> Transport: ...

    def __exit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None: ...

    def send(self, message: EmailMessage) -> str | None:
        """Hand ``message`` over; a note on recipients the server refused while taking it
        for the others, or None. Raises MailError."""
        ...


class MaildirTransport:
    def __init__(self, path: Path) -> None:
        self.path = path
        self.url = f"maildir://{path}"
        self._box: mailbox.Maildir | None = None

    def __enter__(self) -> MaildirTransport:
        return self

    def __exit__(self, *exc: object) -> None:
        self._box = None

    def send(self, message: EmailMessage) -> str | None:
        try:
            if self._box is None:
                for sub in ("tmp", "new", "cur"):  # also in a folder made beforehand, empty
                    (self.path / sub).mkdir(parents=True, exist_ok=True)
                self._box = mailbox.Maildir(self.path, create=True)
            self._box.add(message.as_bytes())  # written to tmp/, then renamed into new/
        except OSError as exc:
            raise MailError(
                f"maildir {self.path}: {exc}", permanent=False, connection=True
            ) from None
        return None


@dataclass(frozen=True)
class SmtpSettings:
    host: str
    port: int
    implicit_tls: bool
    starttls: bool
    timeout: float
    user: str | None = None
    password: str | None = None


class SmtpTransport:
    """One connection, opened at the first message and reused until the batch ends."""

    def __init__(self, settings: SmtpSettings) -> None:
        self.settings = settings
        scheme = "smtps" if settings.implicit_tls else "smtp"
        who = f"{settings.user}@" if settings.user else ""
        self.url = f"{scheme}://{who}{settings.host}:{settings.port}"
        self._conn: smtplib.SMTP | None = None

    def __enter__(self) -> SmtpTransport:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        conn, self._conn = self._conn, None
        if conn is None:
            return
        try:
            conn.quit()
        except (smtplib.SMTPException, OSError):
            conn.close()

    def send(self, message: EmailMessage) -> str | None:
        sender, recipients = envelope(message)
        conn = self._connect()
        try:
            refused = conn.send_message(message, sender, recipients)
        except smtplib.SMTPRecipientsRefused as exc:  # every recipient
            codes = [code for code, _ in exc.recipients.values()]
            detail = "; ".join(f"{a}: {c} {_text(m)}" for a, (c, m) in exc.recipients.items())
            raise MailError(
                f"recipients refused: {detail}", permanent=all(500 <= c < 600 for c in codes)
            ) from None
        except smtplib.SMTPResponseException as exc:  # sender refused, data refused, ...
            self._drop_if_dead()
            raise _classified(exc, self.url) from None
        except (smtplib.SMTPException, OSError) as exc:
            self._drop()
            raise MailError(
                f"{self.url}: {_describe(exc)}", permanent=False, connection=True
            ) from None
        if refused:
            return "refused: " + "; ".join(f"{a}: {c} {_text(m)}" for a, (c, m) in refused.items())
        return None

    def _connect(self) -> smtplib.SMTP:
        if self._conn is not None:
            return self._conn
        s = self.settings
        local = socket.gethostname() or "localhost"
        try:
            if s.implicit_tls:
                conn: smtplib.SMTP = smtplib.SMTP_SSL(
                    s.host,
                    s.port,
                    local_hostname=local,
                    timeout=s.timeout,
                    context=ssl.create_default_context(),
                )
            else:
                conn = smtplib.SMTP(s.host, s.port, local_hostname=local, timeout=s.timeout)
            try:
                conn.ehlo()
                if s.starttls:
                    conn.starttls(context=ssl.create_default_context())
                    conn.ehlo()
                if s.user is not None:
                    conn.login(s.user, s.password or "")
            except BaseException:
                conn.close()
                raise
        except smtplib.SMTPAuthenticationError as exc:
            raise MailError(
                f"{self.url}: login refused ({exc.smtp_code} {_text(exc.smtp_error)}); "
                "check the user and password in the mail URL",
                permanent=False,
                connection=True,
            ) from None
        except (smtplib.SMTPException, OSError) as exc:
            raise MailError(
                f"{self.url}: cannot connect: {_describe(exc)}", permanent=False, connection=True
            ) from None
        self._conn = conn
        return conn

    def _drop(self) -> None:
        conn, self._conn = self._conn, None
        if conn is not None:
            conn.close()

    def _drop_if_dead(self) -> None:
        """After a refusal the server may still talk (smtplib reset the transaction); a
        connection that fails a NOOP is dropped and the next message opens a new one."""
        if self._conn is None:
            return
        try:
            code, _ = self._conn.noop()
        except (smtplib.SMTPException, OSError):
            self._drop()
            return
        if code != 250:
            self._drop()


def _classified(exc: smtplib.SMTPResponseException, url: str) -> MailError:
    code = exc.smtp_code
    detail = f"{code} {_text(exc.smtp_error)}"
    if isinstance(exc, smtplib.SMTPSenderRefused):
        detail = f"sender {exc.sender} refused: {detail}"
    elif isinstance(exc, smtplib.SMTPDataError):
        detail = f"message refused: {detail}"
    if 500 <= code < 600:
        return MailError(detail, permanent=True)
    return MailError(detail, permanent=False, connection=code == 421)


def _text(message: bytes | str) -> str:
    return message.decode("utf-8", "replace") if isinstance(message, bytes) else str(message)


def _describe(exc: BaseException) -> str:
    text = str(exc) or type(exc).__name__
    return text if type(exc).__name__ in text else f"{type(exc).__name__}: {text}"


def open_transport(url: str) -> Transport:
    """The transport ``url`` names (nothing is connected until the first message).
    Raises ValidationError naming what is wrong with the URL and how to write it."""
    try:
        parts = urlsplit(url.strip())
        port = parts.port
    except ValueError as exc:
        raise _bad(url, f"it cannot be read ({exc})") from None
    if parts.scheme == "maildir":
        if parts.query or parts.username:
            raise _bad(url, "a maildir URL takes a path only")
        path = unquote(parts.netloc + parts.path)
        if not path:
            raise _bad(url, "the maildir path is missing")
        return MaildirTransport(Path(path).expanduser())
    if parts.scheme not in ("smtp", "smtps"):
        raise _bad(url, f"the scheme {parts.scheme or '(none)'!r} is not maildir, smtp or smtps")
    if not parts.hostname:
        raise _bad(url, "the host is missing")
    if parts.path not in ("", "/"):
        raise _bad(url, f"an SMTP URL has no path (got {parts.path!r})")
    params = dict(parse_qsl(parts.query, keep_blank_values=True))
    unknown = sorted(set(params) - {"starttls", "timeout"})
    if unknown:
        raise _bad(url, f"unknown parameter {', '.join(unknown)} (known: starttls, timeout)")
    starttls = _flag(url, params.get("starttls", "false"))
    if starttls and parts.scheme == "smtps":
        raise _bad(url, "smtps is TLS from the start: starttls does not apply")
    user = unquote(parts.username) if parts.username is not None else None
    if user is not None and parts.password is None:
        raise _bad(url, "a user is given without a password (user:password@host)")
    return SmtpTransport(
        SmtpSettings(
            host=parts.hostname,
            port=port or (465 if parts.scheme == "smtps" else 25),
            implicit_tls=parts.scheme == "smtps",
            starttls=starttls,
            timeout=_timeout(url, params.get("timeout", "30")),
            user=user,
            password=unquote(parts.password) if parts.password is not None else None,
        )
    )


def _flag(url: str, value: str) -> bool:
    lowered = value.lower()
    if lowered in ("true", "1", "yes"):
        return True
    if lowered in ("false", "0", "no"):
        return False
    raise _bad(url, f"starttls={value!r} is not true or false")


def _timeout(url: str, value: str) -> float:
    try:
        seconds = float(value)
    except ValueError:
        seconds = -1.0
    if not 0 < seconds <= 600:
        raise _bad(url, f"timeout={value!r} is not a number of seconds between 0 and 600")
    return seconds


def _bad(url: str, what: str) -> ValidationError:
    shown = _redacted(url)
    return ValidationError(
        f"{shown!r} is not a usable mail URL: {what}", where="mail URL", fix=URL_HELP
    )


def redacted(url: str) -> str:
    """``url`` with any password replaced by ``***``, to show it (Settings > Mail)."""
    return _redacted(url)


def _redacted(url: str) -> str:
    """``url`` with any password replaced, for error messages."""
    try:
        parts = urlsplit(url)
        if parts.password is None:
            return url
        netloc = parts.netloc.replace(f":{parts.password}@", ":***@", 1)
        return parts._replace(netloc=netloc).geturl()
    except ValueError:
        return url


__all__ = [
    "MailError",
    "MaildirTransport",
    "SmtpSettings",
    "SmtpTransport",
    "Transport",
    "envelope",
    "open_transport",
    "redacted",
]
