"""``arpolicy users set-password`` and ``arpolicy users invite``."""

from __future__ import annotations

import mailbox
import re

from sqlalchemy import select

from arpolicy.auth.passwords import verify_password
from arpolicy.cli.main import app
from arpolicy.kit.db import transaction
from arpolicy.models import AuditEvent, User, UserToken, UserTokenKind
from tests.fixtures.factories import create_tenant, create_user


def _setup(engine):
    with transaction(engine) as s:
        t = create_tenant(s, "shop")
        create_user(s, t, email="ann@shop.example")
        create_user(s, t, email="old@shop.example", active=False)


def test_set_password_from_stdin_stores_an_argon2_hash_and_audits(cli_db, runner):
    _setup(cli_db)
    result = runner.invoke(
        app, ["users", "set-password", "ANN@shop.example", "--stdin"], input="a long password\n"
    )
    assert result.exit_code == 0, result.output
    with transaction(cli_db, write=False) as s:
        user = s.scalar(select(User).where(User.email == "ann@shop.example"))
        assert user.password_hash.startswith("$argon2id$")
        assert verify_password(user.password_hash, "a long password")
        actions = s.scalars(select(AuditEvent.action)).all()
    assert "user.password_set" in actions


def test_a_weak_password_or_an_unknown_user_is_refused_and_nothing_changes(cli_db, runner):
    _setup(cli_db)
    short = runner.invoke(
        app, ["users", "set-password", "ann@shop.example", "--stdin"], input="short\n"
    )
    assert short.exit_code == 2
    assert "at least 10" in short.output
    unknown = runner.invoke(app, ["users", "invite", "nobody@shop.example"])
    assert unknown.exit_code != 0 and "no user nobody@shop.example" in unknown.output
    inactive = runner.invoke(app, ["users", "invite", "old@shop.example"])
    assert inactive.exit_code != 0 and "deactivated" in inactive.output
    with transaction(cli_db, write=False) as s:
        assert s.scalar(select(User.password_hash).where(User.email == "ann@shop.example")) is None
        assert s.scalars(select(UserToken)).all() == []


def test_invite_emails_a_one_time_link_and_prints_it(cli_db, runner, tmp_path, monkeypatch):
    _setup(cli_db)
    monkeypatch.setenv("ARPOLICY_MAIL_URL", f"maildir://{tmp_path / 'mail'}")
    monkeypatch.setenv("ARPOLICY_PUBLIC_URL", "https://ar.shop.example")
    result = runner.invoke(app, ["users", "invite", "ann@shop.example"])
    assert result.exit_code == 0, result.output
    printed = re.search(r"https://ar\.shop\.example/invitation/\S+", result.output)
    assert printed
    (message,) = list(mailbox.Maildir(tmp_path / "mail", create=False))
    assert message["To"] == "ann@shop.example"
    assert printed.group(0) in message.get_payload(decode=True).decode()
    with transaction(cli_db, write=False) as s:
        (token,) = s.scalars(select(UserToken)).all()
        assert token.kind is UserTokenKind.INVITATION
        assert token.secret_hash not in result.output  # only the hash is stored
