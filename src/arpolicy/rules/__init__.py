"""The rule language: a typed AST with a JSON form and a text form, checked against a
field catalogue, bound to an evaluation date, compiled to Python (and, later, SQL).

Pure: no database session, no wall clock. The life of a rule::

    rule = parse("balance > 500 USD and due_date < 30 days ago and not disputed")
    fields = catalogue_for("EUR", [30, 60, 90, 120])  # arpolicy.ledger.fields.level("invoice")
    check(rule, fields)                       # RuleError listing every problem
    stored = to_json(rule)                    # what the API keeps; from_json reads it back
    bound = bind(rule, as_of, tz="Europe/Berlin", holidays_country="DE", exchange=exchange)
    matches = to_python(bound, fields)        # matches(record) -> bool
    explain(bound, record, fields).text()     # each condition, its value and verdict

Semantics: a missing value (None or an absent key) makes every comparison *unknown*;
``and`` / ``or`` / ``not`` follow Kleene's three-valued logic and a rule matches only when it
is *true*, so ``not (country = DE)`` does not match a customer without a country; ``is
empty`` tests for a missing value explicitly. A money literal stands for its worth:
``balance > 500 USD`` compares an EUR balance at the EUR->USD rate of the evaluation date,
which ``bind`` looks up once in the ``exchange`` handed in (:class:`Exchange`, see
:mod:`arpolicy.rules.fx`); a zero (``0 USD`` or a bare ``0``) compares with every currency.
"""

from arpolicy.rules.ast import Rule, Visitor, walk
from arpolicy.rules.binding import BoundRule, Calendar, Resolution, bind
from arpolicy.rules.catalogue import Catalogue, Field, FieldSet, Level, Type
from arpolicy.rules.checker import check, problems
from arpolicy.rules.compile import Predicate, table_to_python, to_python
from arpolicy.rules.errors import Problem, RuleError
from arpolicy.rules.explain import Explanation, explain, explainer
from arpolicy.rules.fx import Exchange
from arpolicy.rules.grammar import parse
from arpolicy.rules.jsonform import from_json, to_json
from arpolicy.rules.printer import to_text

__all__ = [
    "BoundRule",
    "Calendar",
    "Catalogue",
    "Exchange",
    "Explanation",
    "Field",
    "FieldSet",
    "Level",
    "Predicate",
    "Problem",
    "Resolution",
    "Rule",
    "RuleError",
    "Type",
    "Visitor",
    "bind",
    "check",
    "explain",
    "explainer",
    "from_json",
    "parse",
    "problems",
    "table_to_python",
    "to_json",
    "to_python",
    "to_text",
    "walk",
]
