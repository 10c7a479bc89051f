"""``arpolicy engage``: engagement cycles (reminder emails): load, list, status, run, forecast,
backtest, settings, tasks."""

from __future__ import annotations

import getpass
import json
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import typer

from arpolicy.audit import Actor
from arpolicy.cli import common, terminal
from arpolicy.engagement import admin, service
from arpolicy.engagement.config import CycleError, example_text, load_yaml
from arpolicy.engagement.repository import stored_cycles
from arpolicy.exceptions import ValidationError
from arpolicy.kit.clock import local_today

app = typer.Typer(help="Engagement cycles: rule-driven reminder emails.", no_args_is_help=True)
CycleOption = typer.Option(None, "--cycle", "-c", help="Only this cycle (repeatable).")


def _actor(tenant_id: int) -> Actor:
    return Actor(tenant_id=tenant_id, label=f"cli:{getpass.getuser()}")


def _errors(exc: CycleError) -> None:
    for e in exc.errors[1:]:
        terminal.note(f"error: {e['where']}: {e['what']}\n  fix: {e['fix']}")


@app.command("load")
@common.handle_errors
def load(
    path: Path = typer.Argument(..., help="YAML file: `cycles: [...]` and optional `settings:`."),
    tenant: str | None = common.TenantOption,
) -> None:
    """Validate and save the cycles (and settings) of a YAML file."""
    if not path.is_file():
        raise ValidationError(f"{path} does not exist", where="PATH", fix="check the path")
    try:
        cycles, settings = load_yaml(path.read_text(encoding="utf-8"))
    except CycleError as exc:  # every problem, not just the first
        _errors(exc)
        raise
    now = common.clock().now()
    with common.tenant_session(tenant, write=True) as (session, t):
        if settings is not None:
            admin.save_settings(session, t, _actor(t.id), settings.model_dump(mode="json"), at=now)
            terminal.say("settings saved")
        for cycle in cycles:
            try:
                row = admin.save_cycle(
                    session, t, _actor(t.id), cycle.model_dump(mode="json"), at=now
                )
            except CycleError as exc:
                _errors(exc)
                raise
            terminal.say(
                f"cycle {row.name!r} saved: version {row.version}, {row.status.value}, "
                f"{len(cycle.reminders)} reminder(s)"
            )
            day = local_today(common.clock(), t.timezone)
            for w in admin.cycle_warnings(session, t, row.config, as_of=day):
                terminal.warning(f"cycle {row.name!r}: {w.message}", w.fix)


@app.command("cycles")
@common.handle_errors
def cycles_cmd(tenant: str | None = common.TenantOption, as_json: bool = common.JsonOption) -> None:
    """The tenant's cycles by priority."""
    with common.tenant_session(tenant) as (session, t):
        rows: list[dict[str, Any]] = [
            {
                "name": s.row.name,
                "status": s.row.status.value,
                "priority": s.row.priority,
                "version": s.row.version,
                "reminders": [r.name for r in s.cycle.reminders],
                "config": s.row.config,
            }
            for s in stored_cycles(session, t)
        ]
    if as_json:
        terminal.print_json(rows)
        return
    if not rows:
        terminal.say("no cycles (load some with `arpolicy engage load FILE`)")
        return
    terminal.table(
        None,
        [
            ("name", "left"),
            ("status", "left"),
            ("priority", "right"),
            ("version", "right"),
            ("reminders", "left"),
        ],
        [
            [
                r["name"],
                r["status"],
                str(r["priority"]),
                str(r["version"]),
                ", ".join(r["reminders"]),
            ]
            for r in rows
        ],
    )


@app.command("status")
@common.handle_errors
def status_cmd(
    name: str = typer.Argument(..., help="The cycle's name."),
    status: str = typer.Argument(..., help="draft, test or live."),
    tenant: str | None = common.TenantOption,
) -> None:
    """Move a cycle to draft, test (emails go to the internal address) or live."""
    if status not in ("draft", "test", "live"):
        raise ValidationError(
            f"{status!r} is not a cycle status", where="STATUS", fix="draft, test or live"
        )
    now = common.clock().now()
    with common.tenant_session(tenant, write=True) as (session, t):
        row = admin.set_status(session, t, _actor(t.id), name, status, at=now)
        terminal.say(f"cycle {row.name!r} is {row.status.value} (version {row.version})")


@app.command("settings")
@common.handle_errors
def settings_cmd(
    tenant: str | None = common.TenantOption,
    set_: list[str] = typer.Option(
        [], "--set", help="KEY=VALUE, e.g. --set daily_cap=500 (repeatable)."
    ),
    as_json: bool = common.JsonOption,
) -> None:
    """Show the sending settings, or change some with --set."""
    now = common.clock().now()
    with common.tenant_session(tenant, write=bool(set_)) as (session, t):
        current = admin.settings_of(session, t).model_dump(mode="json")
        if set_:
            for item in set_:
                key, sep, value = item.partition("=")
                if not sep or key not in current:
                    raise ValidationError(
                        f"{item!r} is not KEY=VALUE with a known key",
                        where="--set",
                        fix=f"keys: {', '.join(current)}",
                    )
                current[key] = None if value == "" else value
            current = admin.save_settings(session, t, _actor(t.id), current, at=now).model_dump(
                mode="json"
            )
    if as_json:
        terminal.print_json(current)
        return
    for k, v in current.items():
        terminal.say(f"{k}: {v}")


