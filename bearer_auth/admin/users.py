"""The email user's admin, with its sessions and the sign-out actions."""

from __future__ import annotations

from typing import Any

from django.contrib import admin, messages
from django.contrib.admin import helpers
from django.contrib.admin.utils import quote, unquote
from django.contrib.auth.admin import UserAdmin
from django.core.exceptions import PermissionDenied
from django.db import router, transaction
from django.db.models import QuerySet
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseRedirect
from django.template.response import TemplateResponse
from django.urls import URLPattern, path, reverse
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
    change_form_template = "bearer_auth/admin/user_change_form.html"

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
    def sign_out_everywhere(
        self, request: HttpRequest, queryset: QuerySet[Any]
    ) -> TemplateResponse | None:
        """Revoke every token of the selected users, once confirmed."""
        if request.POST.get("post") != "yes":
            return self._confirm_sign_out(
                request,
                list(queryset),
                action_checkbox_name=helpers.ACTION_CHECKBOX_NAME,
                cancel_url=reverse(f"{self.admin_site.name}:{self._url_name('changelist')}"),
            )
        self._sign_out(request, list(queryset))
        return None

    def sign_out_everywhere_view(self, request: HttpRequest, object_id: str) -> HttpResponse:
        """The change page's "Sign out everywhere" button: confirm (GET), then sign out (POST)."""
        user = self.get_object(request, unquote(object_id))
        if user is None:
            raise Http404
        if not self.has_change_permission(request, user):
            raise PermissionDenied
        change_url = reverse(
            f"{self.admin_site.name}:{self._url_name('change')}", args=[quote(user.pk)]
        )
        if request.method == "POST" and request.POST.get("post") == "yes":
            self._sign_out(request, [user])
            return HttpResponseRedirect(change_url)
        return self._confirm_sign_out(request, [user], cancel_url=change_url)

    def _url_name(self, page: str) -> str:
        return f"{self.opts.app_label}_{self.opts.model_name}_{page}"

    def get_urls(self) -> list[URLPattern]:
        return [
            path(
                "<path:object_id>/sign-out-everywhere/",
                self.admin_site.admin_view(self.sign_out_everywhere_view),
                name=self._url_name("sign_out_everywhere"),
            ),
            *super().get_urls(),
        ]

    def _confirm_sign_out(
        self, request: HttpRequest, users: list[Any], **context: Any
    ) -> TemplateResponse:
        return TemplateResponse(
            request,
            "bearer_auth/admin/sign_out_everywhere.html",
            {
                **self.admin_site.each_context(request),
                "title": _("Sign out everywhere?"),
                "opts": self.opts,
                "users": users,
                **context,
            },
        )

    def _sign_out(self, request: HttpRequest, users: list[Any]) -> None:
        """``services.sign_out_everywhere`` for each user, logged, with one message."""
        for user in users:
            services.sign_out_everywhere(user)
            self.log_change(request, user, "Signed out everywhere.")
        count = len(users)
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
