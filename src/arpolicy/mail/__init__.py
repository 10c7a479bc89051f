"""Mail, for every module: sending, reading a mailbox, reading what comes back.

- :mod:`~arpolicy.mail.compose`: the MIME message of an outgoing email, from plain data
  (:class:`Outgoing` -> ``EmailMessage``); :mod:`~arpolicy.mail.headers` folds headers so
  they read back exactly;
- :mod:`~arpolicy.mail.transports`: where messages go, named by a URL
  (``maildir://``, ``smtp://``, ``smtps://``; :func:`open_transport`), and
  :class:`MailError` (permanent or transient);
- :mod:`~arpolicy.mail.imap`: the unseen messages of an IMAP mailbox;
- :mod:`~arpolicy.mail.mime` and :mod:`~arpolicy.mail.reports`: reading a received
  message (headers, addresses, Message-IDs, text) and what a machine reports in it
  (bounces, automatic answers).

What the messages are about (reminders, replies, notifications) belongs to their
modules; the worker (:mod:`arpolicy.worker`) delivers stored emails through a transport.
"""

from arpolicy.mail.compose import Outgoing, compose
from arpolicy.mail.transports import MailError, Transport, envelope, open_transport

__all__ = ["MailError", "Outgoing", "Transport", "compose", "envelope", "open_transport"]
