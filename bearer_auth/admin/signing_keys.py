"""Signing keys: public facts only, and a rotate-now action."""

from __future__ import annotations

from datetime import datetime

from django.contrib import admin, messages
from django.core.exceptions import ImproperlyConfigured
from django.db.models import QuerySet
from django.http import HttpRequest
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from bearer_auth import keys
from bearer_auth.admin.base import ReadOnlyAdmin
from bearer_auth.models import SigningKey


class SigningKeyAdmin(ReadOnlyAdmin):
    """Signing keys: public facts only; the private key is never rendered."""

    fields = ("kid", "algorithm", "state", "created", "retired_at", "retires", "public_jwk")
    list_display = ("kid", "algorithm", "state", "created", "retires")
    actions = ("rotate_now",)

    def get_search_fields(self, request: HttpRequest) -> tuple[str, ...]:
        return ("kid",)

    @admin.display(description=_("state"))
    def state(self, obj: SigningKey) -> str:
        if obj.active:
            return str(_("active"))
        deadline = self.retires(obj)
        if deadline is not None and timezone.now() <= deadline:
            return str(_("retired (still verifies)"))
        return str(_("expired (prunable)"))

    @admin.display(description=_("verifies until"))
    def retires(self, obj: SigningKey) -> datetime | None:
        return keys.verification_deadline(obj.retired_at) if obj.retired_at else None

    @admin.action(description=_("Rotate now (new active key)"), permissions=["change"])
    def rotate_now(self, request: HttpRequest, queryset: QuerySet[SigningKey]) -> None:
        """Make a new active key; the selection does not matter."""
        try:
            key = keys.rotate_signing_key()
        except ImproperlyConfigured as error:
            self.message_user(request, str(error), messages.ERROR)
            return
        self.log_addition(request, key, "Rotated: new active signing key.")
        self.message_user(
            request, _("New active signing key %(kid)s.") % {"kid": key.kid}, messages.SUCCESS
        )
