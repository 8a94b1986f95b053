"""Dynamic client registration (RFC 7591) in the admin: registrations and initial access tokens.

- **Client registrations**: which applications registered themselves, when,
  from which IP, under which policy, with what metadata; actions to approve
  (``REGISTRATION_REQUIRES_APPROVAL``), disable (refused at ``/o/authorize/``
  and ``/o/token/``, live tokens revoked) and enable again. The application
  itself (name, redirect URIs, scopes) is edited on its own page.
- **Initial access tokens**: listed (never shown: only digests are kept) and
  revoked here; issued with ``manage.py bearer_registration_token``.
"""

from __future__ import annotations

from typing import Any

from django.contrib import admin, messages
from django.db.models import QuerySet
from django.http import HttpRequest
from django.urls import reverse
from django.utils import timezone
from django.utils.html import format_html
from django.utils.safestring import SafeString
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext

from bearer_auth.admin.base import ReadOnlyAdmin
from bearer_auth.models import ClientRegistration, InitialAccessToken
from bearer_auth.oauth import client_registration


class RegistrationStateFilter(admin.SimpleListFilter):
    title = _("state")
    parameter_name = "state"

    def lookups(self, request: HttpRequest, model_admin: Any) -> list[tuple[str, Any]]:
        return [
            ("waiting", _("waiting for approval")),
            ("active", _("active")),
            ("disabled", _("disabled")),
        ]

    def queryset(self, request: HttpRequest, queryset: QuerySet[Any]) -> QuerySet[Any]:
        filters = {
            "waiting": {"approved__isnull": True, "disabled__isnull": True},
            "active": {"approved__isnull": False, "disabled__isnull": True},
            "disabled": {"disabled__isnull": False},
        }.get(self.value() or "")
        filtered: QuerySet[Any] = queryset.filter(**filters) if filters else queryset
        return filtered


def registration_state(registration: ClientRegistration) -> str:
    """The registration as :func:`bearer_auth.policy.client_refusal` sees it."""
    if registration.disabled is not None:
        return str(_("disabled"))
    if registration.approved is None:
        return str(_("waiting for approval"))
    return str(_("active"))


class ClientRegistrationAdmin(ReadOnlyAdmin):
    """Registered clients: seen, approved, disabled; deleted with their application."""

    fields = (
        "application_link",
        "client_id",
        "state",
        "registered",
        "ip_address",
        "policy",
        "initial_access_token",
        "metadata",
        "approved",
        "disabled",
    )
    list_display = ("application", "client_id", "state", "registered", "ip_address", "policy")
    list_filter = (RegistrationStateFilter, "policy", "registered")
    list_select_related = ("application",)
    actions = ("approve", "disable", "enable")

    def get_search_fields(self, request: HttpRequest) -> tuple[str, ...]:
        return ("application__name", "application__client_id", "ip_address")

    @admin.display(description=_("client ID"), ordering="application__client_id")
    def client_id(self, obj: ClientRegistration) -> str:
        return str(obj.application.client_id)

    @admin.display(description=_("state"))
    def state(self, obj: ClientRegistration) -> str:
        return registration_state(obj)

    @admin.display(description=_("application"))
    def application_link(self, obj: ClientRegistration) -> SafeString:
        meta = obj.application._meta
        url = reverse(f"admin:{meta.app_label}_{meta.model_name}_change", args=[obj.pk])
        return format_html('<a href="{}">{}</a>', url, obj.application)

    @admin.action(description=_("Approve the selected registrations"), permissions=["change"])
    def approve(self, request: HttpRequest, queryset: QuerySet[ClientRegistration]) -> None:
        count = client_registration.approve(queryset)
        self.message_user(
            request,
            ngettext("%(count)d client approved.", "%(count)d clients approved.", count)
            % {"count": count},
            messages.SUCCESS,
        )

    @admin.action(
        description=_("Disable the selected clients (and revoke their tokens)"),
        permissions=["change"],
    )
    def disable(self, request: HttpRequest, queryset: QuerySet[ClientRegistration]) -> None:
        count = client_registration.disable(queryset)
        self.message_user(
            request,
            ngettext(
                "%(count)d client disabled; its tokens are revoked.",
                "%(count)d clients disabled; their tokens are revoked.",
                count,
            )
            % {"count": count},
            messages.SUCCESS,
        )

    @admin.action(description=_("Enable the selected clients again"), permissions=["change"])
    def enable(self, request: HttpRequest, queryset: QuerySet[ClientRegistration]) -> None:
        count = client_registration.enable(queryset)
        self.message_user(
            request,
            ngettext("%(count)d client enabled.", "%(count)d clients enabled.", count)
            % {"count": count},
            messages.SUCCESS,
        )


class InitialAccessTokenAdmin(ReadOnlyAdmin):
    """Initial access tokens: never shown (digests only), revocable."""

    fields = ("label", "created", "expires", "uses", "max_uses", "revoked", "state")
    list_display = ("__str__", "created", "expires", "uses", "max_uses", "state")
    actions = ("revoke",)

    def get_search_fields(self, request: HttpRequest) -> tuple[str, ...]:
        return ("label",)

    @admin.display(description=_("state"))
    def state(self, obj: InitialAccessToken) -> str:
        if obj.revoked is not None:
            return str(_("revoked"))
        if obj.expires <= timezone.now():
            return str(_("expired"))
        if obj.uses >= obj.max_uses:
            return str(_("used up"))
        return str(_("usable"))

    @admin.action(description=_("Revoke the selected tokens"), permissions=["change"])
    def revoke(self, request: HttpRequest, queryset: QuerySet[InitialAccessToken]) -> None:
        count = queryset.filter(revoked__isnull=True).update(revoked=timezone.now())
        self.message_user(
            request,
            ngettext("%(count)d token revoked.", "%(count)d tokens revoked.", count)
            % {"count": count},
            messages.SUCCESS,
        )
