"""Engagement cycles: rule-driven reminder emails (docs/engagement.md).

The rooms of a policy module (docs/develop/modules.md): ``config`` (cycles and sending
settings as data), ``policy`` (pure: a day's decision, :func:`policy.decide_day`),
``repository`` (every query), ``service`` (a run: load, decide, write the emails, outbox
rows, tasks and audit events), ``admin`` (configuring cycles and settings; forecast and
backtest), ``tasks`` (the worker's scheduled runs). Beside them: the email templates
(``templates`` and ``template_*``) and replies and bounces (``inbound``, ``inbound_parse``).
Sending and reading mail is the platform's (:mod:`arpolicy.mail`); the worker delivers
the emails a run queued.
"""
