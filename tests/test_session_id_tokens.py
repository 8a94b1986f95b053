"""Ending a session deletes its OpenID Connect ID token row; the session keeps its id (``sid``)."""

from __future__ import annotations

from typing import Any

import pytest
from django.test import Client
from oauth2_provider.models import get_id_token_model

from bearer_auth import services
from bearer_auth.models import TokenSession
from tests.factories import UserFactory
from tests.first_party import session_of
from tests.oauth_client import signed_in_browser
from tests.oidc_support import make_oidc_application, oidc_tokens

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("oidc")]


def _openid_session(browser: Client, application: Any | None = None) -> TokenSession:
    body = oidc_tokens(browser, application or make_oidc_application())
    session = session_of(body["refresh_token"])
    assert session.id_token is not None
    return session


def _assert_ended_without_id_token(session: TokenSession, id_token_pk: Any) -> None:
    assert not get_id_token_model().objects.filter(pk=id_token_pk).exists()
    session.refresh_from_db()  # still there, under the id the ID token named as its sid
    assert session.revoked is not None
    assert session.id_token is None


def _assert_untouched(session: TokenSession) -> None:
    session.refresh_from_db()
    assert session.revoked is None
    assert session.id_token is not None


def test_signing_out_a_family_deletes_its_id_token(browser: Client) -> None:
    application = make_oidc_application()
    ended = _openid_session(browser, application)
    kept = _openid_session(browser, application)
    id_token_pk = ended.id_token_id

    services.sign_out_family(ended.token_family)

    _assert_ended_without_id_token(ended, id_token_pk)
    _assert_untouched(kept)


def test_signing_out_one_session_deletes_its_id_token(browser: Client, user: Any) -> None:
    session = _openid_session(browser)
    id_token_pk = session.id_token_id

    assert services.sign_out_session(user, session.pk)

    _assert_ended_without_id_token(session, id_token_pk)


def test_signing_out_everywhere_deletes_the_users_id_tokens_only(
    browser: Client, user: Any
) -> None:
    application = make_oidc_application()
    sessions = [_openid_session(browser, application) for _ in range(2)]
    id_token_pks = [session.id_token_id for session in sessions]
    other = _openid_session(signed_in_browser(UserFactory()), application)

    services.sign_out_everywhere(user)

    for session, id_token_pk in zip(sessions, id_token_pks, strict=True):
        _assert_ended_without_id_token(session, id_token_pk)
    _assert_untouched(other)


def test_a_password_change_deletes_the_users_id_tokens(browser: Client, user: Any) -> None:
    session = _openid_session(browser)
    id_token_pk = session.id_token_id

    user.set_password("a brand new passphrase")
    user.save()

    _assert_ended_without_id_token(session, id_token_pk)
