"""Signal receivers: a password change or a deactivation signs the user out everywhere.

Django sends no "password changed" signal, but every path that changes a
password through the model (``set_password()`` then ``save()``: the admin's
password form, ``changepassword``, a project's own view) leaves
``user._password`` set until ``save()`` has sent ``post_save``. A queryset
update that bypasses the model is caught later, at refresh, by the session's
password fingerprint, and at each request by the access token's.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from django.contrib.auth import get_user_model
from django.db.models.signals import post_save

from bearer_auth import services

_WATCHED_FIELDS = frozenset({"password", "is_active"})


def connect_receivers() -> None:
    """Connect the receivers to the active user model (from ``AppConfig.ready()``)."""
    post_save.connect(
        sign_out_on_credential_change,
        sender=get_user_model(),
        dispatch_uid="bearer_auth.sign_out_on_credential_change",
    )


def sign_out_on_credential_change(
    sender: type[Any],
    instance: Any,
    created: bool,
    raw: bool = False,
    update_fields: Iterable[str] | None = None,
    **kwargs: Any,
) -> None:
    """Sign the user out everywhere after a password change or a deactivation."""
    if created or raw:
        return
    if update_fields is not None and not _WATCHED_FIELDS.intersection(update_fields):
        return
    password_changed = getattr(instance, "_password", None) is not None
    deactivated = not getattr(instance, "is_active", True)
    if password_changed or deactivated:
        services.sign_out_everywhere(instance)
