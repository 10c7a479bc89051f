"""An assignment policy as data: its JSON/YAML form, validated.

::

    role: finance
    rules:
      - name: DACH
        when: language includes (de) or country includes (DE, AT, CH)
        assign: {strategy: round_robin, users: ["team:DACH"]}
      - name: Enterprise keeps the SPOC's paired collector
        when: segment = "Enterprise"
        assign:
          strategy: mapping
          field: sales_owner
          map: {ann@shop.example: carl@shop.example}
    fallback: {strategy: least_loaded, users: ["role:collector"], by: customers}

A pool (``users``) lists e-mails, ``team:<name>`` or ``role:<role>``; ``team_of`` narrows a
pool to the team of the customer's other owner (``sales_owner`` / ``finance_owner``).
"""

from __future__ import annotations

import enum
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

from arpolicy.exceptions import ValidationError as DomainValidationError
from arpolicy.kit.datafile import ProblemsError, validated, yaml_data
from arpolicy.rules import FieldSet, intake, walk

MAX_RULES = 200
MAX_POOL = 1000
ROLES = ("sales", "finance")
"""The owner roles, in the order a run of both takes them: sales first, since finance
rules often follow the sales owner (a paired collector, a team)."""
OWNER_FIELD = {"finance": "finance_owner", "sales": "sales_owner"}
"""The customer field that holds each role's owner."""


class Strategy(enum.StrEnum):
    FIXED = "fixed"
    """One user (``users: [email]``)."""
    ROUND_ROBIN = "round_robin"
    """In turn over the pool (a cursor per rule, updated atomically)."""
    LEAST_LOADED = "least_loaded"
    """The pool member with the fewest customers (or least outstanding), under capacity."""
    FROM_FIELD = "from_field"
    """The user whose e-mail a customer field holds (a custom field, or the other owner)."""
    MAPPING = "mapping"
    """A customer field's value looked up in ``map`` (value -> e-mail)."""


POOLED = frozenset({Strategy.ROUND_ROBIN, Strategy.LEAST_LOADED})


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True, frozen=True)


class Assign(_Model):
    strategy: Strategy
    users: list[str] = Field(default_factory=list, max_length=MAX_POOL)
    roles: list[str] | None = None
    """Keep only pool members with one of these roles (``users: [team:DACH]``, ``roles:
    [collector]`` is the DACH team's collectors)."""
    by: Literal["customers", "outstanding"] = "customers"
    """What least_loaded balances."""
    capacity: int | dict[str, int] | None = None
    """Most customers a user may own in this role (one number for all, or per e-mail)."""
    team_of: Literal["finance_owner", "sales_owner"] | None = None
    field: str | None = None
    """The customer field from_field and mapping read (a rule-language field name)."""
    map: dict[str, str] | None = None

    @field_validator("users")
    @classmethod
    def _selectors(cls, users: list[str]) -> list[str]:
        for u in users:
            kind, _, value = u.partition(":")
            if ("@" not in u and kind not in ("team", "role")) or (
                kind in ("team", "role") and not value
            ):
                raise ValueError(f"{u!r} is not an e-mail, team:<name> or role:<role>")
        return users

    def problems(self) -> list[tuple[str, str, str]]:
        """(where, what, fix) of settings that do not fit the strategy."""
        out: list[tuple[str, str, str]] = []
        s = self.strategy
        if s is Strategy.FIXED and (len(self.users) != 1 or ":" in self.users[0]):
            out.append(
                ("users", "fixed needs exactly one user e-mail", "users: [ann@shop.example]")
            )
        if s in POOLED and not self.users and self.team_of is None:
            out.append(("users", f"{s} needs a pool", "list e-mails, team:<name> or role:<role>"))
        if s in (Strategy.FROM_FIELD, Strategy.MAPPING) and not self.field:
            out.append(
                ("field", f"{s} needs the customer field to read", "e.g. field: sales_owner")
            )
        if s is Strategy.MAPPING and not self.map:
            out.append(
                (
                    "map",
                    "mapping needs a map of value -> user e-mail",
                    "map: {DE: ann@shop.example}",
                )
            )
        if s not in POOLED and (
            self.capacity is not None or self.team_of is not None or self.roles
        ):
            out.append(
                (
                    "capacity",
                    f"capacity, roles and team_of only apply to pools, not {s}",
                    "drop them or use round_robin / least_loaded",
                )
            )
        if s is not Strategy.LEAST_LOADED and self.by != "customers":
            out.append(("by", "by only applies to least_loaded", "drop it"))
        return out


