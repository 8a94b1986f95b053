"""Registering OAuth clients: what bearer_auth refuses beyond DOT's own validation.

A client-credentials access token names its client in ``sub`` (RFC 9068
§2.2), as a user's token names the user (:func:`bearer_auth.jwt.user_subject`).
A ``client_id`` equal to a user's ``sub`` would make that client's tokens
read as the user's to any resource server that looks at ``sub`` alone (a
stateless one, say), so no application is stored with one:

- the admin form and ``manage.py bearer_application`` report it on the
  ``client_id`` field (:func:`check_client_id`);
- every other save of an application (DOT's ``createapplication``, a
  project's code, ``loaddata``) is refused by :func:`refuse_user_subject_client_id`,
  a ``pre_save`` receiver, with the same ``ValidationError``.

Only users that exist at the time are known: with a user model whose ``sub``
is its integer primary key (Django's ``auth.User``), a numeric ``client_id``
may become a later user's ``sub``; bearer_auth's user model has random UUIDs.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from django.core.exceptions import ValidationError
from django.utils.translation import gettext_lazy as _
from oauth2_provider.generators import generate_client_secret

from bearer_auth.jwt import user_by_subject


def check_client_id(client_id: str) -> None:
    """Raise ``ValidationError`` if ``client_id`` is the ``sub`` of an existing user."""
    if client_id and user_by_subject(client_id) is not None:
        raise ValidationError(
            _(
                "This client_id is a user's subject (sub): the client's tokens "
                "would name that user. Choose another one."
            ),
            code="user_subject",
        )


def refuse_user_subject_client_id(
    sender: type[Any],
    instance: Any,
    raw: bool = False,
    update_fields: Iterable[str] | None = None,
    **kwargs: Any,
) -> None:
    """``pre_save`` of the application model: refuse a ``client_id`` that is a user's ``sub``.

    A save that does not write ``client_id`` (``update_fields`` without it,
    as when a secret is regenerated) costs no query.
    """
    if update_fields is not None and "client_id" not in update_fields:
        return
    try:
        check_client_id(instance.client_id)
    except ValidationError as error:
        raise ValidationError({"client_id": error.error_list}) from None


def give_new_secret(application: Any) -> str:
    """Give ``application`` a generated secret, to be stored as its hash; return it in clear.

    DOT's ``ClientSecretField`` hashes it on save; the caller shows the
    returned value once (the admin's page, ``bearer_application``'s output).
    """
    secret: str = generate_client_secret()
    application.client_secret = secret
    application.hash_client_secret = True
    return secret
