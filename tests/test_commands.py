"""Django's user commands with the email user model; ``cleartokens`` with bearer_auth's rows."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from io import StringIO
from typing import Any
from unittest import mock

import pytest
import time_machine
from django.core.management import call_command, get_commands
from django.core.management.base import CommandError
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone
from oauth2_provider.management.commands import cleartokens as dot_cleartokens
from oauth2_provider.models import (
    get_access_token_model,
    get_grant_model,
    get_id_token_model,
    get_refresh_token_model,
)
from rest_framework.test import APIClient

from bearer_auth import keys
from bearer_auth.management.commands.cleartokens import Command as ClearTokens
from bearer_auth.models import SigningKey, TokenSession, User
from tests.first_party import REVOKE_URL, refresh, session_of, sign_in
from tests.oauth_client import make_application, token_request
from tests.oidc_support import make_oidc_application, oidc_tokens
from tests.security.flows import authorize, client_credentials_token, oauth_tokens

pytestmark = pytest.mark.django_db


@pytest.mark.custom_user_model
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


@pytest.mark.custom_user_model
def test_createsuperuser_noinput_without_email_fails() -> None:
    with pytest.raises(CommandError, match="email"):
        call_command("createsuperuser", interactive=False, stdout=StringIO())
    assert not User.objects.exists()


@pytest.mark.custom_user_model
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


@pytest.mark.custom_user_model
def test_createsuperuser_refuses_duplicate_email_in_other_case(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    User.objects.create_user("taken@example.com", "pw")
    monkeypatch.setenv("DJANGO_SUPERUSER_EMAIL", "TAKEN@example.com")
    monkeypatch.setenv("DJANGO_SUPERUSER_PASSWORD", "long-and-random-9f2k")
    with pytest.raises(CommandError, match="already taken"):
        call_command("createsuperuser", interactive=False, stdout=StringIO())
    assert User.objects.count() == 1


@pytest.mark.custom_user_model
def test_changepassword_changes_the_password_of_the_user_named_by_email() -> None:
    user = User.objects.create_user("Change@example.com", "old-password-1")
    with mock.patch("getpass.getpass", side_effect=["new-password-2x", "new-password-2x"]):
        call_command("changepassword", "Change@example.com", stdout=StringIO())
    user.refresh_from_db()
    assert user.check_password("new-password-2x")


# cleartokens


@pytest.fixture
def cleartokens() -> Callable[..., str]:
    """Run ``manage.py cleartokens`` as cron would; return its output."""

    def run(*args: str) -> str:
        out = StringIO()
        call_command("cleartokens", *args, stdout=out, stderr=StringIO())
        return out.getvalue()

    return run


def _expire(session: TokenSession) -> None:
    TokenSession.objects.filter(pk=session.pk).update(expires=timezone.now() - timedelta(seconds=1))


def test_cleartokens_deletes_the_sessions_of_signed_out_families(
    cleartokens: Any, user: Any, password: str
) -> None:
    signed_out = sign_in(user, password)
    kept = sign_in(user, password)
    ended = session_of(signed_out["refresh_token"])
    APIClient().post(REVOKE_URL, {"token": signed_out["refresh_token"]}, format="json")

    cleartokens()

    assert not TokenSession.objects.filter(pk=ended.pk).exists()
    assert session_of(kept["refresh_token"]).revoked is None
    assert refresh(kept["refresh_token"]).status_code == 200


def test_cleartokens_keeps_an_expired_session_while_its_family_holds_a_live_refresh_token(
    cleartokens: Any, user: Any, password: str
) -> None:
    """Its refresh must still find the session to be refused; once refused, it goes."""
    pair = sign_in(user, password)
    session = session_of(pair["refresh_token"])
    _expire(session)

    cleartokens()
    assert TokenSession.objects.filter(pk=session.pk).exists()

    assert refresh(pair["refresh_token"]).json()["error"] == "invalid_grant"
    cleartokens()
    assert not TokenSession.objects.filter(pk=session.pk).exists()
    assert refresh(pair["refresh_token"]).json()["error"] == "invalid_grant"


def test_cleartokens_keeps_an_expired_oauth_session_until_its_family_is_refused(
    cleartokens: Any, user: Any
) -> None:
    """/o/token/ ends a family whose session is past its lifetime; without the row it could not."""
    application = make_application()
    tokens = oauth_tokens(user, application)
    session = session_of(tokens["refresh_token"])
    _expire(session)

    cleartokens()
    assert TokenSession.objects.filter(pk=session.pk).exists()

    data = {"grant_type": "refresh_token", "refresh_token": tokens["refresh_token"]}
    assert token_request(application.client_id, data).json()["error"] == "invalid_grant"
    cleartokens()
    assert not TokenSession.objects.filter(pk=session.pk).exists()
    assert token_request(application.client_id, data).json()["error"] == "invalid_grant"


def test_cleartokens_keeps_a_revoked_session_whose_family_still_has_a_live_refresh_token(
    cleartokens: Any, user: Any, password: str
) -> None:
    pair = sign_in(user, password)
    session = session_of(pair["refresh_token"])
    TokenSession.objects.filter(pk=session.pk).update(revoked=timezone.now())

    cleartokens()

    assert TokenSession.objects.filter(pk=session.pk).exists()


def test_cleartokens_still_runs_dots_clean_up(cleartokens: Any, user: Any) -> None:
    client_credentials_token()  # an access token without a refresh token
    authorize(user, make_application())  # a code nobody redeems
    assert get_access_token_model().objects.exists()
    assert get_grant_model().objects.exists()

    with time_machine.travel(timezone.now() + timedelta(hours=1)):
        cleartokens()

    assert not get_access_token_model().objects.exists()
    assert not get_grant_model().objects.exists()


@pytest.mark.usefixtures("oidc")
def test_cleartokens_prunes_expired_id_tokens_and_keeps_their_sessions(
    cleartokens: Any, browser: Any
) -> None:
    """DOT's clean-up deletes an expired ID token (never linked to an access token here)."""
    application = make_oidc_application()
    tokens = oidc_tokens(browser, application)
    expired = session_of(tokens["refresh_token"])
    kept = session_of(oidc_tokens(browser, application)["refresh_token"])
    expired_id_token = expired.id_token_id
    assert expired_id_token is not None
    get_id_token_model().objects.filter(pk=expired_id_token).update(
        expires=timezone.now() - timedelta(seconds=1)
    )

    cleartokens()

    assert not get_id_token_model().objects.filter(pk=expired_id_token).exists()
    expired.refresh_from_db()  # the sign-in goes on without its ID token's row
    assert expired.id_token is None
    assert expired.revoked is None
    kept.refresh_from_db()
    assert kept.id_token is not None
    data = {"grant_type": "refresh_token", "refresh_token": tokens["refresh_token"]}
    assert token_request(application.client_id, data).status_code == 200


