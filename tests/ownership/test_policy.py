"""The pure assignment decision: every strategy, the fallback, locks, inactive users,
stickiness, capacity, teams and rebalancing. No database."""

from __future__ import annotations

from collections import Counter
from decimal import Decimal

import pytest

from arpolicy.ownership.config import PolicyError, load_yaml, parse_policy
from arpolicy.ownership.policy import (
    FALLBACK,
    LOCKED,
    CompiledPolicy,
    Current,
    Person,
    Pools,
    decide,
    pool,
    rebalance,
)

ANN = Person(1, "ann@shop.example", "DACH", "collector", True)
BEN = Person(2, "ben@shop.example", "DACH", "collector", True)
CAL = Person(3, "cal@shop.example", "US", "collector", True)
DEE = Person(4, "dee@shop.example", "DACH", "collector", False)  # inactive
SAL = Person(5, "sal@shop.example", "US", "sales", True)
PEOPLE = [ANN, BEN, CAL, DEE, SAL]
NOBODY = Current(None, None)


def german(record):
    return record.get("language") == "de"


def compiled(data, matchers=None):
    policy = parse_policy(data)
    matchers = matchers if matchers is not None else [None] * len(policy.rules)
    return CompiledPolicy.build(policy, matchers, PEOPLE)


def test_fixed_user():
    p = compiled(
        {
            "role": "finance",
            "rules": [
                {"name": "all", "assign": {"strategy": "fixed", "users": ["cal@shop.example"]}}
            ],
        }
    )
    d = decide(p, 10, {}, NOBODY, Pools())
    assert (d.after, d.rule, d.changed) == (CAL.id, "all", True)


def test_first_matching_rule_decides_and_fallback_catches_the_rest():
    p = compiled(
        {
            "role": "finance",
            "rules": [
                {
                    "name": "DACH",
                    "when": "language = de",
                    "assign": {"strategy": "fixed", "users": ["ann@shop.example"]},
                }
            ],
            "fallback": {"strategy": "fixed", "users": ["cal@shop.example"]},
        },
        [german],
    )
    assert decide(p, 1, {"language": "de"}, NOBODY, Pools()).after == ANN.id
    d = decide(p, 2, {"language": "en"}, NOBODY, Pools())
    assert (d.after, d.rule, d.gaps) == (CAL.id, FALLBACK, ())


def test_inactive_user_falls_back_and_reports_the_gap():
    p = compiled(
        {
            "role": "finance",
            "rules": [
                {"name": "r", "assign": {"strategy": "fixed", "users": ["dee@shop.example"]}}
            ],
            "fallback": {"strategy": "fixed", "users": ["cal@shop.example"]},
        }
    )
    d = decide(p, 1, {}, NOBODY, Pools())
    assert d.after == CAL.id and d.rule == FALLBACK
    assert d.gaps == ("r: fixed user: dee@shop.example is inactive",)


def test_nobody_left_keeps_the_owner_and_reports():
    p = compiled(
        {
            "role": "finance",
            "rules": [
                {"name": "r", "assign": {"strategy": "fixed", "users": ["gone@shop.example"]}}
            ],
        }
    )
    d = decide(p, 1, {}, Current(CAL.id, "r"), Pools())
    assert (d.after, d.changed, d.rule) == (CAL.id, False, None)
    assert d.gaps == ("r: fixed user: no user gone@shop.example",)


def test_a_locked_owner_never_changes():
    p = compiled(
        {
            "role": "finance",
            "rules": [
                {"name": "r", "assign": {"strategy": "fixed", "users": ["ann@shop.example"]}}
            ],
        }
    )
    d = decide(p, 1, {}, Current(CAL.id, None, locked=True), Pools())
    assert (d.after, d.rule, d.changed) == (CAL.id, LOCKED, False)


def test_round_robin_is_even_and_skips_inactive_users():
    p = compiled(
        {
            "role": "finance",
            "rules": [
                {"name": "rr", "assign": {"strategy": "round_robin", "users": ["team:DACH"]}}
            ],
        }
    )
    pools = Pools()
    owners = [decide(p, i, {}, NOBODY, pools).after for i in range(10)]
    assert owners == [ANN.id, BEN.id] * 5  # dee (inactive) skipped
    assert pools.cursors == {"finance:rr": 0} and "finance:rr" in pools.moved_cursors


