"""The user admin: email-based add/change forms, search, filters, read-only id."""

from __future__ import annotations

from typing import Any

import pytest
from django.test import Client
from django.urls import reverse

from bearer_auth.models import User

pytestmark = [pytest.mark.django_db, pytest.mark.custom_user_model]


def test_changelist_renders_and_searches_by_email_and_name(admin_browser: Client) -> None:
    User.objects.create_user("findme@example.com", "pw", full_name="Ingrid Holm")
    User.objects.create_user("other@example.com", "pw")
    url = reverse("admin:bearer_auth_user_changelist")
    response = admin_browser.get(url, {"q": "FINDME"})
    assert response.status_code == 200
    assert b"findme@example.com" in response.content
    assert b"other@example.com" not in response.content
    response = admin_browser.get(url, {"q": "Holm"})
    assert b"findme@example.com" in response.content


def test_changelist_filters_by_active_and_staff(admin_browser: Client) -> None:
    User.objects.create_user("inactive@example.com", "pw", is_active=False)
    url = reverse("admin:bearer_auth_user_changelist")
    response = admin_browser.get(url, {"is_active__exact": "0"})
    assert b"inactive@example.com" in response.content
    assert response.context["cl"].result_count == 1
    response = admin_browser.get(url, {"is_staff__exact": "1"})
    assert response.context["cl"].result_count == 1


def test_add_page_creates_user_with_normalized_email(admin_browser: Client) -> None:
    url = reverse("admin:bearer_auth_user_add")
    page = admin_browser.get(url)
    assert page.status_code == 200
    assert b'name="email"' in page.content
    assert b'name="username"' not in page.content
    response = admin_browser.post(
        url,
        {
            "email": "  New.Person@EXAMPLE.com ",
            "full_name": "New Person",
            "usable_password": "true",
            "password1": "a-long-unguessable-pw-42",
            "password2": "a-long-unguessable-pw-42",
        },
    )
    assert response.status_code == 302, (
        response.context and response.context["adminform"].form.errors
    )
    created = User.objects.get(full_name="New Person")
    assert created.email == "New.Person@example.com"
    assert created.check_password("a-long-unguessable-pw-42")


def test_add_page_rejects_duplicate_email_in_other_case(admin_browser: Client) -> None:
    User.objects.create_user("dup@example.com", "pw")
    response = admin_browser.post(
        reverse("admin:bearer_auth_user_add"),
        {
            "email": "DUP@example.com",
            "usable_password": "true",
            "password1": "a-long-unguessable-pw-42",
            "password2": "a-long-unguessable-pw-42",
        },
    )
    assert response.status_code == 200
    assert "A user with this email address already exists." in response.content.decode()
    assert User.objects.filter(email__iexact="dup@example.com").count() == 1


def test_change_page_shows_readonly_public_id_and_password_link(admin_browser: Client) -> None:
    user = User.objects.create_user("edit@example.com", "pw")
    url = reverse("admin:bearer_auth_user_change", args=[user.pk])
    response = admin_browser.get(url)
    assert response.status_code == 200
    content = response.content.decode()
    assert str(user.public_id) in content
    assert 'name="public_id"' not in content
    password_url = reverse("admin:auth_user_password_change", args=[user.pk])
    assert password_url.startswith("/admin/bearer_auth/user/")
    assert 'href="../password/"' in content


def test_change_page_saves_edits(admin_browser: Client) -> None:
    user = User.objects.create_user("edit2@example.com", "pw")
    old_public_id = user.public_id
    url = reverse("admin:bearer_auth_user_change", args=[user.pk])
    response = admin_browser.post(
        url,
        {
            "email": "Edit2@Example.COM",
            "full_name": "Edited Name",
            "short_name": "Ed",
            "is_active": "on",
            "date_joined_0": "2026-01-02",
            "date_joined_1": "03:04:05",
            "public_id": "00000000-0000-0000-0000-000000000000",
        },
    )
    assert response.status_code == 302
    user.refresh_from_db()
    assert user.email == "Edit2@example.com"
    assert user.full_name == "Edited Name"
    assert user.public_id == old_public_id


def test_admin_password_change_page_sets_password(admin_browser: Client) -> None:
    user = User.objects.create_user("pwchange@example.com", "old-pw")
    url = reverse("admin:auth_user_password_change", args=[user.pk])
    assert admin_browser.get(url).status_code == 200
    response = admin_browser.post(
        url,
        {
            "usable_password": "true",
            "password1": "brand-new-pw-77x",
            "password2": "brand-new-pw-77x",
        },
    )
    assert response.status_code == 302
    user.refresh_from_db()
    assert user.check_password("brand-new-pw-77x")


def test_admin_sign_in_uses_email(client: Client, admin_user_: Any, password: str) -> None:
    response = client.post(
        reverse("admin:login"),
        {"username": admin_user_.email.upper(), "password": password, "next": "/admin/"},
    )
    assert response.status_code == 302
    assert client.get("/admin/").status_code == 200
