"""The email user's admin, with its sessions and the sign-out actions."""

from __future__ import annotations

from typing import Any

from django.contrib import admin, messages
from django.contrib.auth.admin import UserAdmin
from django.db import router, transaction
from django.db.models import QuerySet
from django.http import HttpRequest
from django.urls import reverse
from django.utils import timezone
from django.utils.html import format_html, format_html_join
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext

from bearer_auth import services
from bearer_auth.admin.base import ActionPermissionMixin
from bearer_auth.forms import EmailUserChangeForm, EmailUserCreationForm
from bearer_auth.models import TokenSession


class EmailUserAdmin(ActionPermissionMixin, UserAdmin):  # type: ignore[type-arg]
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
        (_("Sessions"), {"fields": ("active_sessions",)}),
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
    readonly_fields = ("public_id", "last_login", "date_joined", "active_sessions")
    list_display = ("email", "full_name", "is_active", "is_staff", "date_joined", "last_login")
    list_filter = ("is_active", "is_staff", "is_superuser", "groups")
    search_fields = ("email", "full_name", "short_name")
    ordering = ("email",)
    actions = ("sign_out_everywhere", "deactivate_and_revoke")

    @admin.display(description=_("active sessions"))
    def active_sessions(self, obj: Any) -> str:
        """The user's live sign-ins, and a link to manage them in the sessions admin."""
        sessions = TokenSession.objects.filter(
            user=obj, revoked__isnull=True, expires__gt=timezone.now()
        ).select_related("application")
        items = format_html_join(
            "",
            "<li>{} · {} {} · {}</li>",
            (
                (session.application, _("last used"), session.last_used, session.ip_address or "—")
                for session in sessions
            ),
        )
        link = (
            reverse("admin:bearer_auth_tokensession_changelist")
            + f"?user__{obj._meta.pk.name}__exact={obj.pk}"
        )
        return format_html(
            '<ul>{}</ul><a href="{}">{}</a>', items or _("None"), link, _("Manage sessions")
        )

    @admin.action(description=_("Sign out everywhere"), permissions=["change"])
    def sign_out_everywhere(self, request: HttpRequest, queryset: QuerySet[Any]) -> None:
        """Revoke every token of the selected users (``services.sign_out_everywhere``)."""
        for user in queryset:
            services.sign_out_everywhere(user)
            self.log_change(request, user, "Signed out everywhere.")
        count = len(queryset)
        self.message_user(
            request,
            ngettext(
                "Signed %(count)d user out everywhere.",
                "Signed %(count)d users out everywhere.",
                count,
            )
            % {"count": count},
            messages.SUCCESS,
        )

    @admin.action(description=_("Deactivate and revoke all tokens"), permissions=["change"])
    def deactivate_and_revoke(self, request: HttpRequest, queryset: QuerySet[Any]) -> None:
        """Deactivate the selected users; saving them revokes every token they hold.

        The sign-out is :mod:`bearer_auth.receivers`' (``services.sign_out_everywhere``
        on saving an inactive user), in the same transaction as the save.
        """
        for user in queryset:
            with transaction.atomic(using=router.db_for_write(type(user))):
                user.is_active = False
                user.save(update_fields=["is_active"])
            self.log_change(request, user, "Deactivated and signed out everywhere.")
        count = len(queryset)
        self.message_user(
            request,
            ngettext(
                "Deactivated %(count)d user and revoked their tokens.",
                "Deactivated %(count)d users and revoked their tokens.",
                count,
            )
            % {"count": count},
            messages.SUCCESS,
        )
