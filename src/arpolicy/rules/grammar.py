"""The text form, parsed with Lark (LALR, contextual lexer).

Values: a bare word may hold letters of any script (``Zürich``); an e-mail address may be
written bare (``finance_owner = anna@shop.example``), and so may an owner's name of several
words (``finance_owner = Anna Berg``: the checker refuses several bare words for any other
field, where they more likely miss an ``and``). Anything else is quoted: ``"Key account"``.

Precedence: ``not`` binds tighter than ``and``, which binds tighter than ``or``;
parentheses group. ``x between 1 and 5 and y`` reads the first ``and`` as part of
``between``. Comments run from ``#`` to the end of the line. Errors carry line and column.
"""

from __future__ import annotations

import json
from datetime import date
from decimal import Decimal
from functools import cache
from typing import Any

from lark import Lark, Token, Transformer, v_args
from lark.exceptions import UnexpectedCharacters, UnexpectedEOF, UnexpectedInput, VisitError

from arpolicy.kit.money import CurrencyError, check_currency
from arpolicy.rules import ast as a
from arpolicy.rules.errors import Problem, RuleError
from arpolicy.rules.limits import MAX_TEXT, check_limits

GRAMMAR = r"""
?start: table | condition

table: "decide" HIT ":"? table_rule+ otherwise?
table_rule: "when" condition "then" json
otherwise: "otherwise" json
HIT: /(?:first|collect)(?![A-Za-z0-9_])/

?condition: or_
?or_: and_ ("or" and_)*
?and_: not_ ("and" not_)*
?not_: "not" not_                                   -> negation
     | "(" condition ")"
     | predicate

predicate: FIELD CMP value                          -> compare
         | FIELD "between" value "and" value        -> between
         | FIELD "includes" values                  -> includes
         | FIELD "excludes" values                  -> excludes
         | FIELD "is" "empty"                       -> is_empty
         | FIELD "is" "not" "empty"                 -> is_not_empty
         | FIELD "is" YESNO                         -> is_bool
         | FIELD                                    -> bool_true
         | FIELD "in" "the" LASTNEXT NUMBER BUSINESS? DAYS -> in_days
         | FIELD "in" MONTHREF "month"              -> in_month

values: "(" value ("," value)* ")" | value

?value: NUMBER CURRENCY                             -> money
      | NUMBER                                      -> number
      | DATE                                        -> date
      | STRING                                      -> string
      | EMAIL                                       -> email
      | WORD+                                       -> words
      | "today"                                     -> today
      | NUMBER BUSINESS? DAYS "ago"                 -> ago
      | "in" NUMBER BUSINESS? DAYS                  -> ahead
      | "start" "of" MONTHREF? "month"              -> start_of
      | "end" "of" MONTHREF? "month"                -> end_of

?json: STRING                                       -> jstring
     | NUMBER                                       -> jnumber
     | "true"                                       -> jtrue
     | "false"                                      -> jfalse
     | "null"                                       -> jnull
     | "[" "]"                                      -> jempty_array
     | "[" json ("," json)* "]"                     -> jarray
     | "{" "}"                                      -> jempty_object
     | "{" jpair ("," jpair)* "}"                   -> jobject
jpair: STRING ":" json

FIELD: /[A-Za-z_][A-Za-z0-9_]*(?:\.[A-Za-z_][A-Za-z0-9_]*)*/
WORD: /[^\W\d]\w*(?:-\w+)*/
EMAIL.2: /[\w.%+-]+@[\w-]+(?:\.[\w-]+)+/
CURRENCY: /[A-Z]{3}(?![A-Za-z0-9_])/
CMP: /<=|>=|!=|<|>|=/
NUMBER: /-?[0-9]+(?:\.[0-9]+)?/
DATE.2: /[0-9]{4}-[0-9]{2}-[0-9]{2}/
STRING: /"(?:[^"\\\x00-\x1f]|\\["\\\/bfnrt]|\\u[0-9a-fA-F]{4})*"/
YESNO: /(?:yes|no)(?![A-Za-z0-9_])/
LASTNEXT: /(?:last|next)(?![A-Za-z0-9_])/
MONTHREF: /(?:current|previous|next)(?![A-Za-z0-9_])/
BUSINESS: /business(?![A-Za-z0-9_])/
DAYS: /days?(?![A-Za-z0-9_])/
COMMENT: /#[^\n]*/
%ignore /[ \t\r\n\f]+/
%ignore COMMENT
"""

