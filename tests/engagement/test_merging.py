"""Several steps due to one customer on one day, walked on SQLite and PostgreSQL (issue 12,
item 6): one email lists each invoice under its step (or, with ``merge: false``, one email
per step), and a step whose moment passed while the customer could not be emailed is sent
only while its meaning is still true, else dropped with a recorded reason."""

from __future__ import annotations

from datetime import UTC, date, datetime, time

from sqlalchemy import select

from arpolicy.engagement import service
from arpolicy.models import AuditEvent
from tests.engagement.cadence_support import customer, emails_of, every_day, run_on, shop
from tests.engagement.cycles_support import _at

BEFORE = {"en": {"subject": "Coming due", "text": "{{ invoice_table(invoices) }}"}}
TODAY = {
    "en": {
        "subject": "Due today",
        "text": "Due today: {{ invoices[0].number }}\n"
        "{% for s in steps[1:] %}{{ s.reminder }}: {{ s.invoices[0].number }}\n{% endfor %}",
    }
}
CYCLE = {
    "name": "Three steps",
    "status": "live",
    "reminders": [
        {"name": "3 days before", "anchor": "due_date", "offset_days": -3, "template": BEFORE},
        {"name": "due today", "anchor": "due_date", "offset_days": 0, "template": TODAY},
        {
            "name": "overdue",
            "anchor": "due_date",
            "offset_days": 7,
            "repeat": {"every_days": 7, "times": 52},
            "template": "firm",
        },
    ],
}
A, B, C = date(2026, 11, 23), date(2026, 12, 7), date(2026, 12, 10)
PLAIN_TODAY = {"en": {"subject": "Due today", "text": "Due today: {{ invoices[0].number }}"}}
ISSUE = {
    **CYCLE,
    "reminders": [
        CYCLE["reminders"][0],  # type: ignore[index]
        {**CYCLE["reminders"][1], "template": PLAIN_TODAY},  # type: ignore[index]
        CYCLE["reminders"][2],
    ],
}  # type: ignore[index]
"""The cycle of the issue: its "due today" template lists one step (it never leads here)."""


def test_steps_due_the_same_day_go_in_one_email_each_under_its_step(session):
    """Invoices due 11-23, 12-07 and 12-10; runs on 12-07, 12-10 and 12-13: the email of
    12-07 lists the overdue one, the one due today and the one due in three days, each
    under its step; 12-10 (the third's due date) says "due today"; 12-13 sends nothing."""
    t, actor, owner = shop(session, ISSUE)
    _c, (a, b, c) = customer(session, t, owner, A, B, C)
    got = run_on(session, t, actor, [date(2026, 12, 7), date(2026, 12, 10), date(2026, 12, 13)])
    assert got == [
        (
            B,
            "overdue",
            sorted(
                [
                    (a.number, "overdue", B),
                    (b.number, "due today", B),
                    (c.number, "3 days before", B),
                ]
            ),
        ),
        (C, "due today", [(c.number, "due today", C)]),
    ]
    merged, today = emails_of(session, t)
    text = merged.text_body
    # the firm reminder about the overdue invoice, then each other step under its heading
    assert text.index(a.number) < text.index("Due today:") < text.index(b.number)
    assert text.index(b.number) < text.index("Coming due:") < text.index(c.number)
    assert "Amount overdue: $3,000.00" in text  # the overdue one only, not the others
    assert today.subject == "Due today" and today.text_body == f"Due today: {c.number}\n"
    assert "due today: " in merged.reason and "3 days before: " in merged.reason


def test_merge_false_sends_one_email_per_step(session):
    t, actor, owner = shop(session, {**CYCLE, "merge": False})
    _c, (a, b, c) = customer(session, t, owner, A, B, C)
    got = run_on(session, t, actor, [date(2026, 12, 7), date(2026, 12, 10)])
    assert sorted(got) == sorted(
        [
            (B, "overdue", [(a.number, "overdue", B)]),
            (B, "due today", [(b.number, "due today", B)]),
            (B, "3 days before", [(c.number, "3 days before", B)]),
            (C, "due today", [(c.number, "due today", C)]),
        ]
    )
    texts = {e.reminder: e.text_body for e in emails_of(session, t) if e.due_on == B}
    assert texts["due today"] == f"Due today: {b.number}\n" and "Due today:" not in texts["overdue"]