class AssignmentRule(_Model):
    name: str = Field(min_length=1, max_length=100)
    when: str | dict[str, Any] | None = None
    """A customer-level condition (text or JSON); none matches every customer."""
    assign: Assign


class AssignmentPolicy(_Model):
    role: Literal["finance", "sales"]
    rules: list[AssignmentRule] = Field(default_factory=list, max_length=MAX_RULES)
    fallback: Assign | None = None
    description: str | None = Field(default=None, max_length=500)

    def problems(self) -> list[tuple[str, str, str]]:
        out: list[tuple[str, str, str]] = []
        names: set[str] = set()
        for i, rule in enumerate(self.rules):
            if rule.name in names:
                out.append(
                    (
                        f"rules[{i}].name",
                        f"two rules are named {rule.name!r}",
                        "give every rule its own name (owners remember it)",
                    )
                )
            names.add(rule.name)
            out += [
                (f"rules[{i}].assign.{w}", what, fix) for w, what, fix in rule.assign.problems()
            ]
        if self.fallback is not None:
            out += [(f"fallback.{w}", what, fix) for w, what, fix in self.fallback.problems()]
        if not self.rules and self.fallback is None:
            out.append(("rules", "the policy assigns nobody", "add a rule or a fallback"))
        return out


class PolicyError(ProblemsError):
    type = "invalid-policy"


def parse_policy(data: Any, *, where: str = "") -> AssignmentPolicy:
    """A policy from its JSON-like form; PolicyError lists every problem with its path."""
    return validated(
        AssignmentPolicy, data, where=where, error=PolicyError, docs="docs/assignment.md"
    )


def load_yaml(text: str) -> list[AssignmentPolicy]:
    """One policy, or ``policies: [...]`` (one per role), from YAML text."""
    data = yaml_data(text)
    if isinstance(data, dict) and "policies" in data:
        items = data["policies"]
        if not isinstance(items, list) or not items:
            raise DomainValidationError(
                "policies must be a non-empty list",
                where="policies",
                fix="policies: [{role: finance, rules: [...]}]",
            )
        policies = [parse_policy(p, where=f"policies[{i}]") for i, p in enumerate(items)]
    else:
        policies = [parse_policy(data)]
    roles = [p.role for p in policies]
    if len(set(roles)) != len(roles):
        raise DomainValidationError(
            "two policies for the same role",
            where="policies",
            fix="give one policy per role (finance, sales)",
        )
    return policies


def rule_of(value: str | dict[str, Any]) -> Any:
    """A rule's condition from its text or JSON form."""
    return intake.read(value)


def fields_read(policy: AssignmentPolicy, role: str, fields: FieldSet) -> FieldSet:
    """Only the fields the policy reads (so the records query joins only those)."""
    assigns = [r.assign for r in policy.rules] + ([policy.fallback] if policy.fallback else [])
    names = {OWNER_FIELD[role]} | (
        {"outstanding"} if any(a.by == "outstanding" for a in assigns) else set()
    )
    for rule in policy.rules:
        if rule.when is not None:
            names |= {n.field for _, n in walk(rule_of(rule.when)) if hasattr(n, "field")}
    for assign in assigns:
        names |= {x for x in (assign.field, assign.team_of) if x}
    return FieldSet(
        fields.level, fields.base_currency, [fields[n] for n in sorted(names) if n in fields]
    )