HUMAN = {
    "FIELD": "a field name",
    "WORD": "a value",
    "EMAIL": "an e-mail address",
    "CURRENCY": "a currency code such as USD",
    "CMP": "an operator (<, <=, >, >=, =, !=)",
    "NUMBER": "a number",
    "DATE": "a date such as 2026-01-31",
    "STRING": 'a quoted string ("...")',
    "YESNO": "yes or no",
    "LASTNEXT": "last or next",
    "MONTHREF": "current, previous or next",
    "BUSINESS": "business",
    "DAYS": "days",
    "HIT": "first or collect",
    "$END": "the end of the rule",
}
EXAMPLE = "balance > 500 USD and due_date < 30 days ago and not disputed"


@cache
def _parser() -> Lark:
    return Lark(GRAMMAR, parser="lalr", propagate_positions=True, maybe_placeholders=False)


def _pos(tok: Any) -> a.Pos | None:
    line = getattr(tok, "line", None)
    return a.Pos(line, tok.column) if line is not None else None


class _Bad(Exception):
    def __init__(self, tok: Any, what: str, fix: str) -> None:
        pos = _pos(tok)
        self.problem = Problem(
            "$", what, fix, pos.line if pos else None, pos.column if pos else None
        )


def _int(tok: Token) -> int:
    if "." in tok or tok.startswith("-"):
        raise _Bad(tok, f"{tok} days: days are a whole number", "write e.g. 30 days ago")
    return int(tok)


def _business(children: list[Any]) -> tuple[bool, int]:
    business = any(isinstance(c, Token) and c.type == "BUSINESS" for c in children)
    number = next(c for c in children if isinstance(c, Token) and c.type == "NUMBER")
    return business, _int(number)