def test_round_robin_is_sticky_while_the_rule_matches():
    p = compiled(
        {
            "role": "finance",
            "rules": [
                {"name": "rr", "assign": {"strategy": "round_robin", "users": ["team:DACH"]}}
            ],
        }
    )
    pools = Pools(customers={BEN.id: 1})
    d = decide(p, 1, {}, Current(BEN.id, "rr"), pools)
    assert (d.after, d.changed, d.reason.endswith("kept: still in the pool")) == (
        BEN.id,
        False,
        True,
    )
    assert pools.cursors == {}


def test_a_change_of_matching_rule_reassigns():
    p = compiled(
        {
            "role": "finance",
            "rules": [
                {
                    "name": "DACH",
                    "when": "language = de",
                    "assign": {"strategy": "round_robin", "users": ["team:DACH"]},
                },
                {"name": "rest", "assign": {"strategy": "fixed", "users": ["cal@shop.example"]}},
            ],
        },
        [german, None],
    )
    d = decide(p, 1, {"language": "de"}, Current(CAL.id, "rest"), Pools(customers={CAL.id: 1}))
    assert d.after == ANN.id and d.rule == "DACH" and d.rule_changed


def test_least_loaded_by_customers_with_capacity():
    p = compiled(
        {
            "role": "finance",
            "rules": [
                {
                    "name": "ll",
                    "assign": {
                        "strategy": "least_loaded",
                        "users": ["ann@shop.example", "ben@shop.example"],
                        "capacity": {"ann@shop.example": 1},
                    },
                }
            ],
            "fallback": {"strategy": "fixed", "users": ["cal@shop.example"]},
        }
    )
    pools = Pools(customers={ANN.id: 0, BEN.id: 3})
    got = [decide(p, i, {}, NOBODY, pools).after for i in range(3)]
    assert got == [ANN.id, BEN.id, BEN.id]  # ann full after one
    assert pools.customers == {ANN.id: 1, BEN.id: 5}


def test_least_loaded_by_outstanding():
    p = compiled(
        {
            "role": "finance",
            "rules": [
                {
                    "name": "ll",
                    "assign": {
                        "strategy": "least_loaded",
                        "users": ["ann@shop.example", "ben@shop.example"],
                        "by": "outstanding",
                    },
                }
            ],
        }
    )
    pools = Pools(outstanding={ANN.id: Decimal("1000"), BEN.id: Decimal("10")})
    a = decide(p, 1, {}, NOBODY, pools, amount=Decimal("5000"))
    b = decide(p, 2, {}, NOBODY, pools, amount=Decimal("1"))
    assert (a.after, b.after) == (BEN.id, ANN.id)


def test_everyone_at_capacity_is_a_gap():
    p = compiled(
        {
            "role": "finance",
            "rules": [
                {
                    "name": "ll",
                    "assign": {
                        "strategy": "least_loaded",
                        "users": ["ann@shop.example"],
                        "capacity": 1,
                    },
                }
            ],
        }
    )
    d = decide(p, 1, {}, NOBODY, Pools(customers={ANN.id: 1}))
    assert d.after is None and d.gaps == ("ll: everyone in the pool is at capacity",)


def test_from_field_and_mapping():
    p = compiled(
        {
            "role": "finance",
            "rules": [
                {
                    "name": "csm",
                    "when": "x",
                    "assign": {"strategy": "from_field", "field": "cf_collector"},
                },
                {
                    "name": "paired",
                    "assign": {
                        "strategy": "mapping",
                        "field": "sales_owner",
                        "map": {"sal@shop.example": "ben@shop.example"},
                    },
                },
            ],
        },
        [lambda r: "cf_collector" in r, None],
    )
    assert decide(p, 1, {"cf_collector": "Cal@Shop.example"}, NOBODY, Pools()).after == CAL.id
    d = decide(p, 2, {"sales_owner": "sal@shop.example"}, NOBODY, Pools())
    assert d.after == BEN.id and "maps to ben@shop.example" in d.reason
    d = decide(p, 3, {"sales_owner": "x@shop.example"}, NOBODY, Pools())
    assert d.after is None and "not in the map" in d.gaps[0]


