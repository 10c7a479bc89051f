"""Who should own a customer: the pure decision (no database, no clock).

:func:`decide_all` is the whole decision of a run: it takes the compiled policy, a
:class:`Snapshot` of the customers (their rule-language records, current owners and
outstanding) and the run's pool state, and returns one frozen :class:`Decision` per
customer, rebalancing the pools when asked. :func:`decide` decides one customer. The pool
state (customers and outstanding per user, round-robin cursors) is updated in place as
owners change, so a run over many customers stays balanced; the service loads it from the
database and writes the cursors back.

Stickiness: a locked owner never changes; an owner stays while the rule that chose them
still matches and they are still eligible (active, in the pool, under capacity); when
another rule matches, the new rule assigns. :func:`rebalance` redistributes the customers
of one pooled rule evenly, moving as few as it can.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from decimal import Decimal
from typing import Any

from arpolicy.ownership.config import POOLED, Assign, AssignmentPolicy, Strategy

Matcher = Callable[[dict[str, Any]], bool]
FALLBACK = "fallback"
LOCKED = "locked"


@dataclass(frozen=True, slots=True)
class Person:
    id: int
    email: str
    team: str | None
    role: str
    active: bool


@dataclass(slots=True)
class Pools:
    """Mutable state of one run: the load of each user in this role, and the cursors."""

    customers: dict[int, int] = field(default_factory=dict)
    outstanding: dict[int, Decimal] = field(default_factory=dict)
    cursors: dict[str, int] = field(default_factory=dict)
    moved_cursors: set[str] = field(default_factory=set)

    def move(self, before: int | None, after: int | None, amount: Decimal) -> None:
        if before == after:
            return
        if before is not None:
            self.customers[before] = self.customers.get(before, 0) - 1
            self.outstanding[before] = self.outstanding.get(before, Decimal(0)) - amount
        if after is not None:
            self.customers[after] = self.customers.get(after, 0) + 1
            self.outstanding[after] = self.outstanding.get(after, Decimal(0)) + amount


@dataclass(frozen=True, slots=True)
class Current:
    owner_id: int | None
    rule: str | None
    locked: bool = False


@dataclass(frozen=True, slots=True)
class Decision:
    customer_id: int
    role: str
    before: int | None
    after: int | None
    rule: str | None
    """The rule that decided (its name), ``fallback``, ``locked``, or None (nothing applied)."""
    reason: str
    gaps: tuple[str, ...] = ()
    """Why a rule could not assign (nobody eligible), reported even when the fallback did."""
    rule_changed: bool = False

    @property
    def changed(self) -> bool:
        return self.before != self.after


@dataclass(frozen=True)
class CompiledRule:
    name: str
    matches: Matcher | None
    """None: the rule has no condition and matches every customer."""
    assign: Assign


@dataclass(frozen=True)
class CompiledPolicy:
    role: str
    rules: Sequence[CompiledRule]
    fallback: Assign | None
    people: dict[str, Person]
    """Every user of the tenant by lower-case e-mail (inactive ones too)."""
    pools: dict[int, tuple[list[Person], str | None]] = field(default_factory=dict, compare=False)
    """Pools that do not depend on the customer (no ``team_of``), computed once per run."""

    @classmethod
    def build(
        cls, policy: AssignmentPolicy, matchers: Sequence[Matcher | None], people: Iterable[Person]
    ) -> CompiledPolicy:
        rules = [
            CompiledRule(r.name, m, r.assign) for r, m in zip(policy.rules, matchers, strict=True)
        ]
        return cls(policy.role, rules, policy.fallback, {p.email.lower(): p for p in people})

    @property
    def other(self) -> str:
        return "sales_owner" if self.role == "finance" else "finance_owner"


def pool(
    policy: CompiledPolicy, assign: Assign, record: dict[str, Any]
) -> tuple[list[Person], str | None]:
    """The active users a pooled rule may choose from, in a stable order, and a gap."""
    if assign.team_of is None:
        found = policy.pools.get(id(assign))
        if found is None:
            found = policy.pools[id(assign)] = _pool(policy, assign, record)
        return found
    return _pool(policy, assign, record)


def _pool(
    policy: CompiledPolicy, assign: Assign, record: dict[str, Any]
) -> tuple[list[Person], str | None]:
    chosen: dict[int, Person] = {}
    everyone = sorted(policy.people.values(), key=lambda p: p.id)
    for selector in assign.users:
        kind, _, value = selector.partition(":")
        if kind == "team" and value:
            found = [p for p in everyone if p.team == value]
        elif kind == "role" and value:
            found = [p for p in everyone if p.role == value]
        else:
            person = policy.people.get(selector.lower())
            found = [person] if person else []
        for p in found:
            chosen.setdefault(p.id, p)
    if assign.team_of is not None:
        other = policy.people.get(str(record.get(assign.team_of) or "").lower())
        if other is None or not other.team:
            return [], f"the customer's {assign.team_of.replace('_', ' ')} has no team"
        base = list(chosen.values()) if assign.users else everyone
        chosen = {p.id: p for p in base if p.team == other.team}
    if assign.roles:
        chosen = {i: p for i, p in chosen.items() if p.role in assign.roles}
    active = [p for p in chosen.values() if p.active]
    if not active:
        return [], "nobody in the pool is active" if chosen else "the pool is empty"
    return active, None


def _capacity(assign: Assign, person: Person) -> int | None:
    if isinstance(assign.capacity, dict):
        return assign.capacity.get(person.email)
    return assign.capacity


def _has_room(assign: Assign, person: Person, pools: Pools, current: int | None) -> bool:
    cap = _capacity(assign, person)
    if cap is None:
        return True
    load = pools.customers.get(person.id, 0) - (1 if current == person.id else 0)
    return load < cap


def _target(
    policy: CompiledPolicy,
    assign: Assign,
    key: str,
    record: dict[str, Any],
    current: Current,
    pools: Pools,
    sticky: bool,
) -> tuple[Person | None, str]:
    """(who, why) for one strategy; who is None when nobody is eligible (why says so)."""
    s = assign.strategy
    if s in (Strategy.FIXED, Strategy.FROM_FIELD, Strategy.MAPPING):
        if s is Strategy.FIXED:
            email, source = assign.users[0], "fixed user"
        else:
            value = record.get(assign.field or "")
            if value is None:
                return None, f"{assign.field} is empty"
            shown = getattr(value, "value", value)
            if s is Strategy.FROM_FIELD:
                email, source = str(shown), f"{assign.field} = {shown}"
            else:
                mapped = (assign.map or {}).get(str(shown))
                if mapped is None:
                    return None, f"{assign.field} = {shown} is not in the map"
                email, source = mapped, f"{assign.field} = {shown} maps to {mapped}"
        person = policy.people.get(email.lower())
        if person is None:
            return None, f"{source}: no user {email}"
        if not person.active:
            return None, f"{source}: {person.email} is inactive"
        return person, source
    members, gap = pool(policy, assign, record)
    if gap:
        return None, gap
    if sticky and current.owner_id is not None:
        for p in members:
            if p.id == current.owner_id and _has_room(assign, p, pools, current.owner_id):
                return p, "kept: still in the pool"
    room = (
        members
        if assign.capacity is None
        else [p for p in members if _has_room(assign, p, pools, current.owner_id)]
    )
    if not room:
        return None, "everyone in the pool is at capacity"
    if s is Strategy.ROUND_ROBIN:
        start = pools.cursors.get(key, 0)
        ids = [p.id for p in members]
        for step in range(len(members)):
            candidate = members[(start + step) % len(members)]
            if candidate in room:
                pools.cursors[key] = (start + step + 1) % len(members) if ids else 0
                pools.moved_cursors.add(key)
                return candidate, f"round robin over {len(members)}"
    by_amount = assign.by == "outstanding"

    def load(p: Person) -> tuple[Any, int]:
        return (
            pools.outstanding.get(p.id, Decimal(0)) if by_amount else pools.customers.get(p.id, 0),
            p.id,
        )

    best = min(room, key=load)
    what = "least outstanding" if by_amount else "fewest customers"
    return best, f"{what} in a pool of {len(members)}"


def decide(
    policy: CompiledPolicy,
    customer_id: int,
    record: dict[str, Any],
    current: Current,
    pools: Pools,
    *,
    amount: Decimal = Decimal(0),
    explain: Callable[[int], str] | None = None,
) -> Decision:
    """The owner ``customer_id`` should have in ``policy.role``. ``amount`` is the
    customer's outstanding (for least-loaded by outstanding); ``explain(i)`` describes why
    rule ``i`` matched (used for the reason)."""
    if current.locked:
        return Decision(
            customer_id,
            policy.role,
            current.owner_id,
            current.owner_id,
            LOCKED,
            "the owner was set by hand and locked",
        )
    gaps: list[str] = []
    matched: tuple[str, Assign, str] | None = None
    for i, rule in enumerate(policy.rules):
        if rule.matches is None or rule.matches(record):
            if rule.matches is None:
                why = "matches every customer"
            else:
                why = explain(i) if explain else "its condition matches"
            matched = (rule.name, rule.assign, why)
            break
    candidates: list[tuple[str, Assign, str]] = []
    if matched is not None:
        candidates.append(matched)
    if policy.fallback is not None:
        why = "no rule matches" if matched is None else f"{matched[0]} could not assign"
        candidates.append((FALLBACK, policy.fallback, why))
    for name, assign, why in candidates:
        key = f"{policy.role}:{name}"
        same_rule = current.rule == name or (current.rule is None and assign.strategy in POOLED)
        person, how = _target(policy, assign, key, record, current, pools, same_rule)
        if person is None:
            gaps.append(f"{name}: {how}")
            continue
        pools.move(current.owner_id, person.id, amount)
        return Decision(
            customer_id,
            policy.role,
            current.owner_id,
            person.id,
            name,
            f"{name} ({why}): {how}",
            tuple(gaps),
            current.rule != name,
        )
    if matched is None and policy.fallback is None:
        gaps.append("no rule matches and there is no fallback")
    return Decision(
        customer_id,
        policy.role,
        current.owner_id,
        current.owner_id,
        None,
        "nobody could be assigned; the owner is unchanged",
        tuple(gaps),
    )


def rebalance(
    owned: Sequence[tuple[int, int, Decimal]],
    members: Sequence[Person],
    assign: Assign,
) -> dict[int, int]:
    """New owners for some of ``owned`` = (customer id, owner id, outstanding) so that the
    pool ``members`` is even: by number of customers (each ends within one of the others,
    and only customers of over-loaded members move, newest first), or by outstanding
    (largest first to the least loaded, keeping the owner on a tie). Returns customer id ->
    new owner id, for the customers that move."""
    if not members:
        return {}
    ids = [m.id for m in members]
    if assign.by == "outstanding":
        totals = {i: Decimal(0) for i in ids}
        moves: dict[int, int] = {}
        for customer, owner, amount in sorted(owned, key=lambda o: (-o[2], o[0])):
            least = min(totals.values())
            to = (
                owner
                if owner in totals and totals[owner] == least
                else min(ids, key=lambda i: (totals[i], i))
            )
            totals[to] += amount
            if to != owner:
                moves[customer] = to
        return moves
    by_owner: dict[int, list[int]] = {i: [] for i in ids}
    strays: list[int] = []
    for customer, owner, _ in owned:
        by_owner.get(owner, strays).append(customer)
    n, k = len(owned), len(ids)
    order = sorted(ids, key=lambda i: (-len(by_owner[i]), i))
    target = {i: n // k + (1 if rank < n % k else 0) for rank, i in enumerate(order)}
    spare = strays + [c for i in order for c in sorted(by_owner[i])[target[i] :]]
    moves = {}
    for i in sorted(ids, key=lambda i: (len(by_owner[i]), i)):
        while len(by_owner[i]) < target[i] and spare:
            customer = spare.pop()
            by_owner[i].append(customer)
            moves[customer] = i
    return moves


@dataclass(frozen=True)
class Snapshot:
    """What a run decides from, per customer id: its record (the rule-language customer
    fields the policy reads), its current owner with the provenance, and its outstanding
    in the base currency (for least-loaded by outstanding and rebalancing)."""

    records: Mapping[int, dict[str, Any]]
    current: Mapping[int, Current]
    amounts: Mapping[int, Decimal]


def decide_all(
    policy: CompiledPolicy, snapshot: Snapshot, pools: Pools, *, rebalance_pools: bool = False
) -> list[Decision]:
    """Every customer's decision, in the snapshot's order; with ``rebalance_pools`` the
    customers of each pooled rule are then spread evenly (:func:`rebalance`)."""
    decisions = [
        decide(policy, cid, record, snapshot.current[cid], pools, amount=snapshot.amounts[cid])
        for cid, record in snapshot.records.items()
    ]
    if rebalance_pools:
        decisions = _rebalanced(policy, decisions, snapshot, pools)
    return decisions


def _rebalanced(
    policy: CompiledPolicy, decisions: list[Decision], snapshot: Snapshot, pools: Pools
) -> list[Decision]:
    out = {d.customer_id: d for d in decisions}
    for rule in policy.rules:
        if rule.assign.strategy not in POOLED or rule.assign.team_of is not None:
            continue
        mine = [d for d in decisions if d.rule == rule.name and d.after is not None]
        if not mine:
            continue
        members, _ = pool(policy, rule.assign, snapshot.records[mine[0].customer_id])
        owned = [(d.customer_id, d.after or 0, snapshot.amounts[d.customer_id]) for d in mine]
        for cid, to in rebalance(owned, members, rule.assign).items():
            d = out[cid]
            pools.move(d.after, to, snapshot.amounts[cid])
            out[cid] = replace(d, after=to, reason=f"{rule.name}: rebalanced over {len(members)}")
    return [out[d.customer_id] for d in decisions]
