"""``arpolicy``: the command line. One module per command group."""

from __future__ import annotations

import typer

from arpolicy.cli import (
    access,
    customers,
    db,
    demo,
    engagement,
    ledgerio,
    ownership,
    report,
    rules,
    setup,
    users,
)
from arpolicy.cli.mail import app as mail_app
from arpolicy.cli.worker import register as register_worker

app = typer.Typer(
    name="arpolicy",
    help="Accounts-receivable policies as rules.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    rich_markup_mode=None,
)
setup.register(app)
demo.register(app)
ledgerio.register(app)
access.register(app)
register_worker(app)
app.add_typer(customers.app, name="customers")
app.add_typer(report.app, name="report")
app.add_typer(rules.app, name="rules")
app.add_typer(db.app, name="db")
app.add_typer(ownership.app, name="assign")
app.add_typer(engagement.app, name="engage")
app.add_typer(mail_app, name="mail")
app.add_typer(users.app, name="users")


def main() -> None:
    app()


if __name__ == "__main__":
    main()