def test_a_custom_template_without_steps_gets_one_email_per_step(session):
    """A template that does not list ``steps`` could not show the other steps' invoices:
    its customer gets one email per step instead of losing them."""
    plain = {"en": {"subject": "Overdue", "text": "{{ invoice_table(invoices) }}"}}
    cycle = {
        **CYCLE,
        "reminders": [
            *CYCLE["reminders"][:2],  # type: ignore[index]
            {**CYCLE["reminders"][2], "template": plain},
        ],
    }  # type: ignore[index]
    t, actor, owner = shop(session, cycle)
    _c, (a, b) = customer(session, t, owner, A, B)
    got = run_on(session, t, actor, [B])
    assert sorted(got) == sorted(
        [(B, "overdue", [(a.number, "overdue", B)]), (B, "due today", [(b.number, "due today", B)])]
    )


def test_a_step_past_its_meaning_is_dropped_with_a_reason(session):
    """Daily runs; invoices due 12-07 and 12-09. On 12-07 the first is due today and the
    second's "3 days before" (of 12-06, held by the quiet days) is still true: one email.
    The second's "due today" (12-09) falls in the quiet days: on 12-10 it is no longer due
    today, so it is dropped (recorded once, with its reason), never sent late."""
    t, actor, owner = shop(session, CYCLE)
    _c, (d7, d9) = customer(session, t, owner, date(2026, 12, 7), date(2026, 12, 9))
    got = run_on(session, t, actor, every_day(date(2026, 12, 1), date(2026, 12, 12)))
    # reported by every run while it is due (until a later step overtakes it), recorded once
    report = service.run(
        session, t, actor, as_of=date(2026, 12, 12), now=_at(date(2026, 12, 12), 15), dry_run=True
    )
    assert [(s["invoice"], s["reminder"], s["step"]) for s in report.skipped] == [
        (d9.number, "due today", "2026-12-09")
    ]
    assert "no longer due today" in report.skipped[0]["reason"] and report.counts["email"] == 0
    got += run_on(session, t, actor, every_day(date(2026, 12, 13), date(2026, 12, 17)))
    merged = emails_of(session, t)[1]
    assert merged.text_body == f"Due today: {d7.number}\n3 days before: {d9.number}\n"
    assert got == [
        (date(2026, 12, 4), "3 days before", [(d7.number, "3 days before", date(2026, 12, 4))]),
        (
            date(2026, 12, 7),
            "due today",
            sorted(
                [
                    (d7.number, "due today", date(2026, 12, 7)),
                    (d9.number, "3 days before", date(2026, 12, 6)),
                ]
            ),
        ),
        (date(2026, 12, 14), "overdue", [(d7.number, "overdue", date(2026, 12, 14))]),
        (date(2026, 12, 17), "overdue", [(d9.number, "overdue", date(2026, 12, 16))]),
    ]
    dropped = session.scalars(
        select(AuditEvent).where(
            AuditEvent.tenant_id == t.id, AuditEvent.action == "engagement.step_dropped"
        )
    ).all()
    assert [(e.entity_id, e.after["reminder"], e.after["step"]) for e in dropped] == [
        (str(d9.id), "due today", "2026-12-09")
    ]
    assert "no longer due today" in (dropped[0].reason or "")


def test_a_pause_past_the_due_date_drops_the_before_due_reminder(session):
    """A reply on 12-03 pauses the customer to 12-10: the "3 days before" (12-04) and "due
    today" (12-07) steps of an invoice due 12-07 have lost their meaning by then; neither
    is sent, both are reported, and the first overdue step (12-14) goes out."""
    t, actor, owner = shop(session, ISSUE)
    c, (inv,) = customer(session, t, owner, date(2026, 12, 7))
    c.last_reply_at = datetime.combine(date(2026, 12, 3), time(12), tzinfo=UTC)
    session.flush()
    report = service.run(
        session, t, actor, as_of=date(2026, 12, 10), now=_at(date(2026, 12, 10)), dry_run=True
    )
    assert report.counts["email"] == 0
    (skip,) = report.skipped
    assert skip["invoice"] == inv.number and skip["reminder"] == "due today"
    assert "no longer due today" in skip["reason"] and "3 days before" in skip["overtaken"][0]
    got = run_on(session, t, actor, every_day(date(2026, 12, 4), date(2026, 12, 14)))
    assert got == [(date(2026, 12, 14), "overdue", [(inv.number, "overdue", date(2026, 12, 14))])]
