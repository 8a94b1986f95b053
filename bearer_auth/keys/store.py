"""Signing-key rows: the first key, rotation, pruning, and what ``bearer_keys list`` shows.

Keys come from the database (:class:`~bearer_auth.models.SigningKey`, private
halves encrypted at rest) or, when ``BEARER_AUTH["SIGNING_KEYS"]`` is set, from
settings only. Every change to the rows is published through
:func:`bearer_auth.keys.cache.key_set_changed`.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Final

from django.core.exceptions import ImproperlyConfigured
from django.db import IntegrityError, router, transaction
from django.utils import timezone

from bearer_auth.keys.cache import (
    active_signer,
    clear_key_cache,
    current_key_set,
    key_set_changed,
    settings_key_set,
)
from bearer_auth.keys.deadlines import retirement_grace
from bearer_auth.keys.material import (
    SigningMaterial,
    configured_algorithm,
    encrypt_private_key,
    generate_private_key,
    public_jwk,
    uses_settings_keys,
)
from bearer_auth.models import SigningKey

_ROTATION_ATTEMPTS: Final = 3


@dataclass(frozen=True)
class KeyStatus:
    """What ``bearer_keys list`` shows of a key: never any private material."""

    kid: str
    algorithm: str
    state: str  # "active", "retired", "expired" (prunable) or "configured"
    created: datetime | None
    verify_until: datetime | None


def current_signing_key() -> SigningMaterial:
    """Return the active key; create the first one on first use.

    Two processes creating the first key at once end with one active key: the
    partial unique constraint refuses the second insert, which then loads the
    winner's key.
    """
    key_set = current_key_set()
    if key_set.signing is not None:
        return key_set.signing
    if key_set.active_kid is None:
        clear_key_cache()  # another process may have created one already
        key_set = current_key_set()
    if key_set.active_kid is None:
        _create_first_key()
        key_set = current_key_set()
    return active_signer(key_set)


def rotate_signing_key(*, algorithm: str | None = None) -> SigningKey:
    """Make a new active key and retire the active one; return the new key.

    Raises ``ImproperlyConfigured`` when keys come from ``SIGNING_KEYS``.
    """
    _require_database_keys()
    algorithm = algorithm or configured_algorithm()
    created = _new_key_row(algorithm)
    for attempt in range(_ROTATION_ATTEMPTS):
        try:
            with transaction.atomic(using=router.db_for_write(SigningKey)):
                SigningKey.objects.filter(active=True).update(
                    active=None, retired_at=timezone.now()
                )
                created.save(force_insert=True)
            break
        except IntegrityError:
            # A concurrent rotation won the insert; retire its key in turn.
            created.pk = None
            if attempt == _ROTATION_ATTEMPTS - 1:
                raise
    key_set_changed()
    return created


def prune_signing_keys() -> int:
    """Delete retired keys past their verification deadline; return how many."""
    cutoff = timezone.now() - retirement_grace()
    expired = SigningKey.objects.filter(active__isnull=True, retired_at__lt=cutoff)
    deleted: int = expired.delete()[0]
    if deleted:
        key_set_changed()
    return deleted


def describe_signing_keys() -> list[KeyStatus]:
    """Describe every key in use, newest first, for ``bearer_keys list``."""
    if uses_settings_keys():
        key_set = settings_key_set()
        return [
            KeyStatus(
                kid=kid,
                algorithm=key.algorithm,
                state="configured",
                created=None,
                verify_until=None,
            )
            for kid, key in key_set.keys.items()
        ]
    grace = retirement_grace()
    now = timezone.now()
    statuses = []
    for row in SigningKey.objects.order_by("-created", "-pk"):
        until = row.retired_at + grace if row.retired_at is not None else None
        state = "active" if row.active else ("retired" if until and now <= until else "expired")
        statuses.append(
            KeyStatus(
                kid=row.kid,
                algorithm=row.algorithm,
                state=state,
                created=row.created,
                verify_until=until,
            )
        )
    return statuses


def _create_first_key() -> None:
    row = _new_key_row(configured_algorithm())
    try:
        with transaction.atomic(using=router.db_for_write(SigningKey)):
            row.save(force_insert=True)
    except IntegrityError:
        clear_key_cache()  # another process created it first: use theirs
        return
    key_set_changed()


def _new_key_row(algorithm: str) -> SigningKey:
    """Generate a key pair and return an unsaved, active row holding it."""
    private_key = generate_private_key(algorithm)
    jwk = public_jwk(private_key, algorithm)
    return SigningKey(
        kid=jwk["kid"],
        algorithm=algorithm,
        public_jwk=jwk,
        encrypted_private_key=encrypt_private_key(private_key),
        active=True,
    )


def _require_database_keys() -> None:
    if uses_settings_keys():
        raise ImproperlyConfigured(
            "Signing keys come from BEARER_AUTH['SIGNING_KEYS']; rotate them by "
            "editing that setting, not in the database."
        )
