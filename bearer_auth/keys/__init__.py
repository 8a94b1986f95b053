"""Signing keys: create, rotate and prune them; publish the public halves as a JWKS.

Keys come from the database (:class:`~bearer_auth.models.SigningKey`, private
halves encrypted at rest) or, when ``BEARER_AUTH["SIGNING_KEYS"]`` is set, from
settings only. A key lives through three states: *active* (signs), *retired*
(only verifies, until :func:`verification_deadline`), then *prunable*.

- :mod:`~bearer_auth.keys.material`: generating keys, JWKs, thumbprints,
  encryption at rest, keys from settings (no state, no database);
- :mod:`~bearer_auth.keys.store`: the rows: the first key, rotation, pruning;
- :mod:`~bearer_auth.keys.cache`: each process's copy of the key set and the
  key-set version, read from the database, that tells processes to rebuild it;
- :mod:`~bearer_auth.keys.deadlines`: how long a retired key keeps verifying.
"""

from __future__ import annotations

from bearer_auth.keys.cache import (
    KeysNotLoaded,
    VerificationKey,
    clear_key_cache,
    io_forbidden,
    public_jwks,
    verification_key,
    without_io,
)
from bearer_auth.keys.deadlines import verification_deadline
from bearer_auth.keys.material import (
    ALGORITHMS,
    GENERATED_ALGORITHMS,
    SigningMaterial,
    thumbprint,
)
from bearer_auth.keys.store import (
    KeyStatus,
    current_signing_key,
    describe_signing_keys,
    prune_signing_keys,
    rotate_signing_key,
)

__all__ = [
    "ALGORITHMS",
    "GENERATED_ALGORITHMS",
    "KeyStatus",
    "KeysNotLoaded",
    "SigningMaterial",
    "VerificationKey",
    "clear_key_cache",
    "current_signing_key",
    "describe_signing_keys",
    "io_forbidden",
    "prune_signing_keys",
    "public_jwks",
    "rotate_signing_key",
    "thumbprint",
    "verification_deadline",
    "verification_key",
    "without_io",
]
