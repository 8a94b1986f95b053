"""Issued access tokens, refresh tokens and sessions: masked, filtered, revoked by family."""

from __future__ import annotations

from abc import ABC, abstractmethod
from typing import Any

from django.contrib import admin, messages
from django.db.models import Q, QuerySet
from django.http import HttpRequest
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext
from oauth2_provider.models import (
    get_refresh_token_model,
    revoke_access_token,
)

from bearer_auth import services
from bearer_auth.admin.base import ReadOnlyAdmin
from bearer_auth.models import TokenSession


def mask_checksum(checksum: str | None) -> str:
    """Identify a hashed token in the admin by the end of its digest (never the token)."""
    return f"…{checksum[-6:]}" if checksum else "—"


def revoke_family(family: Any) -> None:
    """Revoke a whole token family: its session through the sessions API's service."""
    session = TokenSession.objects.filter(token_family=family).select_related("user").first()
    if session is None or not services.sign_out_session(session.user, session.pk):
        # An OAuth family (no first-party session row) or an already closed
        # session: DOT's family revocation.
        get_refresh_token_model().revoke_family(family)


class TokenStateFilter(admin.SimpleListFilter, ABC):
    """Live rows, or revoked/expired ones; subclasses say what "live" means."""

    title = _("state")
    parameter_name = "state"

    def lookups(self, request: HttpRequest, model_admin: Any) -> list[tuple[str, str]]:
        return [("live", str(_("live"))), ("revoked", str(_("revoked or expired")))]

    def queryset(self, request: HttpRequest, queryset: QuerySet[Any]) -> QuerySet[Any]:
        if self.value() == "live":
            queryset = queryset.filter(self.live())
        elif self.value() == "revoked":
            queryset = queryset.exclude(self.live())
        return queryset

    @abstractmethod
    def live(self) -> Q:
        """Return the condition a live token of this model meets."""


class AccessTokenStateFilter(TokenStateFilter):
    def live(self) -> Q:
        return Q(expires__gt=timezone.now())


class RefreshTokenStateFilter(TokenStateFilter):
    def live(self) -> Q:
        return Q(revoked__isnull=True)


class SessionStateFilter(TokenStateFilter):
    def live(self) -> Q:
        return Q(revoked__isnull=True, expires__gt=timezone.now())


class AccessTokenAdmin(ReadOnlyAdmin):
    fields = ("masked_token", "user", "application", "scope", "expires", "created", "updated")
    list_display = ("pk", "masked_token", "user", "application", "scope", "expires")
    list_select_related = ("user", "application")
    list_filter = (
        AccessTokenStateFilter,
        "application",
        ("user", admin.RelatedOnlyFieldListFilter),
    )
    actions = ("revoke",)

    @admin.display(description=_("token"))
    def masked_token(self, obj: Any) -> str:
        return mask_checksum(obj.token_checksum)

    @admin.action(description=_("Revoke (with the whole sign-in)"), permissions=["change"])
    def revoke(self, request: HttpRequest, queryset: QuerySet[Any]) -> None:
        families = get_refresh_token_model().objects.filter(access_token__in=queryset)
        family_ids = set(families.exclude(token_family=None).values_list("token_family", flat=True))
        for family in family_ids:
            revoke_family(family)
        for access_token in queryset.all():  # tokens with no family (client credentials)
            revoke_access_token(access_token)
        _revoked_message(self, request, len(family_ids))


class RefreshTokenAdmin(ReadOnlyAdmin):
    fields = ("masked_token", "user", "application", "token_family", "created", "revoked")
    list_display = ("pk", "masked_token", "user", "application", "created", "revoked")
    list_select_related = ("user", "application")
    list_filter = (
        RefreshTokenStateFilter,
        "application",
        ("user", admin.RelatedOnlyFieldListFilter),
    )
    actions = ("revoke",)

    @admin.display(description=_("token"))
    def masked_token(self, obj: Any) -> str:
        return mask_checksum(obj.token_checksum)

    @admin.action(description=_("Revoke (with the whole sign-in)"), permissions=["change"])
    def revoke(self, request: HttpRequest, queryset: QuerySet[Any]) -> None:
        families = set(queryset.exclude(token_family=None).values_list("token_family", flat=True))
        for family in families:
            revoke_family(family)
        for refresh_token in queryset.filter(token_family=None):
            refresh_token.revoke()
        _revoked_message(self, request, len(families))


class TokenSessionAdmin(ReadOnlyAdmin):
    fields = (
        "id",
        "user",
        "application",
        "created",
        "last_used",
        "expires",
        "ip_address",
        "user_agent",
        "revoked",
    )
    list_display = ("id", "user", "application", "created", "last_used", "expires", "revoked")
    list_select_related = ("user", "application")
    list_filter = (
        SessionStateFilter,
        "application",
        ("user", admin.RelatedOnlyFieldListFilter),
    )
    actions = ("revoke",)

    @admin.action(description=_("Revoke (sign out)"), permissions=["change"])
    def revoke(self, request: HttpRequest, queryset: QuerySet[Any]) -> None:
        families = list(queryset.values_list("token_family", flat=True))
        for family in families:
            revoke_family(family)
        _revoked_message(self, request, len(families))


def _revoked_message(model_admin: admin.ModelAdmin[Any], request: HttpRequest, count: int) -> None:
    model_admin.message_user(
        request,
        ngettext("Revoked %(count)d sign-in.", "Revoked %(count)d sign-ins.", count)
        % {"count": count},
        messages.SUCCESS,
    )
