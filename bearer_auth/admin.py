"""Admin pages: the email user."""

from __future__ import annotations

from django.contrib import admin
from django.contrib.auth.admin import UserAdmin
from django.utils.translation import gettext_lazy as _

from bearer_auth.forms import EmailUserChangeForm, EmailUserCreationForm
from bearer_auth.models import User


class EmailUserAdmin(UserAdmin):  # type: ignore[type-arg]
    """Django's ``UserAdmin`` keyed by email instead of username.

    Register it for your own ``AbstractEmailUser`` subclass with
    ``admin.site.register(MyUser, EmailUserAdmin)``.
    """

    form = EmailUserChangeForm
    add_form = EmailUserCreationForm
    fieldsets = (
        (None, {"fields": ("email", "password", "public_id")}),
        (_("Personal info"), {"fields": ("full_name", "short_name")}),
        (
            _("Permissions"),
            {"fields": ("is_active", "is_staff", "is_superuser", "groups", "user_permissions")},
        ),
        (_("Important dates"), {"fields": ("last_login", "date_joined")}),
    )
    add_fieldsets = (
        (
            None,
            {
                "classes": ("wide",),
                "fields": ("email", "full_name", "usable_password", "password1", "password2"),
            },
        ),
    )
    readonly_fields = ("public_id", "last_login", "date_joined")
    list_display = ("email", "full_name", "is_active", "is_staff", "date_joined", "last_login")
    list_filter = ("is_active", "is_staff", "is_superuser", "groups")
    search_fields = ("email", "full_name", "short_name")
    ordering = ("email",)


if not User._meta.swapped:
    admin.site.register(User, EmailUserAdmin)