class _ToAst(Transformer[Token, Any]):
    # values
    def money(self, c: list[Token]) -> a.MoneyLit:
        return a.MoneyLit(Decimal(c[0]), str(c[1]), _pos(c[0]))

    def number(self, c: list[Token]) -> a.NumberLit:
        return a.NumberLit(Decimal(c[0]), _pos(c[0]))

    def date(self, c: list[Token]) -> a.DateLit:
        try:
            return a.DateLit(date.fromisoformat(c[0]), None, _pos(c[0]))
        except ValueError:
            raise _Bad(c[0], f"{c[0]} is not a calendar date", "write YYYY-MM-DD") from None

    def string(self, c: list[Token]) -> a.StringLit:
        return a.StringLit(json.loads(c[0]), _pos(c[0]))

    def email(self, c: list[Token]) -> a.StringLit:
        return a.StringLit(str(c[0]), _pos(c[0]))

    def words(self, c: list[Token]) -> a.StringLit:
        """One bare word, or several (an owner's name: ``Anna Berg``) joined by a space."""
        return a.StringLit(" ".join(map(str, c)), _pos(c[0]), len(c) > 1)

    @v_args(meta=True)
    def today(self, meta: Any, c: list[Token]) -> a.RelativeDate:
        return a.RelativeDate(a.RelKind.TODAY, 0, _pos(meta))

    @v_args(meta=True)
    def ago(self, meta: Any, c: list[Token]) -> a.RelativeDate:
        business, n = _business(c)
        kind = a.RelKind.BUSINESS_DAYS_AGO if business else a.RelKind.DAYS_AGO
        return a.RelativeDate(kind, n, _pos(meta))

    @v_args(meta=True)
    def ahead(self, meta: Any, c: list[Token]) -> a.RelativeDate:
        business, n = _business(c)
        kind = a.RelKind.IN_BUSINESS_DAYS if business else a.RelKind.IN_DAYS
        return a.RelativeDate(kind, n, _pos(meta))

    def _edge(self, meta: Any, c: list[Token | None], edge: str) -> a.RelativeDate:
        which = next((str(t) for t in c if t is not None and t != "current"), None)
        kind = a.RelKind(f"{edge}_of_{which + '_month' if which else 'month'}")
        return a.RelativeDate(kind, 0, _pos(meta))

    @v_args(meta=True)
    def start_of(self, meta: Any, c: list[Token | None]) -> a.RelativeDate:
        return self._edge(meta, c, "start")

    @v_args(meta=True)
    def end_of(self, meta: Any, c: list[Token | None]) -> a.RelativeDate:
        return self._edge(meta, c, "end")

    def values(self, c: list[a.Literal]) -> tuple[a.Literal, ...]:
        return tuple(c)

    # predicates
    def compare(self, c: list[Any]) -> a.Compare:
        return a.Compare(str(c[0]), str(c[1]), c[2], _pos(c[0]))

    def between(self, c: list[Any]) -> a.Between:
        return a.Between(str(c[0]), c[1], c[2], _pos(c[0]))

    def includes(self, c: list[Any]) -> a.Includes:
        return a.Includes(str(c[0]), c[1], _pos(c[0]))

    def excludes(self, c: list[Any]) -> a.Excludes:
        return a.Excludes(str(c[0]), c[1], _pos(c[0]))

    def is_empty(self, c: list[Token]) -> a.IsEmpty:
        return a.IsEmpty(str(c[0]), False, _pos(c[0]))

    def is_not_empty(self, c: list[Token]) -> a.IsEmpty:
        return a.IsEmpty(str(c[0]), True, _pos(c[0]))

    def is_bool(self, c: list[Token]) -> a.BoolTest:
        return a.BoolTest(str(c[0]), c[1] == "yes", _pos(c[0]))

    def bool_true(self, c: list[Token]) -> a.BoolTest:
        return a.BoolTest(str(c[0]), True, _pos(c[0]))

    def in_days(self, c: list[Any]) -> a.InRange:
        business, n = _business(c[2:])
        which = "last" if c[1] == "last" else "next"
        kind = a.RangeKind(f"{which}_{'business_' if business else ''}days")
        return a.InRange(str(c[0]), a.DateRange(kind, n), _pos(c[0]))

    def in_month(self, c: list[Token]) -> a.InRange:
        kind = a.RangeKind(f"{c[1]}_month")
        return a.InRange(str(c[0]), a.DateRange(kind), _pos(c[0]))

    # combinations
    @v_args(meta=True)
    def and_(self, meta: Any, c: list[a.Condition]) -> a.All:
        return a.All(tuple(c), _pos(meta))

    @v_args(meta=True)
    def or_(self, meta: Any, c: list[a.Condition]) -> a.Any:
        return a.Any(tuple(c), _pos(meta))

    @v_args(meta=True)
    def negation(self, meta: Any, c: list[a.Condition]) -> a.Not:
        return a.Not(c[0], _pos(meta))

    # decision tables
    @v_args(meta=True)
    def table(self, meta: Any, c: list[Any]) -> a.DecisionTable:
        policy, *rules = c
        default = rules.pop() if isinstance(rules[-1], a.Outcome) else None
        return a.DecisionTable(a.HitPolicy(str(policy)), tuple(rules), default, _pos(meta))

    @v_args(meta=True)
    def table_rule(self, meta: Any, c: list[Any]) -> a.TableRule:
        return a.TableRule(c[0], a.Outcome(c[1]), _pos(meta))

    def otherwise(self, c: list[Any]) -> a.Outcome:
        return a.Outcome(c[0])

    def jstring(self, c: list[Token]) -> str:
        return str(json.loads(c[0]))

    def jnumber(self, c: list[Token]) -> int | float:
        return float(c[0]) if "." in c[0] else int(c[0])

    def jtrue(self, c: list[Any]) -> bool:
        return True

    def jfalse(self, c: list[Any]) -> bool:
        return False

    def jnull(self, c: list[Any]) -> None:
        return None

    def jarray(self, c: list[Any]) -> list[Any]:
        return list(c)

    def jempty_array(self, c: list[Any]) -> list[Any]:
        return []

    def jobject(self, c: list[Any]) -> dict[str, Any]:
        return dict(c)

    def jempty_object(self, c: list[Any]) -> dict[str, Any]:
        return {}

    def jpair(self, c: list[Any]) -> tuple[str, Any]:
        return str(json.loads(c[0])), c[1]


