"""Reading a mailbox over IMAP: the unseen messages, each as raw bytes, then flagged seen
or moved to a folder. What a message means is the caller's business (engagement's
:func:`~arpolicy.engagement.inbound.receive` for replies and bounces).

A mailbox is named by a URL, ``imaps://user:password@host[:port]/MAILBOX`` (TLS on 993)
or ``imap://...`` (plain, on 143: local servers), user and password %-encoded::

    with ImapMailbox(parse_imap_url(url)) as box:
        for uid in box.unseen(since=None):
            raw = box.fetch(uid)
            ...
            box.done(uid, move_to=None)  # flag it \\Seen

Errors are :class:`ImapError` (the server: cannot connect, login refused, no such
mailbox) or ValidationError (the URL), each saying what and how to fix it; ``where``
names the option or setting the URL came from in those errors.
"""

from __future__ import annotations

import imaplib
import re
import ssl
from contextlib import suppress
from dataclasses import dataclass
from datetime import date
from typing import Any
from urllib.parse import unquote, urlsplit

from arpolicy.exceptions import ArpolicyError, ValidationError

TIMEOUT = 30
URL_FIX = "write imaps://user:password@host[:port]/MAILBOX (imap:// for plain, local servers)"


@dataclass(frozen=True)
class ImapUrl:
    secure: bool
    host: str
    port: int
    user: str
    password: str
    mailbox: str

    def shown(self) -> str:
        """The URL without the password (for output and logs)."""
        scheme = "imaps" if self.secure else "imap"
        return f"{scheme}://{self.user}@{self.host}:{self.port}/{self.mailbox}"


def parse_imap_url(url: str, *, where: str = "IMAP URL") -> ImapUrl:
    """``imaps://user:password@host[:port]/MAILBOX`` (user and password %-encoded; the
    mailbox INBOX when none is given)."""
    try:
        parts = urlsplit(url.strip())
        port = parts.port
    except ValueError:
        raise ValidationError("the IMAP URL cannot be read", where=where, fix=URL_FIX) from None
    if parts.scheme not in ("imap", "imaps"):
        raise ValidationError(
            f"the IMAP URL's scheme is {parts.scheme or 'missing'!r}", where=where, fix=URL_FIX
        )
    if not parts.hostname or parts.username is None or parts.password is None:
        raise ValidationError(
            "the IMAP URL needs a host, a user and a password", where=where, fix=URL_FIX
        )
    secure = parts.scheme == "imaps"
    return ImapUrl(
        secure=secure,
        host=parts.hostname,
        port=port or (993 if secure else 143),
        user=unquote(parts.username),
        password=unquote(parts.password),
        mailbox=unquote(parts.path.lstrip("/")) or "INBOX",
    )


class ImapError(ArpolicyError):
    status = 502
    type = "imap-error"


class ImapMailbox:
    """One IMAP connection to one mailbox: logged in and the mailbox selected on
    ``__enter__``, logged out on ``__exit__``."""

    def __init__(self, url: ImapUrl, *, where: str = "IMAP URL", timeout: float = TIMEOUT):
        self.url = url
        self.where = where
        self.timeout = timeout
        self._conn: imaplib.IMAP4 | None = None

    def __enter__(self) -> ImapMailbox:
        self._conn = self._connect()
        return self

    def __exit__(self, *exc: object) -> None:
        conn, self._conn = self._conn, None
        if conn is not None:
            with suppress(OSError, imaplib.IMAP4.error):
                conn.logout()

    @property
    def conn(self) -> imaplib.IMAP4:
        if self._conn is None:
            raise RuntimeError("the mailbox is not open: use it in a with block")
        return self._conn

    def _connect(self) -> imaplib.IMAP4:
        url, where = self.url, self.where
        try:
            if url.secure:
                conn: imaplib.IMAP4 = imaplib.IMAP4_SSL(
                    url.host,
                    url.port,
                    ssl_context=ssl.create_default_context(),
                    timeout=self.timeout,
                )
            else:
                conn = imaplib.IMAP4(url.host, url.port, timeout=self.timeout)
        except (OSError, imaplib.IMAP4.error) as exc:
            raise ImapError(
                f"cannot connect to {url.host}:{url.port}: {exc}",
                where=where,
                fix="check the host and port, and that the server speaks IMAP "
                "(imaps:// for TLS on 993, imap:// for plain on 143)",
            ) from None
        try:
            conn.login(url.user, url.password)
        except imaplib.IMAP4.error as exc:
            _logout(conn)
            raise ImapError(
                f"the IMAP server refused the login of {url.user}: {_text(exc)}",
                where=where,
                fix="check the user and password (%-encode special characters in the URL; "
                "some providers need an app password)",
            ) from None
        status, data = conn.select(_quote(url.mailbox))
        if status != "OK":
            _logout(conn)
            raise ImapError(
                f"no mailbox {url.mailbox!r}: {_text(data)}",
                where=where,
                fix="name an existing mailbox after the host (…/INBOX)",
            )
        return conn

    def unseen(self, since: date | None = None) -> list[str]:
        """The UIDs of the unseen messages (received on or after ``since``)."""
        criteria = ["UNSEEN"] + (["SINCE", since.strftime("%d-%b-%Y")] if since else [])
        status, data = self.conn.uid("SEARCH", *criteria)
        if status != "OK":
            raise ImapError(
                f"the IMAP search failed: {_text(data)}",
                where=self.where,
                fix="check the server's log",
            )
        return [u.decode() for chunk in data if isinstance(chunk, bytes) for u in chunk.split()]

    def fetch(self, uid: str) -> bytes | None:
        """The raw message ``uid`` (None when the server returns none)."""
        status, data = self.conn.uid("FETCH", uid, "(RFC822)")
        if status != "OK":
            return None
        for item in data:
            if isinstance(item, tuple) and len(item) == 2 and isinstance(item[1], bytes):
                return item[1]
        return None

    def done(self, uid: str, move_to: str | None, *, where: str = "folder") -> None:
        """Flag message ``uid`` seen, or move it to ``move_to`` (COPY, flag deleted,
        expunge)."""
        conn = self.conn
        if move_to is None:
            conn.uid("STORE", uid, "+FLAGS", "(\\Seen)")
            return
        status, data = conn.uid("COPY", uid, _quote(move_to))
        if status != "OK":
            raise ImapError(
                f"cannot move the message to {move_to!r}: {_text(data)}",
                where=where,
                fix="create the folder first, or only flag the messages seen",
            )
        conn.uid("STORE", uid, "+FLAGS", "(\\Seen \\Deleted)")
        if "UIDPLUS" in conn.capabilities:
            conn.uid("EXPUNGE", uid)
        else:
            conn.expunge()


def _quote(mailbox: str) -> str:
    if re.fullmatch(r"[A-Za-z0-9._/-]+", mailbox):
        return mailbox
    return '"' + mailbox.replace("\\", "\\\\").replace('"', '\\"') + '"'


def _text(value: Any) -> str:
    if isinstance(value, list):
        value = b" ".join(v for v in value if isinstance(v, bytes))
    if isinstance(value, bytes):
        return value.decode("utf-8", "replace")
    return str(value)


def _logout(conn: imaplib.IMAP4) -> None:
    with suppress(OSError, imaplib.IMAP4.error):
        conn.logout()


__all__ = ["TIMEOUT", "URL_FIX", "ImapError", "ImapMailbox", "ImapUrl", "parse_imap_url"]