def _report(rep: dict[str, Any], limit: int) -> None:
    verb = "would send" if rep["dry_run"] else "decided"
    counts = rep["counts"]
    terminal.say(
        f"as of {rep['as_of']}: {rep['customers']} customers with open items in "
        f"{', '.join(rep['cycles']) or 'no cycle'}; {verb} {counts.get('email', 0)} email(s), "
        f"{counts.get('task', 0)} task(s); waiting {counts.get('wait', 0)}, paused "
        f"{counts.get('paused', 0)}" + ("" if rep["dry_run"] else f"; written {rep['written']}")
    )
    shown = rep["emails"][: limit or None]
    if shown:
        terminal.table(
            None,
            [(h, "left") for h in ("customer", "cycle", "reminder", "to", "subject", "why")],
            [
                [
                    e["external_id"],
                    e["cycle"],
                    f"{e['reminder']} #{e['occurrence']}",
                    ", ".join(e["to"]),
                    e["subject"],
                    e["reason"],
                ]
                for e in shown
            ],
        )
    for task in rep["tasks"][: limit or None]:
        terminal.note(f"task: customer {task['external_id']}: {task['detail']}")


@app.command("run")
@common.handle_errors
def run_cmd(
    tenant: str | None = common.TenantOption,
    as_of: str | None = common.AsOfOption,
    dry_run: bool = typer.Option(
        False, "--dry-run", help="List every email it would send, and why; write nothing."
    ),
    cycle: list[str] = CycleOption,
    limit: int = typer.Option(50, help="Emails to list (0: all)."),
    now: str | None = common.NowOption,
    as_json: bool = common.JsonOption,
) -> None:
    """Run the live and test cycles once (or the named ones, drafts included). A past
    --as-of decides that day; its emails go out at the next send window after now."""
    clock = common.clock(now)
    with common.tenant_session(tenant, write=not dry_run) as (session, t):
        on = common.parse_as_of(as_of, t, clock)
        if on < local_today(clock, t.timezone):
            terminal.note(
                f"note: {on} is past: its emails go out at the next send window "
                "after now (docs/engagement.md, Past days)"
            )
        rep = service.run(
            session,
            t,
            _actor(t.id),
            as_of=on,
            now=clock.now(),
            dry_run=dry_run,
            cycles=cycle or None,
        ).to_json()
    if as_json:
        terminal.print_json(rep)
    else:
        _report(rep, limit)


@app.command("forecast")
@common.handle_errors
def forecast_cmd(
    days: int = typer.Option(14, min=1, max=366, help="How many days ahead."),
    tenant: str | None = common.TenantOption,
    cycle: list[str] = CycleOption,
    now: str | None = common.NowOption,
    as_json: bool = common.JsonOption,
) -> None:
    """What will be sent in the next DAYS days (from today, or the day of --now), per day
    it goes out (the send window's next opening) and per cycle; tasks apart."""
    clock = common.clock(now)
    with common.tenant_session(tenant) as (session, t):
        start = common.parse_as_of(None, t, clock)
        out = admin.forecast(
            session, t, start=start, days=days, now=clock.now(), cycles=cycle or None
        )
    _plan(out, as_json)


@app.command("backtest")
@common.handle_errors
def backtest_cmd(
    since: str = typer.Option(..., "--from", help="First day (YYYY-MM-DD)."),
    until: str = typer.Option(..., "--to", help="Last day (YYYY-MM-DD)."),
    cycle: list[str] = CycleOption,
    tenant: str | None = common.TenantOption,
    as_json: bool = common.JsonOption,
) -> None:
    """Replay cycles (drafts too) over a past period of the ledger: what they would have sent."""
    try:
        first, last = date.fromisoformat(since), date.fromisoformat(until)
    except ValueError:
        raise ValidationError(
            "dates are YYYY-MM-DD", where="--from/--to", fix="e.g. --from 2026-01-01"
        ) from None
    if last < first or (last - first) > timedelta(days=366):
        raise ValidationError(
            "the period must run forward and last at most a year",
            where="--from/--to",
            fix="give --from before --to, at most 366 days apart",
        )
    with common.tenant_session(tenant) as (session, t):
        out = admin.backtest(session, t, start=first, end=last, cycles=cycle or None)
    _plan(out, as_json)


def _plan(out: dict[str, Any], as_json: bool) -> None:
    if as_json:
        terminal.print_json(out)
        return
    later = f", {out['later']} more decided by then go out after it" if out["later"] else ""
    terminal.say(
        f"{out['total']} email(s) sent from {out['from']} to {out['to']} "
        f"({', '.join(out['cycles'])}), by the day they go out{later}"
    )
    rows = [[d["day"], c, str(n)] for d in out["days"] for c, n in d["per_cycle"].items()]
    if rows:
        terminal.table(None, [("day", "left"), ("cycle", "left"), ("emails", "right")], rows)
    tasks = [[d["day"], c, str(n)] for d in out["days"] for c, n in d["tasks_per_cycle"].items()]
    if tasks:
        terminal.say(
            f"{out['tasks_total']} task(s) for finance owners (customers with nobody "
            "to email; not emails):"
        )
        terminal.table(None, [("day", "left"), ("cycle", "left"), ("tasks", "right")], tasks)


@app.command("example")
def example_cmd() -> None:
    """Print the example cycles (friendly, firm, final in en/de/fr) to start from."""
    terminal.say(example_text().rstrip())


@app.command("show")
@common.handle_errors
def show(name: str = typer.Argument(...), tenant: str | None = common.TenantOption) -> None:
    """One cycle's stored configuration (JSON)."""
    with common.tenant_session(tenant) as (session, t):
        row = admin.get_cycle(session, t, name)
        terminal.say(json.dumps(row.config, indent=2, ensure_ascii=False))
