"""Owner assignment: a customer's finance and sales point of contact, chosen by rules.

``config`` reads and validates a policy (JSON or YAML); ``policy`` decides, purely, who
should own a customer; ``service`` loads the facts, calls the policy and writes the
changes with their audit entries and webhooks in the caller's transaction.
"""
