"""Owner assignment: a customer's finance and sales point of contact, chosen by rules.

The rooms of a policy module (docs/develop/modules.md): ``config`` (a policy as data,
validated), ``policy`` (pure: who should own each customer), ``repository`` (every query),
``service`` (load, decide, write the changes with their audit events and webhooks in the
caller's transaction), ``admin`` (saving policies, owners set by hand, explanations).
"""