def test_cleartokens_prunes_signing_keys_past_their_deadline(cleartokens: Any) -> None:
    with time_machine.travel("2030-01-01 12:00:00+00:00", tick=False) as traveller:
        expired = keys.rotate_signing_key()
        traveller.shift(timedelta(minutes=1))
        retired = keys.rotate_signing_key()
        traveller.shift(timedelta(minutes=1))
        active = keys.rotate_signing_key()
        retired_at = SigningKey.objects.get(kid=retired.kid).retired_at
        assert retired_at is not None
        traveller.move_to(keys.verification_deadline(retired_at))  # its last moment

        cleartokens()

    remaining = set(SigningKey.objects.values_list("kid", flat=True))
    assert remaining == {retired.kid, active.kid}
    assert expired.kid not in remaining  # its deadline passed a minute earlier


def test_cleartokens_is_idempotent_and_reports_at_verbosity_2(
    cleartokens: Any, user: Any, password: str
) -> None:
    for _ in range(3):
        pair = sign_in(user, password)
        APIClient().post(REVOKE_URL, {"token": pair["refresh_token"]}, format="json")
    keys.rotate_signing_key()
    keys.rotate_signing_key()

    with time_machine.travel(timezone.now() + timedelta(hours=1)):
        first = cleartokens("--verbosity", "2")
        second = cleartokens("--verbosity", "2")
        quiet = cleartokens()

    # The sign-ins created the first key; each rotation retired one.
    assert first == "Deleted 3 ended session(s); pruned 2 expired signing key(s).\n"
    assert second == "Deleted 0 ended session(s); pruned 0 expired signing key(s).\n"
    assert quiet == ""  # silent for cron, like DOT's command


def test_cleartokens_deletes_in_batches(
    cleartokens: Any, user: Any, password: str, settings: Any
) -> None:
    settings.OAUTH2_PROVIDER = {**settings.OAUTH2_PROVIDER, "CLEAR_EXPIRED_TOKENS_BATCH_SIZE": 2}
    for _ in range(5):
        sign_in(user, password)
    TokenSession.objects.update(expires=timezone.now() - timedelta(seconds=1))
    get_refresh_token_model().objects.update(revoked=timezone.now())

    with CaptureQueriesContext(connection) as queries:
        report = cleartokens("--verbosity", "2")

    assert report.startswith("Deleted 5 ended session(s);")
    assert not TokenSession.objects.exists()
    deletes = [
        query["sql"]
        for query in queries.captured_queries
        if query["sql"].startswith("DELETE") and "bearer_auth_tokensession" in query["sql"]
    ]
    assert len(deletes) == 3  # 2 + 2 + 1


def test_bearer_auth_listed_first_serves_its_cleartokens(user: Any, password: str) -> None:
    """The INSTALLED_APPS order of the demo, the tests and the docs (bearer_auth.W004)."""
    assert get_commands()["cleartokens"] == "bearer_auth"
    pair = sign_in(user, password)
    session = session_of(pair["refresh_token"])
    APIClient().post(REVOKE_URL, {"token": pair["refresh_token"]}, format="json")

    call_command("cleartokens", stdout=StringIO(), stderr=StringIO())

    assert not TokenSession.objects.filter(pk=session.pk).exists()


def test_oauth2_provider_listed_first_runs_dots_own_command_untouched(
    settings: Any, user: Any, password: str
) -> None:
    """bearer_auth leaves DOT's command module alone; that order is bearer_auth.W004."""
    apps = [app for app in settings.INSTALLED_APPS if app != "bearer_auth"]
    apps.insert(apps.index("oauth2_provider") + 1, "bearer_auth")
    settings.INSTALLED_APPS = apps
    assert get_commands()["cleartokens"] == "oauth2_provider"
    assert not issubclass(dot_cleartokens.Command, ClearTokens)
    pair = sign_in(user, password)
    session = session_of(pair["refresh_token"])
    APIClient().post(REVOKE_URL, {"token": pair["refresh_token"]}, format="json")

    call_command("cleartokens", stdout=StringIO(), stderr=StringIO())

    assert TokenSession.objects.filter(pk=session.pk).exists()  # DOT's clean-up only
