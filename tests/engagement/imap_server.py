"""A minimal IMAP4rev1 server for tests: one user, mailboxes held in memory, plain TCP on
127.0.0.1. Enough for imaplib: CAPABILITY, LOGIN, SELECT, UID SEARCH (ALL, UNSEEN, SINCE),
UID FETCH (RFC822), UID STORE +FLAGS, UID COPY, EXPUNGE, NOOP, LOGOUT.

    with ImapServer("ann", "secret", {"INBOX": [raw1, raw2]}) as server:
        url = f"imap://ann:secret@127.0.0.1:{server.port}/INBOX"
"""

from __future__ import annotations

import re
import socketserver
import threading
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any


@dataclass
class Stored:
    uid: int
    raw: bytes
    flags: set[str] = field(default_factory=set)
    received: date = field(default_factory=lambda: date(2026, 11, 23))


class ImapServer:
    def __init__(self, user: str, password: str, mailboxes: dict[str, list[bytes]]) -> None:
        self.user, self.password = user, password
        self.lock = threading.Lock()
        self.next_uid = 1
        self.boxes: dict[str, list[Stored]] = {}
        for name, messages in mailboxes.items():
            self.boxes[name] = []
            for raw in messages:
                self.add(name, raw)
        self.commands: list[str] = []
        server = self

        class Handler(socketserver.StreamRequestHandler):
            def handle(self) -> None:
                Session(server, self).run()

        socketserver.ThreadingTCPServer.allow_reuse_address = True
        self.tcp = socketserver.ThreadingTCPServer(("127.0.0.1", 0), Handler)
        self.tcp.daemon_threads = True
        self.port = self.tcp.server_address[1]
        self.thread = threading.Thread(target=self.tcp.serve_forever, daemon=True)

    def add(self, mailbox: str, raw: bytes, flags: set[str] | None = None) -> Stored:
        with self.lock:
            stored = Stored(self.next_uid, raw, set(flags or ()))
            self.next_uid += 1
            self.boxes.setdefault(mailbox, []).append(stored)
            return stored

    def __enter__(self) -> ImapServer:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.tcp.shutdown()
        self.tcp.server_close()


TOKEN = re.compile(r'"((?:[^"\\]|\\.)*)"|(\([^)]*\))|(\S+)')


def _args(text: str) -> list[str]:
    out = []
    for quoted, group, atom in TOKEN.findall(text):
        if group:
            out.append(group)
        elif atom:
            out.append(atom)
        else:
            out.append(re.sub(r"\\(.)", r"\1", quoted))
    return out


