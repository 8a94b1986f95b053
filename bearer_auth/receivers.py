"""Signal receivers: a password change or a deactivation signs the user out everywhere.

(Also connected here: :func:`bearer_auth.oidc.auth_time.remember_auth_time`,
which notes in the browser session when the user signed in.)

Django sends no "password changed" signal. Before a save that writes the
``password`` column, :func:`note_password_change` reads the stored hash (one
query, by primary key) and compares it with the one about to be written;
after the save, :func:`sign_out_on_credential_change` signs the user out
everywhere if it differed, or if the user was saved inactive. So every path
that changes a password through ``save()`` is covered: ``set_password()``,
the admin's password form, ``changepassword``, a project's own view, even a
hash assigned to ``password`` directly. Saves that write neither column
(``update_fields=["last_login"]`` at every sign-in) cost nothing more.

A queryset update that bypasses ``save()`` is caught later, at refresh, by
the session's password fingerprint, and at each request by the access
token's. Django's automatic hash upgrade at sign-in (a new hasher or
iteration count) stores a new hash: it changes the password fingerprint as
well, so it ends the user's other sign-ins like a password change.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any, Final

from django.contrib.auth import get_user_model, user_logged_in
from django.db.models.signals import post_save, pre_save
from oauth2_provider.models import get_application_model

from bearer_auth import services
from bearer_auth.oauth.registration import refuse_user_subject_client_id
from bearer_auth.oidc.auth_time import remember_auth_time

#: Where :func:`note_password_change` leaves its verdict for the ``post_save``
#: receiver: on the instance being saved, so concurrent saves never mix.
_PASSWORD_CHANGED: Final = "_bearer_auth_password_changed"


def connect_receivers() -> None:
    """Connect the receivers to the active user and application models (``AppConfig.ready()``).

    The application model's ``pre_save`` refuses a ``client_id`` that is a
    user's ``sub`` (:mod:`bearer_auth.oauth.registration`).
    """
    user_model = get_user_model()
    pre_save.connect(
        refuse_user_subject_client_id,
        sender=get_application_model(),
        dispatch_uid="bearer_auth.refuse_user_subject_client_id",
    )
    pre_save.connect(
        note_password_change,
        sender=user_model,
        dispatch_uid="bearer_auth.note_password_change",
    )
    post_save.connect(
        sign_out_on_credential_change,
        sender=user_model,
        dispatch_uid="bearer_auth.sign_out_on_credential_change",
    )
    # OpenID Connect's auth_time and max_age: when this browser signed in.
    user_logged_in.connect(remember_auth_time, dispatch_uid="bearer_auth.remember_auth_time")


def note_password_change(
    sender: type[Any],
    instance: Any,
    raw: bool = False,
    using: str | None = None,
    update_fields: Iterable[str] | None = None,
    **kwargs: Any,
) -> None:
    """Before a save, note on the instance whether it changes the stored password hash."""
    changed = not raw and _changes_password(sender, instance, using, update_fields)
    setattr(instance, _PASSWORD_CHANGED, changed)


def sign_out_on_credential_change(
    sender: type[Any],
    instance: Any,
    created: bool,
    raw: bool = False,
    update_fields: Iterable[str] | None = None,
    **kwargs: Any,
) -> None:
    """Sign the user out everywhere after a password change or a deactivation."""
    password_changed = instance.__dict__.pop(_PASSWORD_CHANGED, False)
    if created or raw:
        return
    if password_changed or _deactivated(instance, update_fields):
        services.sign_out_everywhere(instance)


def _changes_password(
    sender: type[Any], instance: Any, using: str | None, update_fields: Iterable[str] | None
) -> bool:
    if instance.pk is None or not _writes(update_fields, "password"):
        return False
    if _deactivated(instance, update_fields):
        return False  # signed out after the save anyway: no need to look
    stored = (
        sender._default_manager.db_manager(using)
        .filter(pk=instance.pk)
        .values_list("password", flat=True)
        .first()
    )
    return stored is not None and stored != instance.password


def _writes(update_fields: Iterable[str] | None, field: str) -> bool:
    return update_fields is None or field in update_fields


def _deactivated(instance: Any, update_fields: Iterable[str] | None) -> bool:
    return _writes(update_fields, "is_active") and not getattr(instance, "is_active", True)
