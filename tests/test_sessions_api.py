"""GET /auth/me/, the sessions API, and signing out everywhere on credential changes."""

from __future__ import annotations

import uuid
from unittest import mock

import pytest
from django.contrib.auth import get_user_model
from django.contrib.auth.forms import AdminPasswordChangeForm
from django.contrib.auth.hashers import PBKDF2PasswordHasher, make_password
from django.core.management import call_command
from django.db import IntegrityError, transaction
from oauth2_provider.models import get_access_token_model, get_refresh_token_model
from rest_framework.test import APIClient

from bearer_auth.jwt import user_subject
from bearer_auth.models import TokenSession
from tests.factories import UserFactory
from tests.first_party import (
    ME_URL,
    SESSIONS_URL,
    bearer,
    me_status,
    refresh,
    refresh_row,
    session_of,
    sign_in,
)
from tests.issuing import issue_access_token
from tests.security.probes import BARE_CHALLENGE

pytestmark = pytest.mark.django_db


def session_url(session_id: object) -> str:
    return f"{SESSIONS_URL}{session_id}/"


def all_dead(user) -> bool:
    return (
        not get_refresh_token_model().objects.filter(user=user, revoked__isnull=True).exists()
        and not get_access_token_model().objects.filter(user=user).exists()
        and not TokenSession.objects.filter(user=user, revoked__isnull=True).exists()
    )


def test_me_describes_the_signed_in_user(user, password):
    tokens = sign_in(user, password)
    response = bearer(tokens["access_token"]).get(ME_URL)
    assert response.status_code == 200
    body = response.json()
    assert body["id"] == user_subject(user)
    assert body["username"] == user.get_username()
    assert body["email"] == user.email
    assert set(body) == {"id", "username", "email", "full_name", "short_name", "date_joined"}


def test_me_without_a_token_is_401_with_a_bare_challenge():
    response = APIClient().get(ME_URL)
    assert response.status_code == 401
    assert response["WWW-Authenticate"] == BARE_CHALLENGE


def test_sessions_lists_active_sign_ins_and_marks_the_current_one(user, password):
    phone = APIClient(HTTP_USER_AGENT="phone/1.0", REMOTE_ADDR="203.0.113.7")
    laptop = APIClient(HTTP_USER_AGENT="laptop/1.0", REMOTE_ADDR="198.51.100.9")
    on_phone = sign_in(user, password, client=phone)
    on_laptop = sign_in(user, password, client=laptop)
    gone = sign_in(user, password)
    refresh_row(gone["refresh_token"]).revoke()
    sign_in(UserFactory(password=password), password)  # someone else's

    response = bearer(on_laptop["access_token"]).get(SESSIONS_URL)

    assert response.status_code == 200
    sessions = response.json()
    assert [s["user_agent"] for s in sessions] == ["laptop/1.0", "phone/1.0"]
    assert [s["current"] for s in sessions] == [True, False]
    assert sessions[1]["ip_address"] == "203.0.113.7"
    assert sessions[0]["id"] == str(session_of(on_laptop["refresh_token"]).pk)
    assert sessions[0]["client_name"] == "First-party sign-in"
    assert {"created", "last_used", "expires"} <= set(sessions[0])
    assert session_of(on_phone["refresh_token"]).pk != session_of(on_laptop["refresh_token"]).pk


def test_current_session_follows_rotation(user, password):
    tokens = sign_in(user, password)
    rotated = refresh(tokens["refresh_token"]).json()
    sessions = bearer(rotated["access_token"]).get(SESSIONS_URL).json()
    assert [s["current"] for s in sessions] == [True]


def test_deleting_one_session_signs_out_only_that_one(user, password):
    keep = sign_in(user, password)
    drop = sign_in(user, password)
    drop_id = session_of(drop["refresh_token"]).pk

    response = bearer(keep["access_token"]).delete(session_url(drop_id))

    assert response.status_code == 204
    assert me_status(drop["access_token"]) == 401
    assert refresh(drop["refresh_token"]).status_code == 400
    assert me_status(keep["access_token"]) == 200
    assert refresh(keep["refresh_token"]).status_code == 200
    assert bearer(keep["access_token"]).delete(session_url(drop_id)).status_code in {401, 404}


def test_another_users_session_is_404_and_untouched(user, password):
    mine = sign_in(user, password)
    other_user = UserFactory(password=password)
    theirs = sign_in(other_user, password)

    response = bearer(mine["access_token"]).delete(
        session_url(session_of(theirs["refresh_token"]).pk)
    )

    assert response.status_code == 404
    assert me_status(theirs["access_token"]) == 200
    assert bearer(mine["access_token"]).delete(session_url(uuid.uuid4())).status_code == 404


def test_sign_out_everywhere_stops_every_token_at_once(user, password):
    one = sign_in(user, password)
    two = sign_in(user, password)
    oauth_token = issue_access_token(user)
    bystander = sign_in(UserFactory(password=password), password)

    response = bearer(one["access_token"]).delete(SESSIONS_URL)

    assert response.status_code == 204
    for tokens in (one, two):
        assert me_status(tokens["access_token"]) == 401
        assert refresh(tokens["refresh_token"]).status_code == 400
    assert me_status(oauth_token) == 401
    assert all_dead(user)
    assert me_status(bystander["access_token"]) == 200


