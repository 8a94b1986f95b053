"""What every bearer_auth admin shares: permission-checked actions, read-only rows."""

from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.contrib.auth import get_user_model
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse


class ActionPermissionMixin:
    """Answer 403 to a POSTed admin action the user may not run.

    Django's changelist silently ignores an action missing from
    ``get_actions()`` (permission-filtered); bearer_auth's actions revoke
    credentials, so an unpermitted attempt is refused outright.
    """

    def changelist_view(
        self, request: HttpRequest, extra_context: dict[str, Any] | None = None
    ) -> HttpResponse:
        action = request.POST.get("action") if request.method == "POST" else None
        if action and action not in self.get_actions(request):  # type: ignore[attr-defined]
            raise PermissionDenied
        response: HttpResponse = super().changelist_view(  # type: ignore[misc]
            request, extra_context
        )
        return response


def _user_search_fields() -> tuple[str, ...]:
    return (f"user__{get_user_model().USERNAME_FIELD}",)


class ReadOnlyAdmin(ActionPermissionMixin, admin.ModelAdmin):  # type: ignore[type-arg]
    """Rows made by the token machinery: viewed and revoked here, never added or edited."""

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False  # revoke instead: deleting would break reuse detection

    def get_readonly_fields(self, request: HttpRequest, obj: Any = None) -> tuple[str, ...]:
        return tuple(name for name in self.get_fields(request, obj) if isinstance(name, str))

    def get_search_fields(self, request: HttpRequest) -> tuple[str, ...]:
        return ("application__name", "application__client_id", *_user_search_fields())