class Session:
    def __init__(self, server: ImapServer, handler: Any) -> None:
        self.server, self.rfile, self.wfile = server, handler.rfile, handler.wfile
        self.authenticated = False
        self.selected: str | None = None

    def send(self, data: bytes | str) -> None:
        self.wfile.write(data.encode() if isinstance(data, str) else data)
        self.wfile.flush()

    def run(self) -> None:
        self.send("* OK [CAPABILITY IMAP4rev1] test server ready\r\n")
        while True:
            line = self.rfile.readline()
            if not line:
                return
            text = line.decode("utf-8", "replace").rstrip("\r\n")
            tag, _, rest = text.partition(" ")
            command, _, args = rest.partition(" ")
            self.server.commands.append(f"{command.upper()} {args}".strip())
            if self.dispatch(tag, command.upper(), args) == "bye":
                return

    def dispatch(self, tag: str, command: str, args: str) -> str | None:
        if command == "CAPABILITY":
            self.send(f"* CAPABILITY IMAP4rev1 AUTH=PLAIN\r\n{tag} OK CAPABILITY completed\r\n")
        elif command == "NOOP":
            self.send(f"{tag} OK NOOP completed\r\n")
        elif command == "LOGOUT":
            self.send(f"* BYE logging out\r\n{tag} OK LOGOUT completed\r\n")
            return "bye"
        elif command == "LOGIN":
            user, password = [*_args(args), "", ""][:2]
            if (user, password) != (self.server.user, self.server.password):
                self.send(f"{tag} NO [AUTHENTICATIONFAILED] Invalid credentials\r\n")
            else:
                self.authenticated = True
                self.send(f"{tag} OK LOGIN completed\r\n")
        elif not self.authenticated:
            self.send(f"{tag} BAD log in first\r\n")
        elif command == "SELECT":
            self.select(tag, _args(args)[0])
        elif command == "EXPUNGE":
            self.expunge(tag)
        elif command == "UID" and self.selected is not None:
            sub, _, rest = args.partition(" ")
            getattr(self, f"uid_{sub.lower()}", self.bad)(tag, rest)
        else:
            self.bad(tag, command)
        return None

    def bad(self, tag: str, _: str) -> None:
        self.send(f"{tag} BAD command not supported here\r\n")

    @property
    def box(self) -> list[Stored]:
        assert self.selected is not None
        return self.server.boxes[self.selected]

    def select(self, tag: str, name: str) -> None:
        if name not in self.server.boxes:
            self.send(f"{tag} NO [NONEXISTENT] no such mailbox\r\n")
            return
        self.selected = name
        self.send(
            f"* FLAGS (\\Seen \\Deleted)\r\n* {len(self.box)} EXISTS\r\n* 0 RECENT\r\n"
            f"* OK [UIDVALIDITY 1] UIDs valid\r\n* OK [UIDNEXT {self.server.next_uid}]\r\n"
            f"{tag} OK [READ-WRITE] SELECT completed\r\n"
        )

    def find(self, uids: str) -> list[tuple[int, Stored]]:
        wanted = {int(u) for u in uids.split(",") if u.isdigit()}
        return [(n, m) for n, m in enumerate(self.box, 1) if m.uid in wanted]

    def uid_search(self, tag: str, args: str) -> None:
        words = _args(args)
        found = list(self.box)
        while words:
            word = words.pop(0).upper()
            if word == "UNSEEN":
                found = [m for m in found if "\\Seen" not in m.flags]
            elif word == "SINCE":
                since = datetime.strptime(words.pop(0), "%d-%b-%Y").date()
                found = [m for m in found if m.received >= since]
        self.send(
            f"* SEARCH {' '.join(str(m.uid) for m in found)}\r\n{tag} OK SEARCH completed\r\n"
        )

    def uid_fetch(self, tag: str, args: str) -> None:
        uids, _, _ = args.partition(" ")
        for n, m in self.find(uids):
            self.send(
                f"* {n} FETCH (UID {m.uid} RFC822 {{{len(m.raw)}}}\r\n".encode() + m.raw + b")\r\n"
            )
        self.send(f"{tag} OK FETCH completed\r\n")

    def uid_store(self, tag: str, args: str) -> None:
        uids, _, rest = args.partition(" ")
        _, _, flags = rest.partition(" ")
        for n, m in self.find(uids):
            m.flags |= set(flags.strip("()").split())
            self.send(f"* {n} FETCH (UID {m.uid} FLAGS ({' '.join(sorted(m.flags))}))\r\n")
        self.send(f"{tag} OK STORE completed\r\n")

    def uid_copy(self, tag: str, args: str) -> None:
        uids, _, target = args.partition(" ")
        name = _args(target)[0]
        if name not in self.server.boxes:
            self.send(f"{tag} NO [TRYCREATE] no such mailbox\r\n")
            return
        for _, m in self.find(uids):
            self.server.add(name, m.raw, m.flags - {"\\Deleted"})
        self.send(f"{tag} OK COPY completed\r\n")

    def expunge(self, tag: str) -> None:
        kept = []
        for n, m in reversed(list(enumerate(self.box, 1))):
            if "\\Deleted" in m.flags:
                self.send(f"* {n} EXPUNGE\r\n")
            else:
                kept.append(m)
        self.server.boxes[self.selected or ""] = list(reversed(kept))
        self.send(f"{tag} OK EXPUNGE completed\r\n")
