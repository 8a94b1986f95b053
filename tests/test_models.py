"""The email user model: normalization, case-insensitive identity, manager."""

from __future__ import annotations

import uuid
from typing import Any

import pytest
from django.contrib.auth import authenticate, get_user_model
from django.core.exceptions import ValidationError
from django.db import IntegrityError, connection, transaction
from django.test.utils import CaptureQueriesContext
from django.utils.connection import ConnectionDoesNotExist

from bearer_auth.models import User

pytestmark = [pytest.mark.django_db, pytest.mark.custom_user_model]


def test_create_user_normalizes_email_domain_and_whitespace() -> None:
    user = User.objects.create_user("  Alice.Smith@Example.COM ", "pw-123456789")
    assert user.email == "Alice.Smith@example.com"
    assert user.check_password("pw-123456789")
    assert not user.is_staff
    assert not user.is_superuser
    assert user.is_active


def test_create_user_without_password_gets_unusable_password() -> None:
    user = User.objects.create_user("nopass@example.com")
    assert not user.has_usable_password()


@pytest.mark.parametrize("email", ["", None, "   "])
def test_create_user_requires_email(email: str | None) -> None:
    with pytest.raises(ValueError, match="email must be set"):
        User.objects.create_user(email, "pw")


def test_email_is_unique_ignoring_case_at_database_level() -> None:
    User.objects.create_user("bob@example.com", "pw")
    with pytest.raises(IntegrityError), transaction.atomic():
        User.objects.create_user("BOB@example.com", "pw")
    assert User.objects.count() == 1


def test_full_clean_reports_case_insensitive_duplicate() -> None:
    User.objects.create_user("carol@example.com", "pw")
    duplicate = User(email="Carol@EXAMPLE.com")
    duplicate.set_unusable_password()
    with pytest.raises(ValidationError) as excinfo:
        duplicate.full_clean()
    assert "A user with this email address already exists." in str(excinfo.value)


def test_clean_normalizes_like_the_manager() -> None:
    user = User(email="  dave@EXAMPLE.org  ")
    user.clean()
    assert user.email == "dave@example.org"


def test_get_by_natural_key_ignores_case_and_surrounding_space() -> None:
    created = User.objects.create_user("Erin@example.com", "pw")
    assert User.objects.get_by_natural_key("erin@EXAMPLE.COM") == created
    assert User.objects.get_by_natural_key("  ERIN@example.com ") == created


def test_get_by_natural_key_is_one_query_building_a_whole_user() -> None:
    created = User.objects.create_user("gina@example.com", "pw")
    with CaptureQueriesContext(connection) as queries:
        found = User.objects.get_by_natural_key("GINA@example.com")
    assert len(queries) == 1
    assert queries[0]["sql"].upper().count("LOWER(") == 2
    assert found.pk == created.pk
    assert found._state.adding is False
    assert found._state.db == "default"
    assert found.get_deferred_fields() == set()
    assert found.check_password("pw")
    with pytest.raises(User.DoesNotExist, match="User matching query does not exist"):
        User.objects.get_by_natural_key("nobody@example.com")


class ReadsElsewhere:
    """A router sending every read to a database that is not configured."""

    def db_for_read(self, model: type[Any], **hints: Any) -> str:
        return "elsewhere"


def test_get_by_natural_key_on_a_chosen_database_asks_that_database(settings: Any) -> None:
    # db_manager(using=...) is how loaddata resolves natural keys: the
    # database it names, not the router's.
    created = User.objects.create_user("hank@example.com", "pw")
    settings.DATABASE_ROUTERS = [f"{__name__}.ReadsElsewhere"]
    with pytest.raises(ConnectionDoesNotExist):
        User.objects.get_by_natural_key("HANK@example.com")
    found = User.objects.db_manager("default").get_by_natural_key("HANK@example.com")
    with pytest.raises(User.DoesNotExist):
        User.objects.db_manager("default").get_by_natural_key("nobody@example.com")
    assert found == created
    assert found._state.db == "default"


@pytest.mark.parametrize(
    "lookalike",
    [
        "\u0430lice@example.com",  # Cyrillic a
        "\uff41lice@example.com",  # fullwidth a
        "alice@examp\u04cfe.com",  # Cyrillic palochka for l
        "a\u200blice@example.com",  # zero-width space
    ],
)
def test_lookalike_unicode_never_matches_another_users_address(lookalike: str) -> None:
    User.objects.create_user("alice@example.com", "pw")
    with pytest.raises(User.DoesNotExist):
        User.objects.get_by_natural_key(lookalike)
    assert authenticate(email=lookalike, password="pw") is None


def test_lookalike_address_is_a_separate_account() -> None:
    User.objects.create_user("alice@example.com", "pw")
    other = User.objects.create_user("\u0430lice@example.com", "pw2")
    assert other.email == "\u0430lice@example.com"
    assert User.objects.count() == 2


def test_authenticate_by_email_in_any_case() -> None:
    user = User.objects.create_user("frank@example.com", "s3cret-pass")
    assert authenticate(username="FRANK@example.com", password="s3cret-pass") == user
    assert authenticate(email="frank@EXAMPLE.com", password="s3cret-pass") == user
    assert authenticate(email="frank@example.com", password="wrong") is None


def test_create_superuser_sets_flags() -> None:
    admin = User.objects.create_superuser("root@example.com", "pw")
    assert admin.is_staff
    assert admin.is_superuser


@pytest.mark.parametrize(
    ("flag", "message"),
    [("is_staff", "is_staff=True"), ("is_superuser", "is_superuser=True")],
)
def test_create_superuser_refuses_contradicting_flags(flag: str, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        User.objects.create_superuser("root@example.com", "pw", **{flag: False})
    assert not User.objects.exists()


def test_public_id_is_a_stable_unique_uuid() -> None:
    first = User.objects.create_user("g1@example.com", "pw")
    second = User.objects.create_user("g2@example.com", "pw")
    assert isinstance(first.public_id, uuid.UUID)
    assert first.public_id != second.public_id
    first.full_name = "Renamed"
    first.save()
    first.refresh_from_db()
    assert User.objects.get(pk=first.pk).public_id == first.public_id


def test_names_fall_back_to_email() -> None:
    user = User.objects.create_user("hanna@example.com", "pw")
    assert user.get_full_name() == "hanna@example.com"
    assert user.get_short_name() == "hanna"
    user.full_name, user.short_name = "Hanna Berg", "Hanna"
    assert user.get_full_name() == "Hanna Berg"
    assert user.get_short_name() == "Hanna"
    assert str(user) == "hanna@example.com"


def test_user_model_is_the_configured_one() -> None:
    assert get_user_model() is User
    assert User.USERNAME_FIELD == "email"
    assert User.REQUIRED_FIELDS == []
