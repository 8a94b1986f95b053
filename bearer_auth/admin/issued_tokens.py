"""Issued tokens and sessions: masked, filtered, revoked by family (sign-in).

Access tokens, refresh tokens, sessions and OpenID Connect ID tokens; an ID
token is revoked with its session, and a session shows its ID token and
whether its tokens are DPoP-bound (RFC 9449: the key's thumbprint).
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from typing import Any, ClassVar

from django.contrib import admin, messages
from django.db.models import Model, Q, QuerySet
from django.http import HttpRequest
from django.urls import reverse
from django.utils import timezone
from django.utils.html import format_html
from django.utils.safestring import SafeString
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext
from oauth2_provider.models import (
    get_refresh_token_model,
    revoke_access_token,
)
from oauth2_provider.settings import oauth2_settings

from bearer_auth import services
from bearer_auth.admin.base import ReadOnlyAdmin
from bearer_auth.models import TokenSession


def mask_checksum(checksum: str | None) -> str:
    """Identify a hashed token in the admin by the end of its digest (never the token)."""
    return f"…{checksum[-6:]}" if checksum else "—"


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
    """Live: not expired (revoked access and ID tokens are deleted)."""

    def live(self) -> Q:
        return Q(expires__gt=timezone.now())


class RefreshTokenStateFilter(TokenStateFilter):
    def live(self) -> Q:
        return Q(revoked__isnull=True)


class SessionStateFilter(TokenStateFilter):
    def live(self) -> Q:
        return Q(revoked__isnull=True, expires__gt=timezone.now())


class DPoPBoundFilter(admin.SimpleListFilter):
    """Sessions whose latest tokens are bound to a DPoP key, or Bearer ones."""

    title = _("DPoP-bound")
    parameter_name = "dpop"

    def lookups(self, request: HttpRequest, model_admin: Any) -> list[tuple[str, str]]:
        return [("yes", str(_("Yes"))), ("no", str(_("No")))]

    def queryset(self, request: HttpRequest, queryset: QuerySet[Any]) -> QuerySet[Any]:
        if self.value() == "yes":
            queryset = queryset.exclude(dpop_jkt="")
        elif self.value() == "no":
            queryset = queryset.filter(dpop_jkt="")
        return queryset


def _filters(state: type[TokenStateFilter]) -> tuple[Any, ...]:
    """Filter issued rows by state, by application, and by the users that have rows."""
    return (state, "application", ("user", admin.RelatedOnlyFieldListFilter))


def _families(queryset: QuerySet[Any]) -> set[Any]:
    """Return the token families of the given refresh tokens or sessions."""
    return set(queryset.exclude(token_family=None).values_list("token_family", flat=True))


def _change_link(obj: Model, label: str) -> SafeString:
    """Link to ``obj``'s admin change page."""
    opts = obj._meta
    url = reverse(f"admin:{opts.app_label}_{opts.model_name}_change", args=[obj.pk])
    return format_html('<a href="{}">{}</a>', url, label)


class IssuedAdmin(ReadOnlyAdmin):
    """Tokens and sessions: issued to a user through an application, revoked a sign-in at once.

    Subclasses set ``list_filter = _filters(<their state filter>)``. A model
    without a ``token_family`` field overrides :meth:`token_families` and
    :meth:`revoke_outside_families`.
    """

    list_select_related: ClassVar[bool | tuple[str, ...]] = ("user", "application")
    actions = ("revoke",)

    @admin.action(description=_("Revoke (with the whole sign-in)"), permissions=["change"])
    def revoke(self, request: HttpRequest, queryset: QuerySet[Any]) -> None:
        families = self.token_families(queryset)
        for family in families:
            services.sign_out_family(family)
        self.revoke_outside_families(queryset)
        self.message_user(
            request,
            ngettext("Revoked %(count)d sign-in.", "Revoked %(count)d sign-ins.", len(families))
            % {"count": len(families)},
            messages.SUCCESS,
        )

    def token_families(self, queryset: QuerySet[Any]) -> set[Any]:
        """Return the token families (sign-ins) the selected rows belong to."""
        return _families(queryset)

    def revoke_outside_families(self, queryset: QuerySet[Any]) -> None:
        """Revoke the selected rows that belong to no family, one by one (DOT's ``revoke()``)."""
        for row in queryset.filter(token_family=None):
            row.revoke()


class TokenAdmin(IssuedAdmin):
    """An access or refresh token: shown by the end of its digest, never by its value."""

    @admin.display(description=_("token"))
    def masked_token(self, obj: Any) -> str:
        return mask_checksum(obj.token_checksum)