def test_team_of_the_other_owner():
    p = compiled(
        {
            "role": "finance",
            "rules": [
                {"name": "team", "assign": {"strategy": "round_robin", "team_of": "sales_owner"}}
            ],
        }
    )
    assert decide(p, 1, {"sales_owner": "sal@shop.example"}, NOBODY, Pools()).after == CAL.id
    members, gap = pool(p, p.rules[0].assign, {"sales_owner": None})
    assert members == [] and "has no team" in gap


def test_rebalance_by_count_moves_the_fewest_newest_customers():
    ll = (
        parse_policy(
            {
                "role": "finance",
                "rules": [
                    {"name": "r", "assign": {"strategy": "round_robin", "users": ["team:DACH"]}}
                ],
            }
        )
        .rules[0]
        .assign
    )
    owned = [(i, ANN.id, Decimal(1)) for i in range(1, 8)] + [(8, BEN.id, Decimal(1))]
    moves = rebalance(owned, [ANN, BEN], ll)
    assert moves == {7: BEN.id, 6: BEN.id, 5: BEN.id}
    after = Counter({ANN.id: 7, BEN.id: 1})
    for _, to in moves.items():
        after[ANN.id] -= 1
        after[to] += 1
    assert after == Counter({ANN.id: 4, BEN.id: 4})


def test_rebalance_by_outstanding():
    ll = (
        parse_policy(
            {
                "role": "finance",
                "rules": [
                    {
                        "name": "r",
                        "assign": {
                            "strategy": "least_loaded",
                            "users": ["team:DACH"],
                            "by": "outstanding",
                        },
                    }
                ],
            }
        )
        .rules[0]
        .assign
    )
    owned = [(1, ANN.id, Decimal(100)), (2, ANN.id, Decimal(60)), (3, ANN.id, Decimal(50))]
    assert rebalance(owned, [ANN, BEN], ll) == {2: BEN.id, 3: BEN.id}


@pytest.mark.parametrize(
    ("data", "where"),
    [
        (
            {
                "role": "finance",
                "rules": [{"name": "a", "assign": {"strategy": "fixed", "users": []}}],
            },
            "rules[0].assign.users",
        ),
        (
            {
                "role": "finance",
                "rules": [{"name": "a", "assign": {"strategy": "mapping", "field": "x"}}],
            },
            "rules[0].assign.map",
        ),
        ({"role": "owner", "rules": []}, "role"),
        (
            {
                "role": "finance",
                "rules": [
                    {"name": "a", "assign": {"strategy": "fixed", "users": ["a@b.c"]}, "extra": 1}
                ],
            },
            "rules.0.extra",
        ),
        ({"role": "finance", "rules": []}, "rules"),
        (
            {
                "role": "sales",
                "rules": [
                    {"name": "a", "assign": {"strategy": "fixed", "users": ["a@b.c"]}},
                    {"name": "a", "assign": {"strategy": "fixed", "users": ["a@b.c"]}},
                ],
            },
            "rules[1].name",
        ),
    ],
)
def test_policy_errors_say_where(data, where):
    with pytest.raises(PolicyError) as exc:
        parse_policy(data)
    assert exc.value.errors[0]["where"] == where


def test_yaml_with_two_policies_and_a_syntax_error():
    text = """
policies:
  - role: finance
    rules:
      - name: DACH
        when: language includes (de)
        assign: {strategy: round_robin, users: ["team:DACH"]}
  - role: sales
    fallback: {strategy: fixed, users: [sal@shop.example]}
"""
    finance, sales = load_yaml(text)
    assert finance.rules[0].when == "language includes (de)" and sales.fallback is not None
    with pytest.raises(Exception) as exc:
        load_yaml("role: [finance")
    assert "line" in str(exc.value)