def test_sessions_api_needs_a_token():
    assert APIClient().get(SESSIONS_URL).status_code == 401
    assert APIClient().delete(SESSIONS_URL).status_code == 401


def test_set_password_and_save_signs_out_everywhere(user, password):
    tokens = sign_in(user, password)
    user.set_password("a new password 123")
    user.save()
    assert all_dead(user)
    assert me_status(tokens["access_token"]) == 401


def test_admin_password_form_signs_out_everywhere(user, password):
    tokens = sign_in(user, password)
    form = AdminPasswordChangeForm(
        user, {"password1": "Another-pass-4567", "password2": "Another-pass-4567"}
    )
    assert form.is_valid(), form.errors
    form.save()
    assert all_dead(user)
    assert refresh(tokens["refresh_token"]).status_code == 400


def test_changepassword_command_signs_out_everywhere(user, password):
    tokens = sign_in(user, password)
    with mock.patch("getpass.getpass", return_value="Command-pass-8910"):
        call_command("changepassword", user.get_username(), stdout=mock.Mock())
    user.refresh_from_db()
    assert user.check_password("Command-pass-8910")
    assert all_dead(user)
    assert me_status(tokens["access_token"]) == 401


def test_deactivation_signs_out_everywhere(user, password):
    tokens = sign_in(user, password)
    user.is_active = False
    user.save(update_fields=["is_active"])
    assert all_dead(user)
    assert refresh(tokens["refresh_token"]).status_code == 400


def test_unrelated_saves_keep_sessions(user, password):
    tokens = sign_in(user, password)
    user.last_login = None
    user.save()
    get_user_model()._default_manager.get(pk=user.pk).save(update_fields=["last_login"])
    assert me_status(tokens["access_token"]) == 200
    assert refresh(tokens["refresh_token"]).status_code == 200


def test_a_hash_saved_into_password_signs_out_everywhere(user, password):
    """No set_password(): the receiver compares the stored hash with the one written."""
    tokens = sign_in(user, password)
    user.password = make_password("assigned directly 456")
    user.save()
    assert all_dead(user)
    assert me_status(tokens["access_token"]) == 401


def test_a_full_save_of_an_inactive_user_signs_out_everywhere(user, password):
    sign_in(user, password)
    user.is_active = False
    user.save()
    assert all_dead(user)


class _FewIterations(PBKDF2PasswordHasher):
    iterations = 2


def test_a_password_hash_upgrade_at_sign_in_ends_the_other_sign_ins(settings, user, password):
    """A new hash changes the password fingerprint: those sign-ins were dead already."""
    earlier = sign_in(user, password)  # the test settings' MD5 hash
    settings.PASSWORD_HASHERS = [
        f"{__name__}._FewIterations",
        "django.contrib.auth.hashers.MD5PasswordHasher",
    ]
    later = sign_in(user, password)  # Django stores a PBKDF2 hash of the same password
    user.refresh_from_db()
    assert user.password.startswith("pbkdf2_sha256$2$")
    assert session_of(earlier["refresh_token"]).revoked is not None
    assert me_status(earlier["access_token"]) == 401
    assert me_status(later["access_token"]) == 200
    assert refresh(later["refresh_token"]).status_code == 200


def test_a_failed_password_save_leaves_nothing_for_the_next_save(user, password):
    tokens = sign_in(user, password)
    other = UserFactory()
    setattr(user, get_user_model().USERNAME_FIELD, other.get_username())
    user.set_password("never saved 789")
    with pytest.raises(IntegrityError), transaction.atomic():
        user.save()
    user.refresh_from_db()
    user.save()
    assert me_status(tokens["access_token"]) == 200
    assert refresh(tokens["refresh_token"]).status_code == 200


def test_user_saves_read_the_stored_password_only_when_they_write_it(
    django_assert_num_queries, user
):
    """Every sign-in's last_login update stays one query; a full save reads the hash first."""
    with django_assert_num_queries(1):
        user.save(update_fields=["last_login"])
    with django_assert_num_queries(2):  # SELECT password, UPDATE
        user.save()
    with django_assert_num_queries(1):
        get_user_model()._default_manager.create(
            **{get_user_model().USERNAME_FIELD: "new@example.com"}
        )


def test_account_endpoints_query_counts(django_assert_max_num_queries, user, password):
    tokens = sign_in(user, password)
    other = sign_in(user, password)
    other_id = session_of(other["refresh_token"]).pk
    client = bearer(tokens["access_token"])
    with django_assert_max_num_queries(1):
        assert client.get(ME_URL).status_code == 200
    with django_assert_max_num_queries(3):
        assert client.get(SESSIONS_URL).status_code == 200
    with django_assert_max_num_queries(11):
        assert client.delete(session_url(other_id)).status_code == 204
    with django_assert_max_num_queries(9):
        assert client.delete(SESSIONS_URL).status_code == 204
