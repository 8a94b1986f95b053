"""Django's user commands work with the email user model."""

from __future__ import annotations

from io import StringIO
from unittest import mock

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from bearer_auth.models import User

pytestmark = [pytest.mark.django_db, pytest.mark.custom_user_model]


def test_createsuperuser_noinput_reads_email_and_password_from_environment(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("DJANGO_SUPERUSER_EMAIL", "Ops@Example.com")
    monkeypatch.setenv("DJANGO_SUPERUSER_PASSWORD", "long-and-random-9f2k")
    out = StringIO()
    call_command("createsuperuser", interactive=False, stdout=out)
    user = User.objects.get()
    assert user.email == "Ops@example.com"
    assert user.is_superuser
    assert user.is_staff
    assert user.check_password("long-and-random-9f2k")
    assert "Superuser created successfully." in out.getvalue()


def test_createsuperuser_noinput_without_email_fails() -> None:
    with pytest.raises(CommandError, match="email"):
        call_command("createsuperuser", interactive=False, stdout=StringIO())
    assert not User.objects.exists()


def test_createsuperuser_interactive_prompts_for_email_and_password() -> None:
    out = StringIO()
    with (
        mock.patch("builtins.input", side_effect=["Interactive@Example.com"]) as prompt,
        mock.patch("getpass.getpass", side_effect=["long-and-random-9f2k"] * 2),
    ):
        call_command(
            "createsuperuser",
            interactive=True,
            stdout=out,
            stdin=mock.MagicMock(isatty=mock.Mock(return_value=True)),
        )
    assert "Email address" in prompt.call_args.args[0]
    user = User.objects.get()
    assert user.email == "Interactive@example.com"
    assert user.check_password("long-and-random-9f2k")


def test_createsuperuser_refuses_duplicate_email_in_other_case(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    User.objects.create_user("taken@example.com", "pw")
    monkeypatch.setenv("DJANGO_SUPERUSER_EMAIL", "TAKEN@example.com")
    monkeypatch.setenv("DJANGO_SUPERUSER_PASSWORD", "long-and-random-9f2k")
    with pytest.raises(CommandError, match="already taken"):
        call_command("createsuperuser", interactive=False, stdout=StringIO())
    assert User.objects.count() == 1


def test_changepassword_changes_the_password_of_the_user_named_by_email() -> None:
    user = User.objects.create_user("Change@example.com", "old-password-1")
    with mock.patch("getpass.getpass", side_effect=["new-password-2x", "new-password-2x"]):
        call_command("changepassword", "Change@example.com", stdout=StringIO())
    user.refresh_from_db()
    assert user.check_password("new-password-2x")