def _expected(names: set[str]) -> str:
    parser = _parser()
    words = []
    for name in sorted(names):
        if name in HUMAN:
            words.append(HUMAN[name])
            continue
        try:
            pattern = parser.get_terminal(name).pattern
        except KeyError:
            continue
        words.append(repr(pattern.value) if pattern.type == "str" else name.lower())
    return ", ".join(dict.fromkeys(words))


VALUE_TERMINALS = {"NUMBER", "WORD", "STRING", "DATE"}
VALUE_WORDS = (
    "a value: a number, money (500 USD), a date (2026-01-31), a relative date"
    ' (today, 30 days ago, in 7 days), a word or a "quoted string"'
)


def _word_at(text: str, pos: int) -> tuple[int, str]:
    """The whole word around ``pos`` (lexers report the unmatched tail of a word)."""
    start = pos
    while start > 0 and (text[start - 1].isalnum() or text[start - 1] == "_"):
        start -= 1
    end = pos
    while end < len(text) and (text[end].isalnum() or text[end] in "_."):
        end += 1
    return start, text[start:end]


def _expected_text(names: set[str]) -> str:
    if names >= VALUE_TERMINALS:
        return VALUE_WORDS
    return _expected(names)


def _syntax_problem(text: str, err: UnexpectedInput) -> Problem:
    line, column = err.line, err.column
    pos = getattr(err, "pos_in_stream", None)
    if isinstance(err, UnexpectedCharacters):
        at = err.pos_in_stream or 0
        char = text[at] if at < len(text) else ""
        what = f"unexpected character {char!r}"
        fix = {
            "&": "combine conditions with and",
            "|": "combine conditions with or",
            "!": "write not, or != to compare",
            "'": 'quote strings with double quotes: "text"',
        }.get(char, "check the spelling; write e.g. " + EXAMPLE)
        return Problem("$", what, fix, line, column)
    token = getattr(err, "token", None)
    names = set(getattr(err, "expected", ()) or ())
    expected = _expected_text(names)
    if isinstance(err, UnexpectedEOF) or token is None or token.type == "$END":
        what = "the rule ends too early"
        lines = text.splitlines() or [""]
        line, column = len(lines), len(lines[-1]) + 1
    else:
        word = str(token)
        if pos is not None and (word[:1].isalnum() or word[:1] == "_"):
            start, word = _word_at(text, pos)
            column -= pos - start
        what = f"unexpected {word!r}"
    fix = f"expected {expected}" if expected else "write e.g. " + EXAMPLE
    if token is not None and str(token) == "=" and pos and text[pos - 1] == "=":
        fix = "compare with a single ="
    if token is not None and "CURRENCY" in names and _is_currency(token):
        fix = f"currency codes are upper case: {str(token).upper()}"
    return Problem("$", what, fix, line, column)


def _is_currency(token: Token) -> bool:
    try:
        check_currency(str(token).upper())
    except CurrencyError:
        return False
    return True


def parse(text: str) -> a.Rule:
    """Parse the text form into a rule (checking syntax and size, not fields)."""
    if not isinstance(text, str):
        raise RuleError([Problem("$", "a rule's text must be a string", "pass the rule text")])
    if len(text) > MAX_TEXT:
        raise RuleError(
            [Problem("$", f"the rule is {len(text)} characters long", f"keep it under {MAX_TEXT}")]
        )
    if not text.strip():
        raise RuleError([Problem("$", "the rule is empty", "write e.g. " + EXAMPLE, 1, 1)])
    try:
        tree = _parser().parse(text)
    except UnexpectedInput as err:
        raise RuleError([_syntax_problem(text, err)]) from None
    try:
        rule: a.Rule = _ToAst().transform(tree)
    except VisitError as err:
        if isinstance(err.orig_exc, _Bad):
            raise RuleError([err.orig_exc.problem]) from None
        raise
    check_limits(rule)
    return rule
