"""The headers of outgoing mail: the policy messages are built with, and a folder for
unstructured headers (the subject) that a reader decodes back to the text exactly."""

from __future__ import annotations

from email import policy
from email.charset import Charset
from email.headerregistry import BaseHeader, HeaderRegistry, UnstructuredHeader
from email.policy import EmailPolicy

_UTF8 = Charset("utf-8")
_EW_LONGEST = 75
"""RFC 2047: an encoded word has at most 75 characters."""


class _Text(UnstructuredHeader, BaseHeader):
    """An unstructured header (the subject) folded so that reading it back gives the text
    exactly. CPython's folder (3.11 to 3.13) can end a line with the space before an
    encoded word and start the next with another ("ist überfällig" came back as
    "ist  überfällig"), join two encoded words without the space between them, and fold a
    long ASCII subject right after "Subject:" (read back with a leading space). Here
    :func:`fold_text` folds instead."""

    def fold(self, *, policy: EmailPolicy) -> str:  # type: ignore[override]
        text = str(self)
        if policy.utf8 or not _encodable(text):
            return super().fold(policy=policy)
        return fold_text(self.name, text, policy.max_line_length or 10**6, policy.linesep)


class _UniqueText(_Text):
    max_count = 1


def _encodable(text: str) -> bool:
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:  # surrogates of undecodable bytes: the standard folder
        return False
    return True


def fold_text(name: str, text: str, width: int = 78, linesep: str = "\n") -> str:
    """``name: text`` folded to lines of at most ``width`` characters where it can be, the
    words that are not plain ASCII as RFC 2047 encoded words (UTF-8). Each fold replaces
    exactly one space of the text, and a run of words to encode is one run of encoded
    words with its spaces inside them (the white space between two encoded words is not
    part of the text), so a reader unfolds and decodes it to ``text`` exactly."""
    words = text.split(" ")
    atoms: list[tuple[str, bool]] = []
    if "" in words:  # leading, trailing or repeated spaces: all of it encoded
        atoms = [(text, True)]
    for w in [] if atoms else words:
        encode = not w.isascii() or "=?" in w or not w.isprintable()
        if encode and atoms and atoms[-1][1]:
            atoms[-1] = (f"{atoms[-1][0]} {w}", True)
        else:
            atoms.append((w, encode))
    label = f"{name}:"
    lines = [label]
    for piece, encode in atoms:
        while piece:
            room = width - len(lines[-1]) - 1
            if lines[-1] not in (label, "") and room < (16 if encode else len(piece)):
                lines.append("")
                room = width - 1
            n = _fitting(piece, min(room, _EW_LONGEST)) if encode else len(piece)
            lines[-1] += " " + (_UTF8.header_encode(piece[:n]) if encode else piece)
            piece = piece[n:]
    return linesep.join(lines) + linesep


def _fitting(text: str, room: int) -> int:
    """The most characters of ``text`` whose encoded word fits ``room`` (at least one)."""
    lo, hi = 1, len(text)
    while lo < hi:
        mid = (lo + hi + 1) // 2
        if len(_UTF8.header_encode(text[:mid])) <= room:
            lo = mid
        else:
            hi = mid - 1
    return lo


class _Registry(HeaderRegistry):
    """The standard header registry, except that it makes each header class once
    (``HeaderRegistry`` creates a new class for every header set, which is most of the
    cost of building a message) and folds unstructured headers with :class:`_Text`."""

    def __init__(self) -> None:
        super().__init__(default_class=_Text)
        self.map_to_type("subject", _UniqueText)
        self.map_to_type("comments", _Text)
        self._made: dict[str, type[BaseHeader]] = {}

    def __getitem__(self, name: str) -> type[BaseHeader]:
        key = name.lower()
        made = self._made.get(key)
        if made is None:
            made = self._made[key] = super().__getitem__(name)
        return made


POLICY = policy.default.clone(header_factory=_Registry())
"""``email.policy.default`` (RFC 5322, UTF-8 aware) with the faster registry, whose
subject folds without adding a space."""


__all__ = ["POLICY", "fold_text"]