class AccessTokenAdmin(TokenAdmin):
    fields = ("masked_token", "user", "application", "scope", "expires", "created", "updated")
    list_display = ("pk", "masked_token", "user", "application", "scope", "expires")
    list_filter = _filters(AccessTokenStateFilter)

    def token_families(self, queryset: QuerySet[Any]) -> set[Any]:
        return _families(get_refresh_token_model().objects.filter(access_token__in=queryset))

    def revoke_outside_families(self, queryset: QuerySet[Any]) -> None:
        for access_token in queryset.all():  # what the families left: client credentials
            revoke_access_token(access_token)


class RefreshTokenAdmin(TokenAdmin):
    fields = ("masked_token", "user", "application", "token_family", "created", "revoked")
    list_display = ("pk", "masked_token", "user", "application", "created", "revoked")
    list_filter = _filters(RefreshTokenStateFilter)


class TokenSessionAdmin(IssuedAdmin):
    """Sign-ins: each with its ID token, and the DPoP key its latest tokens are bound to."""

    fields = (
        "id",
        "user",
        "application",
        "id_token_link",
        "dpop_bound",
        "dpop_jkt",
        "created",
        "last_used",
        "expires",
        "ip_address",
        "user_agent",
        "revoked",
    )
    list_display = (
        "id",
        "user",
        "application",
        "dpop_bound",
        "created",
        "last_used",
        "expires",
        "revoked",
    )
    list_filter = (*_filters(SessionStateFilter), DPoPBoundFilter)

    @admin.action(description=_("Revoke (sign out)"), permissions=["change"])
    def revoke(self, request: HttpRequest, queryset: QuerySet[Any]) -> None:
        super().revoke(request, queryset)

    @admin.display(description=_("DPoP-bound"), boolean=True)
    def dpop_bound(self, obj: TokenSession) -> bool:
        """Whether the sign-in's latest tokens are bound to a DPoP key (``dpop_jkt``)."""
        return bool(obj.dpop_jkt)

    @admin.display(description=_("ID token"))
    def id_token_link(self, obj: TokenSession) -> str | None:
        """The OpenID Connect ID token issued with the sign-in, by its ``jti``; linked while on."""
        id_token = obj.id_token
        if id_token is None:
            return None  # the admin's "-": no openid scope, or pruned once expired
        if not oauth2_settings.OIDC_ENABLED:  # its page answers 403 then
            return str(id_token.jti)
        return _change_link(id_token, str(id_token.jti))


class IDTokenAdmin(IssuedAdmin):
    """OpenID Connect ID tokens, each with its session; a page only while ``OIDC_ENABLED`` is on.

    DOT registers its ID-token model whatever the setting; with OpenID
    Connect off the server issues none, so the page is left out of the index
    and its URLs answer 403 (``ID_TOKEN_ADMIN_CLASS``, DOT's documented
    override point, not an unregistration of DOT's admin).

    Revoking an ID token signs out its session (the whole sign-in, as the
    other revoke actions do), which deletes the ID token's row; a row
    without a session is deleted (DOT's ``IDToken.revoke()``). The signed
    token a client already holds stays verifiable until it expires.
    """

    fields = (
        "jti",
        "session",
        "user",
        "application",
        "scope",
        "expires",
        "created",
        "updated",
    )
    list_display = ("jti", "session", "user", "application", "scope", "expires")
    list_filter = _filters(AccessTokenStateFilter)
    list_select_related = ("user", "application", "bearer_session")

    def get_search_fields(self, request: HttpRequest) -> tuple[str, ...]:
        return ("=jti", *super().get_search_fields(request))

    def has_module_permission(self, request: HttpRequest) -> bool:
        return bool(oauth2_settings.OIDC_ENABLED) and super().has_module_permission(request)

    def has_view_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return bool(oauth2_settings.OIDC_ENABLED) and super().has_view_permission(request, obj)

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return bool(oauth2_settings.OIDC_ENABLED) and super().has_change_permission(request, obj)

    @admin.action(description=_("Revoke with its session (sign out)"), permissions=["change"])
    def revoke(self, request: HttpRequest, queryset: QuerySet[Any]) -> None:
        super().revoke(request, queryset)

    def token_families(self, queryset: QuerySet[Any]) -> set[Any]:
        return _families(TokenSession.objects.filter(id_token__in=queryset))

    def revoke_outside_families(self, queryset: QuerySet[Any]) -> None:
        for id_token in queryset.all():  # what the families left: rows without a session
            id_token.revoke()

    @admin.display(description=_("session"))
    def session(self, obj: Any) -> SafeString | None:
        """The sign-in the ID token was issued with (its ``sid``), linked."""
        try:
            session: TokenSession = obj.bearer_session
        except TokenSession.DoesNotExist:
            return None
        label = str(session.pk)
        if session.revoked is not None:
            label = _("%(session)s (revoked)") % {"session": label}
        return _change_link(session, label)
