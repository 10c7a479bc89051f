"""``arpolicy db``: the database roles (PostgreSQL).

Migrations run as the role that owns the tables (``arpolicy init``); the service runs as
another role that owns nothing, so PostgreSQL's row-level security applies to it
(docs/security.md).
"""

from __future__ import annotations

import typer

from arpolicy.cli import terminal
from arpolicy.cli.common import JsonOption, engine, handle_errors
from arpolicy.tenancy.rls import Grants, grant_service_role

app = typer.Typer(help="Database roles (PostgreSQL): the service role.", no_args_is_help=True)

LoginOption = typer.Option(
    True,
    "--login/--no-login",
    help="Create the role able to log in (no password: set one with ALTER ROLE, or use "
    "trust/peer/certificate authentication). Ignored when the role exists.",
)


@app.command("grant")
@handle_errors
def grant(
    role: str = typer.Argument(..., help="The role the service connects as, e.g. arpolicy_app."),
    login: bool = LoginOption,
    as_json: bool = JsonOption,
) -> None:
    """Create ROLE if missing and grant it what the service needs, and no more (run as the
    owner, after every `arpolicy init`)."""
    report(grant_service_role(engine(), role, login=login), as_json)


def report(done: Grants, as_json: bool = False) -> None:
    if as_json:
        terminal.print_json(
            {
                "role": done.role,
                "created": done.created,
                "read_write": done.read_write,
                "append_only": done.append_only,
                "read_only": done.read_only,
                "functions": done.functions,
            }
        )
        return
    verb = "created role" if done.created else "role"
    terminal.say(
        f"{verb} {done.role}: read/write on {len(done.read_write)} tables, "
        f"select/insert only on {', '.join(done.append_only)}, "
        f"select only on {', '.join(done.read_only)}, "
        f"execute on {len(done.functions)} lookup functions"
    )
